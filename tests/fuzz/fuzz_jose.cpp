// libFuzzer target: every entry point of the JOSE core that sees attacker
// bytes (token parsing, signature and claim verification, JWKS documents,
// base64url, strict JSON) on the same input, with invariants checked.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "jwtgate/jose/base64url.h"
#include "jwtgate/jose/json.h"
#include "jwtgate/jose/jwt.h"
#include "jwtgate/jose/key_set.h"
#include "jwtgate/jose/verify.h"

namespace {

namespace jose = jwtgate::jose;

jose::alg_set every_alg() {
  jose::alg_set s;
  for (std::size_t i = 0; i < jose::alg_count; ++i) s.insert(static_cast<jose::alg>(i));
  return s;
}

// The published keys of RFC 7515 A.1-A.4 and RFC 8037 A.2, so that seeds
// holding the RFC tokens reach a successful verification.
constexpr std::string_view rfc_jwks = R"({"keys":[
{"kty":"oct","kid":"hs","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"},
{"kty":"RSA","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ","e":"AQAB"},
{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
{"kty":"EC","crv":"P-521","x":"AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk","y":"ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2"},
{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]})";

const jose::key_set& rfc_keys() {
  static const jose::key_set keys = [] {
    jose::jwks_result r;
    std::string error;
    if (!jose::parse_jwks(rfc_jwks, every_alg(), r, error) || r.keys.empty()) std::abort();
    return jose::key_set(std::move(r.keys));
  }();
  return keys;
}

void check(bool invariant) {
  if (!invariant) __builtin_trap();
}

void fuzz_base64url(std::string_view input) {
  std::string decoded;
  if (!jose::base64url_decode(input, decoded)) return;
  // Canonical: the only accepted spelling is the one the encoder writes.
  check(jose::base64url_encode(decoded) == input);
}

void fuzz_token(std::string_view input) {
  jose::jwt token;
  const jose::status parsed = jose::parse(input, token);
  if (parsed != jose::status::ok) {
    check(parsed == jose::status::malformed || parsed == jose::status::unsupported_token);
    return;
  }
  check(input.size() <= jose::max_token_bytes);
  check(!token.signature.empty());
  check(input.substr(0, token.signing_input.size()) == token.signing_input);

  const jose::status sig = jose::verify_signature(token, rfc_keys(), every_alg());
  check(sig == jose::status::ok || sig == jose::status::bad_signature || sig == jose::status::unknown_kid ||
        sig == jose::status::alg_not_allowed);
  check(jose::verify_signature(token, jose::key_set(), every_alg()) != jose::status::ok);

  jose::claim_rules rules;
  rules.issuer = "joe";
  rules.audiences = {"api"};
  rules.required = {"sub", "a.b"};
  rules.max_lifetime = std::chrono::seconds(3600);
  rules.claims = {{"role", {"admin", "1", "true"}}, {"realm.roles", {"x"}}};
  (void)jose::verify_claims(token, rules, 1'700'000'000);
  (void)jose::verify_claims(token, jose::claim_rules{}, 0);
  for (const auto& member : token.payload) (void)jose::claim_text(member.value());
}

void fuzz_jwks(std::string_view input) {
  jose::jwks_result result;
  std::string error;
  if (!jose::parse_jwks(input, every_alg(), result, error)) {
    check(!error.empty());
    return;
  }
  for (const auto& k : result.keys)
    check((jose::family(k.algorithm) == jose::alg_family::hmac) == (k.public_key == nullptr));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  fuzz_base64url(input);
  fuzz_token(input);
  fuzz_jwks(input);
  boost::json::object object;
  std::string error;
  (void)jose::parse_json_object(input, object, error);
  return 0;
}
