#include "jwtgate/routing/cors.h"

#include <charconv>

#include "jwtgate/util/ascii.h"

namespace jwtgate::routing {
namespace {

using util::ascii_lower;
using util::iequals;
using util::trim_ows;

bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

std::uint16_t default_port(std::string_view scheme) noexcept {
  if (iequals(scheme, "http") || iequals(scheme, "ws")) return 80;
  if (iequals(scheme, "https") || iequals(scheme, "wss")) return 443;
  return 0;
}

bool valid_reg_name(std::string_view host) noexcept {
  for (char c : host)
    if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '.' && c != '_') return false;
  return host.front() != '.' && host.back() != '.';
}

bool valid_ipv6(std::string_view host) noexcept {
  if (host.size() < 2) return false;
  for (char c : host)
    if (!is_digit(c) && !(ascii_lower(c) >= 'a' && ascii_lower(c) <= 'f') && c != ':' && c != '.') return false;
  return host.find(':') != std::string_view::npos;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

// nullptr on success, else why not; no allocation either way.
const char* parse_origin_impl(std::string_view text, origin& out) noexcept {
  if (text == "null") return "'null' is the opaque origin of sandboxed and local pages; it cannot be allowed";
  std::size_t sep = text.find("://");
  if (sep == std::string_view::npos || sep == 0)
    return "expected scheme://host[:port]";
  std::string_view scheme = text.substr(0, sep);
  if (!is_alpha(scheme.front())) return "the scheme must start with a letter";
  for (char c : scheme)
    if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.')
      return "the scheme has a character outside letters, digits, '+', '-' and '.'";
  std::string_view rest = text.substr(sep + 3);
  if (rest.find_first_of("/?#") != std::string_view::npos)
    return "an origin has no path, query or fragment (not even a trailing '/')";
  if (rest.find('@') != std::string_view::npos) return "an origin has no userinfo";
  std::string_view host, port_text;
  if (!rest.empty() && rest.front() == '[') {
    std::size_t close = rest.find(']');
    if (close == std::string_view::npos) return "unterminated IPv6 literal";
    host = rest.substr(1, close - 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return "unexpected characters after the IPv6 literal";
      port_text = after.substr(1);
      if (port_text.empty()) return "empty port";
    }
    if (!valid_ipv6(host)) return "invalid IPv6 literal";
  } else {
    std::size_t colon = rest.find(':');
    host = rest.substr(0, colon);
    if (colon != std::string_view::npos) {
      port_text = rest.substr(colon + 1);
      if (port_text.empty()) return "empty port";
    }
    if (host.empty()) return "the host is empty";
    if (!valid_reg_name(host)) return "the host has a character outside letters, digits, '-', '.' and '_'";
  }
  std::uint16_t port = default_port(scheme);
  if (!port_text.empty()) {
    unsigned value = 0;
    for (char c : port_text)
      if (!is_digit(c)) return "the port is not a number";
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || p != port_text.data() + port_text.size() || value == 0 || value > 65535)
      return "the port is not between 1 and 65535";
    port = static_cast<std::uint16_t>(value);
  }
  out.scheme = scheme;
  out.host = host;
  out.port = port;
  return nullptr;
}

}  // namespace

bool parse_origin(std::string_view text, origin& out, std::string& why) {
  const char* problem = parse_origin_impl(text, out);
  why = problem ? problem : "";
  return problem == nullptr;
}

bool same_origin(const origin& a, const origin& b) noexcept {
  return a.port == b.port && iequals(a.scheme, b.scheme) && iequals(a.host, b.host);
}

std::string serialize_origin(const origin& o) {
  std::string out;
  for (char c : o.scheme) out.push_back(ascii_lower(c));
  out += "://";
  bool v6 = o.host.find(':') != std::string_view::npos;
  if (v6) out.push_back('[');
  for (char c : o.host) out.push_back(ascii_lower(c));
  if (v6) out.push_back(']');
  if (o.port != 0 && o.port != default_port(o.scheme)) {
    out.push_back(':');
    out += std::to_string(o.port);
  }
  return out;
}

