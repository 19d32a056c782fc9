#include "jwtgate/routing/route_table.h"
#include "jwtgate/util/ascii.h"

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>

namespace jwtgate::routing {
namespace {

bool all_digits(std::string_view s) noexcept {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// FNV-1a, fed one byte at a time so that the hash of every prefix of a path
// is at hand while the path is read once.
constexpr std::uint64_t fnv_basis = 0xcbf29ce484222325ULL;
constexpr std::uint64_t fnv_step(std::uint64_t h, char c) noexcept {
  return (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
}

// Spreads the bits (FNV's low bits are weak for a power-of-two table) and
// folds in what the key is: an exact path, a prefix, or a host of one group.
// Never 0, which marks an empty slot.
constexpr std::uint64_t finish(std::uint64_t h, std::uint64_t tag) noexcept {
  h ^= (tag + 1) * 0x9e3779b97f4a7c15ULL;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h == 0 ? 1 : h;
}

std::uint64_t host_hash_of(std::string_view host) noexcept {
  std::uint64_t h = fnv_basis;
  for (char c : host) h = fnv_step(h, util::ascii_lower(c));
  return h;
}

enum path_kind : std::uint32_t { exact_path = 0, prefix_path = 1 };

std::size_t table_size(std::size_t entries) {
  std::size_t n = 8;
  while (n < 2 * entries) n *= 2;
  return n;
}

bool method_allowed(const route_matcher& m, std::string_view method) noexcept {
  return m.methods.empty() || std::find(m.methods.begin(), m.methods.end(), method) != m.methods.end();
}

}  // namespace

std::string_view host_without_port(std::string_view host) noexcept {
  if (!host.empty() && host.front() == '[') {
    // IPv6 literal: "[::1]" or "[::1]:8080" -> "::1"
    std::size_t close = host.find(']');
    if (close == std::string_view::npos) return host;  // broken: compared as is, never equal to a name
    std::string_view rest = host.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !all_digits(rest.substr(1)))) return host;
    host = host.substr(1, close - 1);
  } else if (std::size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    // One colon and digits after it: a port. More colons: a bare IPv6 literal.
    if (host.find(':') == colon && all_digits(host.substr(colon + 1))) host = host.substr(0, colon);
  }
  // "example.com." and "example.com" name the same host.
  if (host.size() > 1 && host.back() == '.') host.remove_suffix(1);
  return host;
}

bool host_matches(std::string_view configured, std::string_view request_host) noexcept {
  std::string_view want = host_without_port(configured);
  std::string_view got = host_without_port(request_host);
  return !got.empty() && util::iequals(want, got);
}

bool prefix_matches(std::string_view prefix, std::string_view path) noexcept {
  // A configured "/api/" names the same subtree as "/api": both match "/api",
  // "/api/" and "/api/x". Without that, "/api" would fall through to a later
  // (often less protected) route.
  while (prefix.size() > 1 && prefix.back() == '/') prefix.remove_suffix(1);
  if (prefix == "/" || prefix.empty()) return !path.empty() && path.front() == '/';
  if (!path.starts_with(prefix)) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

bool route_matcher::matches(std::string_view method, std::string_view req_path,
                            std::string_view req_host) const noexcept {
  if (!path.empty()) {
    if (req_path != path) return false;
  } else if (!path_prefix.empty()) {
    if (!prefix_matches(path_prefix, req_path)) return false;
  }
  if (!methods.empty() && std::find(methods.begin(), methods.end(), method) == methods.end()) return false;
  if (!host.empty() && !host_matches(host, req_host)) return false;
  return true;
}

route_table::route_table(std::vector<route_matcher> matchers) : matchers_(std::move(matchers)) {
  // Group every route by its path rule, then by host, keeping file order.
  struct group_build {
    std::vector<std::uint32_t> any_host;
    std::vector<std::pair<std::string, std::vector<std::uint32_t>>> hosts;
    std::unordered_map<std::string, std::size_t> host_index;
  };
  std::vector<group_build> groups;
  std::vector<std::pair<std::uint32_t, std::string>> path_keys;  // (kind, key) per group; empty for root/all
  std::unordered_map<std::string, std::uint32_t> group_of;        // kind byte + key
  auto group_for = [&](std::string map_key, std::uint32_t kind, std::string key) {
    auto [it, fresh] = group_of.emplace(std::move(map_key), static_cast<std::uint32_t>(groups.size()));
    if (fresh) {
      groups.emplace_back();
      path_keys.emplace_back(kind, std::move(key));
    }
    return it->second;
  };

  for (std::size_t i = 0; i < matchers_.size(); ++i) {
    const route_matcher& m = matchers_[i];
    std::uint32_t g;
    if (!m.path.empty()) {
      g = group_for("e" + m.path, exact_path, m.path);
    } else if (!m.path_prefix.empty()) {
      std::string_view prefix = m.path_prefix;  // as prefix_matches reads it
      while (prefix.size() > 1 && prefix.back() == '/') prefix.remove_suffix(1);
      if (prefix == "/") {
        g = root_group_ = group_for("r", prefix_path, {});
      } else {
        g = group_for("p" + std::string(prefix), prefix_path, std::string(prefix));
      }
    } else {
      g = all_group_ = group_for("a", prefix_path, {});
    }
    const auto route = static_cast<std::uint32_t>(i);
    if (m.host.empty()) {
      groups[g].any_host.push_back(route);
      continue;
    }
    std::string host(host_without_port(m.host));
    // An empty configured host never equals a request's (never empty) host.
    if (host.empty()) continue;
    for (char& c : host) c = util::ascii_lower(c);
    auto [it, fresh] = groups[g].host_index.emplace(host, groups[g].hosts.size());
    if (fresh) groups[g].hosts.emplace_back(host, std::vector<std::uint32_t>{});
    groups[g].hosts[it->second].second.push_back(route);
  }

  auto append = [&](const std::vector<std::uint32_t>& routes) {
    range r{static_cast<std::uint32_t>(order_.size()), 0};
    order_.insert(order_.end(), routes.begin(), routes.end());
    r.end = static_cast<std::uint32_t>(order_.size());
    return r;
  };
  auto key_bytes = [&](std::string_view key) {
    auto offset = static_cast<std::uint32_t>(keys_.size());
    keys_ += key;
    return offset;
  };
  auto place = [](std::vector<slot>& slots, const slot& s) {
    std::size_t i = s.hash & (slots.size() - 1);
    while (slots[i].hash != 0) i = (i + 1) & (slots.size() - 1);
    slots[i] = s;
  };

  std::size_t path_count = 0;
  std::size_t host_count = 0;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    if (!path_keys[g].second.empty()) ++path_count;
    host_count += groups[g].hosts.size();
  }
  path_slots_.assign(path_count ? table_size(path_count) : 0, slot{});
  host_slots_.assign(host_count ? table_size(host_count) : 0, slot{});
  has_hosts_ = host_count != 0;
  any_host_.reserve(groups.size());

  for (std::size_t g = 0; g < groups.size(); ++g) {
    const auto group = static_cast<std::uint32_t>(g);
    any_host_.push_back(append(groups[g].any_host));
    if (const auto& [kind, key] = path_keys[g]; !key.empty()) {
      std::uint64_t h = fnv_basis;
      for (char c : key) h = fnv_step(h, c);
      place(path_slots_, slot{finish(h, kind), key_bytes(key), static_cast<std::uint32_t>(key.size()), group, kind});
    }
    for (const auto& [host, routes] : groups[g].hosts) {
      ranges_.push_back(append(routes));
      place(host_slots_, slot{finish(host_hash_of(host), group + 2), key_bytes(host),
                              static_cast<std::uint32_t>(host.size()), group,
                              static_cast<std::uint32_t>(ranges_.size() - 1)});
    }
  }
}

// The first route of `r` (ascending) that allows `method`, if it comes before `best`.
void route_table::scan(range r, std::string_view method, std::uint32_t& best) const noexcept {
  for (std::uint32_t i = r.begin; i < r.end; ++i) {
    const std::uint32_t route = order_[i];
    if (route >= best) return;
    if (method_allowed(matchers_[route], method)) {
      best = route;
      return;
    }
  }
}

void route_table::visit(std::uint32_t group, std::string_view method, std::string_view host,
                        std::uint64_t host_hash, std::uint32_t& best) const noexcept {
  scan(any_host_[group], method, best);
  if (host_slots_.empty() || host.empty()) return;
  const std::uint64_t h = finish(host_hash, group + 2);
  const std::size_t mask = host_slots_.size() - 1;
  for (std::size_t i = h & mask; host_slots_[i].hash != 0; i = (i + 1) & mask) {
    const slot& s = host_slots_[i];
    if (s.hash == h && s.group == group &&
        util::iequals(std::string_view(keys_).substr(s.key_offset, s.key_size), host)) {
      scan(ranges_[s.routes], method, best);
      return;
    }
  }
}

std::optional<std::uint32_t> route_table::find_path(std::uint32_t kind, std::uint64_t h,
                                                    std::string_view key) const noexcept {
  const std::size_t mask = path_slots_.size() - 1;
  for (std::size_t i = h & mask; path_slots_[i].hash != 0; i = (i + 1) & mask) {
    const slot& s = path_slots_[i];
    if (s.hash == h && s.routes == kind && std::string_view(keys_).substr(s.key_offset, s.key_size) == key)
      return s.group;
  }
  return std::nullopt;
}

std::optional<std::size_t> route_table::match(std::string_view method, std::string_view path,
                                              std::string_view host) const noexcept {
  std::uint32_t best = UINT32_MAX;
  const std::string_view req_host = has_hosts_ ? host_without_port(host) : std::string_view{};
  const std::uint64_t host_hash = req_host.empty() ? 0 : host_hash_of(req_host);

  if (all_group_ != UINT32_MAX) visit(all_group_, method, req_host, host_hash, best);
  if (root_group_ != UINT32_MAX && !path.empty() && path.front() == '/')
    visit(root_group_, method, req_host, host_hash, best);
  if (!path_slots_.empty() && !path.empty()) {
    // A prefix P matches when the path starts with P and the next byte is '/'
    // or the end: probe every such P, then the whole path as an exact one.
    std::uint64_t h = fnv_basis;
    for (std::size_t k = 0; k <= path.size(); ++k) {
      if (k > 0 && (k == path.size() || path[k] == '/'))
        if (auto g = find_path(prefix_path, finish(h, prefix_path), path.substr(0, k)))
          visit(*g, method, req_host, host_hash, best);
      if (k < path.size()) h = fnv_step(h, path[k]);
    }
    if (auto g = find_path(exact_path, finish(h, exact_path), path)) visit(*g, method, req_host, host_hash, best);
  }
  if (best == UINT32_MAX) return std::nullopt;
  return best;
}

}  // namespace jwtgate::routing
