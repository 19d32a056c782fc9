#pragma once
// OpenID Connect Back-Channel Logout 1.0: the checks of a logout token (SPEC 8)
// and the revocation entry it asks for. Pure: the clock is a parameter, the
// keys come from the provider's key store.

#include <cstdint>
#include <string>
#include <string_view>

#include "jwtgate/config/snapshot.h"
#include "jwtgate/revocation/entry.h"

namespace jwtgate::auth {

// Logout tokens older than this are refused (OIDC BCL recommends minutes).
inline constexpr std::int64_t logout_token_max_age = 300;

struct logout_request {
  revocation::entry entry;     // sid entry, or sub entry with before = now; iss set
  std::string replay_key;      // iss and jti: a second token with it is a replay
  std::int64_t replay_until = 0;  // after this the token is too old anyway
};

// Verifies `token` for `provider` at `now`. On refusal returns false and sets
// `error` to what is wrong (it becomes the 400's error_description).
bool verify_logout_token(const config::provider& provider, std::string_view token, std::int64_t now,
                         std::int64_t default_ttl, logout_request& out, std::string& error);

// The logout_token field of an application/x-www-form-urlencoded body; false
// when absent, repeated or badly encoded.
bool logout_token_from_form(std::string_view body, std::string& token, std::string& error);

}  // namespace jwtgate::auth
