#pragma once
// CORS for browser clients (SPEC section 10): origin parsing and matching, the
// preflight check and the response fields. Pure: no config files, no sockets.
// A policy is built once per loaded config; the request path only reads it and
// never allocates.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace jwtgate::routing {

// An origin as RFC 6454 compares it: scheme and host lower-cased, the port
// explicit (0 when the scheme has no default and none was written).
struct origin {
  std::string_view scheme;  // views into the parsed text: compare with iequals
  std::string_view host;    // without brackets for IPv6
  std::uint16_t port = 0;
};

// Parses "scheme://host[:port]" exactly: no path (not even "/"), query,
// fragment, userinfo, spaces or empty host. "null" and "*" are not origins.
// The default port of http (80), https (443), ws and wss is filled in, so
// "https://a.example:443" equals "https://a.example". Empty `why` on success.
bool parse_origin(std::string_view text, origin& out, std::string& why);
inline bool parse_origin(std::string_view text, origin& out) {
  std::string why;
  return parse_origin(text, out, why);
}

// Same scheme, host and port (scheme and host ASCII case-insensitively).
bool same_origin(const origin& a, const origin& b) noexcept;

// "https://app.example.com", "http://127.0.0.1:8080": the serialization a
// browser sends (lower case, default port omitted).
std::string serialize_origin(const origin& o);

struct cors_settings {
  std::vector<std::string> allow_origins;  // canonical origins, or exactly {"*"}
  std::vector<std::string> allow_methods;  // already defaulted
  std::vector<std::string> allow_headers;  // may be {"*"} without credentials
  std::vector<std::string> expose_headers;
  bool allow_credentials = false;
  long long max_age_seconds = -1;  // -1: no Access-Control-Max-Age
};

struct field_line {
  std::string_view name;
  std::string_view value;
};

// At most this many fields go on a response; a fixed array, no allocation.
using cors_fields = std::array<field_line, 6>;

enum class preflight_result { allowed, origin_not_allowed, method_not_allowed, header_not_allowed };

class cors_policy {
 public:
  cors_policy() = default;
  explicit cors_policy(cors_settings s);

  // Is the Origin header value `request_origin` allowed? "null", malformed
  // values and look-alikes never are (exact scheme, host and port).
  bool allows_origin(std::string_view request_origin) const noexcept;

  // The checks of a preflight: the origin, the Access-Control-Request-Method
  // and every name of Access-Control-Request-Headers (comma-separated, any case).
  preflight_result check_preflight(std::string_view request_origin, std::string_view method,
                                   std::string_view request_headers) const noexcept;

  // Fields of a 204 preflight answer for an allowed origin. Returns the count.
  std::size_t preflight_fields(std::string_view request_origin, cors_fields& out) const noexcept;

  // Fields for any other response to an allowed origin. Returns the count.
  std::size_t response_fields(std::string_view request_origin, cors_fields& out) const noexcept;

  const cors_settings& settings() const noexcept { return s_; }

 private:
  cors_settings s_;
  struct owned_origin {
    std::string scheme, host;
    std::uint16_t port = 0;
  };
  std::vector<owned_origin> origins_;
  bool any_origin_ = false;
  bool any_header_ = false;
  std::string methods_joined_, headers_joined_, expose_joined_, max_age_;
};

// Is this response field one the gateway owns on a CORS route
// ("Access-Control-*", any case)? The upstream's are replaced.
bool is_cors_response_field(std::string_view name) noexcept;

// Is this request a CORS preflight: OPTIONS with Origin and
// Access-Control-Request-Method?
bool is_preflight(std::string_view method, bool has_origin, bool has_request_method) noexcept;

}  // namespace jwtgate::routing
