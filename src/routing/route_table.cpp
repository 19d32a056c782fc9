#include "jwtgate/routing/route_table.h"
#include "jwtgate/util/ascii.h"

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace jwtgate::routing {
namespace {

bool all_digits(std::string_view s) noexcept {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
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

std::optional<std::size_t> route_table::match(std::string_view method, std::string_view path,
                                              std::string_view host) const noexcept {
  for (std::size_t i = 0; i < matchers_.size(); ++i)
    if (matchers_[i].matches(method, path, host)) return i;
  return std::nullopt;
}

}  // namespace jwtgate::routing
