#pragma once
// Where the token is: header (with a case-insensitive scheme prefix), cookie or
// query parameter, tried in the configured order (SPEC section 2, token_from).
// Also the inverse operations used by `forward_token: false`.

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "jwtgate/auth/header_view.h"
#include "jwtgate/config/config.h"

namespace jwtgate::auth {

struct extraction {
  enum class outcome {
    none,       // no configured source carries a token
    found,      // `token` came from `source`
    ambiguous,  // a source carries two different candidates (repeated header,
                // cookie or parameter): the request is refused with 400, because
                // the backend might read the other one
  };
  outcome result = outcome::none;
  std::string token;
  const config::token_source* source = nullptr;
};

// One source. A header whose value does not start with the prefix (another
// scheme, e.g. "Basic") yields nothing. After a prefix ending in a space, any
// number of spaces may follow (RFC 6750 `1*SP`); trailing whitespace is dropped.
// A present but empty credential ("Bearer ", "access_token=") is found as an
// empty token, which then fails as `malformed`: never anonymous.
extraction extract_from(const config::token_source& source, const header_view& headers,
                        std::string_view query);

// Sources in order; the first that yields a token (or is ambiguous) wins.
extraction extract_token(std::span<const config::token_source> sources, const header_view& headers,
                         std::string_view query);

// Same kind and name (header names case-insensitively) and same prefix.
bool same_source(const config::token_source& a, const config::token_source& b) noexcept;

// Decodes every %XX (no '+' to space: tokens never contain '+'); false on an
// invalid escape.
bool percent_decode(std::string_view in, std::string& out);

// The query without the parameters whose (decoded) name is in `names`; other
// parameters are kept byte for byte and in order.
std::string remove_query_params(std::string_view query, std::span<const std::string> names);

// The request's Cookie fields joined with "; ", without the cookies named in
// `names`; nullopt when no Cookie field names any of them (nothing to rewrite).
std::optional<std::string> remove_cookies(const header_view& headers, std::span<const std::string> names);

}  // namespace jwtgate::auth
