#pragma once
// Pure helpers for the request and response heads the proxy forwards: comma
// lists, hop-by-hop fields, X-Forwarded-For. No Beast here, so they are unit
// tested without sockets (and reusable by a later HTTP/2 front end).

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "jwtgate/util/ascii.h"

namespace jwtgate::proxy {

// Case-insensitive ASCII comparison of header names or tokens.
using util::iequals;

// Does the comma-separated list (e.g. a Connection value) hold `token`?
// Whitespace around elements is ignored; comparison is case-insensitive.
bool list_has_token(std::string_view list, std::string_view token) noexcept;

// Hop-by-hop fields of RFC 9110 section 7.6.1 plus the historical ones that
// proxies must not forward (Keep-Alive, Proxy-Connection, TE, Trailer,
// Transfer-Encoding, Upgrade, Proxy-Authenticate, Proxy-Authorization).
bool is_hop_by_hop(std::string_view name) noexcept;

// Must a response field be dropped before relaying it to the client? True for
// hop-by-hop fields and for fields named by the response's Connection values.
bool must_strip_response_field(std::string_view name, std::string_view connection) noexcept;

// X-Forwarded-For to send upstream: the existing value (if any) with the
// client's address appended, ", "-separated.
std::string append_forwarded_for(std::optional<std::string_view> existing, std::string_view client_ip);

// May this be written into a header field value? False for CR, LF and NUL (and
// other controls except tab), which would split or truncate the head.
bool is_safe_field_value(std::string_view v) noexcept;

// May this be written as the request-target upstream? Non-empty, no whitespace
// or control characters.
bool is_safe_target(std::string_view t) noexcept;

// The authority of an absolute-form target ("http://h:1/x" -> "h:1"), or empty.
std::string_view absolute_form_authority(std::string_view target) noexcept;

// How a request-target names its host (RFC 9112 section 3.2).
enum class target_host {
  origin,    // no scheme: the Host header names the host
  absolute,  // "http(s)://authority...": the authority names the host, Host is ignored
  invalid,   // a scheme other than http/https, an empty authority, userinfo, or
             // characters no authority holds: the request gets 400
};

// Classifies `target`; for `absolute` sets `authority` (a view into `target`).
// A target that starts with a scheme ("x:") is judged here, anything else is
// left to path normalization.
target_host classify_target_host(std::string_view target, std::string_view& authority) noexcept;

// The Host value naming an upstream: "host", "host:port" when the port is not
// the scheme's default, IPv6 literals in brackets.
std::string upstream_host_value(std::string_view host, std::uint16_t port, bool https);

// Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 section 4.2.2):
// base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")), 28 characters.
// A fixed-size result: checking a handshake allocates nothing.
std::array<char, 28> websocket_accept(std::string_view key) noexcept;

}  // namespace jwtgate::proxy
