#pragma once
// The one place that turns an auth outcome into an HTTP answer (SPEC section 5):
// status, WWW-Authenticate and a JSON body serialized by Boost.JSON, so no
// untrusted byte is ever concatenated into JSON or a header.

#include <span>
#include <string>
#include <string_view>

#include "jwtgate/auth/decision.h"
#include "jwtgate/jose/status.h"

namespace jwtgate::auth {

// 401 Bearer realm="jwtgate", reason missing_token.
reply missing_token_reply();

// 401 with error="invalid_token" and the reason's fixed description (never any
// part of the token).
reply invalid_token_reply(jose::status reason);

// 403 with error="insufficient_scope" and scope="<the route's scopes>".
reply insufficient_scope_reply(std::span<const std::string> scopes);

// 400 with {"error":"bad_request","error_description":...[,"reason":...]}.
reply bad_request_reply(std::string_view description, std::string_view reason = {});

// 403 {"error":"forbidden",...} (a refused CORS preflight).
reply forbidden_reply(std::string_view description);

// 404 {"error":"not_found",...}.
reply not_found_reply();

// The short error name of a gateway status ("bad_request", "not_found",
// "bad_gateway"...).
std::string_view error_name(unsigned status) noexcept;

// Wraps `s` as an RFC 9110 quoted-string (backslash-escapes '"' and '\').
std::string quoted_string(std::string_view s);

}  // namespace jwtgate::auth
