#include "jwtgate/jose/status.h"

namespace jwtgate::jose {

std::string_view to_string(status s) noexcept {
  switch (s) {
    case status::ok: return "ok";
    case status::missing_token: return "missing_token";
    case status::malformed: return "malformed";
    case status::unsupported_token: return "unsupported_token";
    case status::alg_not_allowed: return "alg_not_allowed";
    case status::unknown_kid: return "unknown_kid";
    case status::bad_signature: return "bad_signature";
    case status::keys_unavailable: return "keys_unavailable";
    case status::expired: return "expired";
    case status::not_yet_valid: return "not_yet_valid";
    case status::issuer_mismatch: return "issuer_mismatch";
    case status::audience_mismatch: return "audience_mismatch";
    case status::missing_claim: return "missing_claim";
    case status::claim_mismatch: return "claim_mismatch";
    case status::lifetime_exceeded: return "lifetime_exceeded";
    case status::type_mismatch: return "type_mismatch";
    case status::revoked: return "revoked";
    case status::revocation_unavailable: return "revocation_unavailable";
    case status::insufficient_scope: return "insufficient_scope";
  }
  return "unknown";
}

std::string_view describe(status s) noexcept {
  switch (s) {
    case status::ok: return "the token is valid";
    case status::missing_token: return "no bearer token was found in the request";
    case status::malformed: return "the token is not a well-formed JWS compact serialization";
    case status::unsupported_token: return "encrypted tokens (JWE) are not supported";
    case status::alg_not_allowed: return "the token's signing algorithm is not allowed";
    case status::unknown_kid: return "the token's key id is not known";
    case status::bad_signature: return "the token's signature does not verify";
    case status::keys_unavailable: return "no signing keys are available yet";
    case status::expired: return "the token has expired";
    case status::not_yet_valid: return "the token is not valid yet";
    case status::issuer_mismatch: return "the token's issuer is not accepted";
    case status::audience_mismatch: return "the token's audience is not accepted";
    case status::missing_claim: return "a required claim is missing";
    case status::claim_mismatch: return "a claim does not have an accepted value";
    case status::lifetime_exceeded: return "the token's lifetime exceeds the allowed maximum";
    case status::type_mismatch: return "the token's type (typ) is not accepted";
    case status::revoked: return "the token has been revoked";
    case status::revocation_unavailable: return "the revocation list is unavailable";
    case status::insufficient_scope: return "the token lacks a required scope or claim for this route";
  }
  return "unknown failure";
}

bool from_string(std::string_view name, status& out) noexcept {
  for (std::size_t i = 0; i < status_count; ++i) {
    auto s = static_cast<status>(i);
    if (to_string(s) == name) {
      out = s;
      return true;
    }
  }
  return false;
}

}  // namespace jwtgate::jose
