#pragma once
// Pure helpers for the request and response heads the proxy forwards: comma
// lists, hop-by-hop fields, X-Forwarded-For. No Beast here, so they are unit
// tested without sockets (and reusable by a later HTTP/2 front end).

#include <optional>
#include <string>
#include <string_view>

namespace jwtgate::proxy {

// Case-insensitive ASCII comparison of header names or tokens.
bool iequals(std::string_view a, std::string_view b) noexcept;

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

}  // namespace jwtgate::proxy
