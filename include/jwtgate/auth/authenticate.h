#pragma once
// Verifies one token for a route: chooses the provider that judges it (SPEC
// section 3), checks the signature with the provider's live key set and the
// provider's claim rules, and uses the per-thread verified-token cache.

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "jwtgate/auth/thread_context.h"
#include "jwtgate/auth/token_cache.h"
#include "jwtgate/config/snapshot.h"
#include "jwtgate/jose/status.h"

namespace jwtgate::auth {

struct authentication {
  jose::status status = jose::status::missing_token;
  const config::provider* provider = nullptr;      // who judged (ok), or whose failure is reported
  std::shared_ptr<const verified_token> verified;  // set when status == ok
};

// Provider choice:
//  - a provider whose `issuer` equals the token's `iss` judges alone;
//  - otherwise the providers without `issuer` are tried in order and the first
//    that accepts wins;
//  - when none accepts, the most specific failure is reported: a failure found
//    after a signature verified (expired, audience_mismatch...) beats one from
//    the signature stage, and among those bad_signature > unknown_kid >
//    keys_unavailable > alg_not_allowed; ties go to the earlier provider;
//  - no candidate at all: issuer_mismatch (or missing_claim when the token has
//    no `iss` and every provider requires one).
// `providers` are the route's providers that accept the source the token came from.
authentication authenticate(const config::snapshot& snap, std::span<const config::provider* const> providers,
                            std::string_view token, thread_context& ctx, std::int64_t now_unix);

// The providers of `candidates` that may judge a token whose `iss` is `iss`
// (nullptr: no string `iss`), per the rule above.
std::vector<const config::provider*> judges_for(std::span<const config::provider* const> candidates,
                                                const std::string* iss);

}  // namespace jwtgate::auth