cors_policy::cors_policy(cors_settings s) : s_(std::move(s)) {
  any_origin_ = s_.allow_origins.size() == 1 && s_.allow_origins[0] == "*";
  if (!any_origin_) {
    for (const auto& text : s_.allow_origins) {
      origin o;
      if (parse_origin_impl(text, o) == nullptr)
        origins_.push_back({std::string(o.scheme), std::string(o.host), o.port});
    }
  }
  any_header_ = s_.allow_headers.size() == 1 && s_.allow_headers[0] == "*";
  methods_joined_ = join(s_.allow_methods);
  headers_joined_ = join(s_.allow_headers);
  expose_joined_ = join(s_.expose_headers);
  if (s_.max_age_seconds >= 0) max_age_ = std::to_string(s_.max_age_seconds);
}

bool cors_policy::allows_origin(std::string_view request_origin) const noexcept {
  origin o;
  if (parse_origin_impl(request_origin, o) != nullptr) return false;
  if (any_origin_) return true;
  for (const auto& allowed : origins_)
    if (same_origin({allowed.scheme, allowed.host, allowed.port}, o)) return true;
  return false;
}

preflight_result cors_policy::check_preflight(std::string_view request_origin, std::string_view method,
                                              std::string_view request_headers) const noexcept {
  if (!allows_origin(request_origin)) return preflight_result::origin_not_allowed;
  bool method_ok = false;
  // Methods are case-sensitive (RFC 9110); browsers upper-case the standard ones.
  for (const auto& m : s_.allow_methods) method_ok = method_ok || m == method;
  if (!method_ok) return preflight_result::method_not_allowed;
  if (any_header_) return preflight_result::allowed;
  while (!request_headers.empty()) {
    std::size_t comma = request_headers.find(',');
    std::string_view name = trim_ows(request_headers.substr(0, comma));
    request_headers = comma == std::string_view::npos ? std::string_view() : request_headers.substr(comma + 1);
    if (name.empty()) continue;
    bool ok = false;
    for (const auto& h : s_.allow_headers) ok = ok || iequals(h, name);
    if (!ok) return preflight_result::header_not_allowed;
  }
  return preflight_result::allowed;
}

std::size_t cors_policy::preflight_fields(std::string_view request_origin, cors_fields& out) const noexcept {
  std::size_t n = 0;
  out[n++] = {"Access-Control-Allow-Origin", request_origin};
  out[n++] = {"Access-Control-Allow-Methods", methods_joined_};
  if (!headers_joined_.empty()) out[n++] = {"Access-Control-Allow-Headers", headers_joined_};
  if (!max_age_.empty()) out[n++] = {"Access-Control-Max-Age", max_age_};
  if (s_.allow_credentials) out[n++] = {"Access-Control-Allow-Credentials", "true"};
  out[n++] = {"Vary", "Origin"};
  return n;
}

std::size_t cors_policy::response_fields(std::string_view request_origin, cors_fields& out) const noexcept {
  std::size_t n = 0;
  out[n++] = {"Access-Control-Allow-Origin", request_origin};
  if (s_.allow_credentials) out[n++] = {"Access-Control-Allow-Credentials", "true"};
  if (!expose_joined_.empty()) out[n++] = {"Access-Control-Expose-Headers", expose_joined_};
  out[n++] = {"Vary", "Origin"};
  return n;
}

bool is_cors_response_field(std::string_view name) noexcept {
  constexpr std::string_view prefix = "access-control-";
  return name.size() >= prefix.size() && iequals(name.substr(0, prefix.size()), prefix);
}

bool is_preflight(std::string_view method, bool has_origin, bool has_request_method) noexcept {
  return method == "OPTIONS" && has_origin && has_request_method;
}

}  // namespace jwtgate::routing
