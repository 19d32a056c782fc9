#pragma once
// Verification of a parsed token: the signature against a key set, then the
// claims against a provider's rules. The clock is a parameter, never read here.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "jwtgate/jose/alg.h"
#include "jwtgate/jose/jwt.h"
#include "jwtgate/jose/key_set.h"
#include "jwtgate/jose/status.h"

namespace jwtgate::jose {

// alg_not_allowed when the token's alg is not in `allowed`; unknown_kid when it
// has a kid no key carries; keys_unavailable when `keys` is empty; bad_signature
// when no key of its alg (and kid) verifies it. Header jku/jwk/x5u/x5c are ignored.
status verify_signature(const jwt& token, const key_set& keys, alg_set allowed);

// Exact-match requirement on a claim found by dotted path. A string claim matches
// a value equal to it; a number or boolean matches its JSON text; an array claim
// matches when any element does.
struct claim_requirement {
  std::string path;
  std::vector<std::string> any_of;
};

struct claim_rules {
  std::vector<std::string> types;        // short, lower-case `typ` forms ("at+jwt"); empty: not checked
  std::optional<std::string> issuer;
  std::vector<std::string> audiences;    // empty: not checked
  std::vector<std::string> required;     // require_claims
  std::chrono::seconds clock_skew{60};
  std::optional<std::chrono::seconds> max_lifetime;
  std::vector<claim_requirement> claims;
};

// RFC 7515 4.1.9: "application/at+JWT" -> "at+jwt" (prefix dropped, lower case).
std::string media_type_short_form(std::string_view typ);

// Header `typ` against `types` (SPEC section 11), then exp/nbf with skew,
// then iss, aud, require_claims, max_lifetime, claims. A claim that is present
// with the wrong JSON type is a mismatch of its check, never missing_claim.
status verify_claims(const jwt& token, const claim_rules& rules, std::int64_t now_unix);

// Does `value` satisfy `req`? (used for provider claims and route claims alike)
bool claim_matches(const boost::json::value& value, const claim_requirement& req);

// "realm_access.roles" -> payload["realm_access"]["roles"]; nullptr when absent.
const boost::json::value* find_claim(const boost::json::object& payload, std::string_view dotted_path) noexcept;

}  // namespace jwtgate::jose
