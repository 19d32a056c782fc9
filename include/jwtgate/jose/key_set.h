#pragma once
// Verification keys. Every `key` is pinned to exactly one algorithm: a JWK without
// `alg` whose type allows several of the provider's algorithms becomes one entry
// per algorithm, all sharing the same EVP_PKEY. A key set is immutable once built
// and shared between threads as std::shared_ptr<const key_set>.

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "jwtgate/jose/alg.h"

struct evp_pkey_st;     // OpenSSL's EVP_PKEY, kept out of this header
struct evp_mac_ctx_st;  // OpenSSL's EVP_MAC_CTX
struct evp_md_ctx_st;   // OpenSSL's EVP_MD_CTX

namespace jwtgate::jose {

struct key {
  std::string kid;                          // empty: the key has no kid
  alg algorithm = alg::HS256;               // the one algorithm this entry verifies
  std::string secret;                       // HMAC keys only
  std::shared_ptr<evp_pkey_st> public_key;  // RSA, EC and Ed25519 keys only
  // HMAC keys made by make_hmac_key: the secret keyed into an OpenSSL MAC
  // context once; each verification duplicates it instead of redoing the
  // algorithm lookup and key setup (about half the cost of an HS256 check).
  // Never modified after construction, so threads may share it. When empty,
  // verification falls back to a one-shot HMAC over `secret`.
  std::shared_ptr<evp_mac_ctx_st> hmac{};
  // RSA and ECDSA keys: a verify context set up once (algorithm fetch, key
  // and padding), copied per verification in the same way. When empty,
  // verification sets one up each time.
  std::shared_ptr<evp_md_ctx_st> verifier{};
};

// Indexed when built: the keys of one kid are found by one hash probe and
// the keys of one algorithm are listed apart, so picking keys for a token
// costs the same with 1 key as with 1,000 (a token without kid still meets
// every key of its algorithm: SPEC section 3).
class key_set {
 public:
  key_set() = default;
  explicit key_set(std::vector<key> keys);

  std::span<const key> keys() const noexcept { return keys_; }
  bool empty() const noexcept { return keys_.empty(); }
  bool has_kid(std::string_view kid) const noexcept { return !with_kid(kid).empty(); }

  // Indexes into keys(), ascending: the entries whose kid equals `kid`
  // (any algorithm), and the entries pinned to `a` (any kid).
  std::span<const std::uint32_t> with_kid(std::string_view kid) const noexcept;
  std::span<const std::uint32_t> with_alg(alg a) const noexcept;

 private:
  struct range {
    std::uint32_t begin = 0;
    std::uint32_t end = 0;
  };
  std::vector<key> keys_;
  std::vector<std::uint32_t> order_;  // by_kid_ ranges, then by_alg_ ranges
  // Open addressing over kid groups: a slot holds group + 1 (0: empty); the
  // group's first entry carries the kid that is compared.
  std::vector<std::uint32_t> kid_slots_;
  std::vector<range> by_kid_;
  std::array<range, alg_count> by_alg_{};
};

// Each loader returns false and sets `error` to one clear sentence on refusal.

// HMAC: refuses a non-HS alg and a secret shorter than the hash output
// (32/48/64 bytes for HS256/384/512).
bool make_hmac_key(std::string kid, alg a, std::string secret, key& out, std::string& error);

// A PEM public key ("PUBLIC KEY", "RSA PUBLIC KEY") or X.509 certificate (the
// first one of a chain). Refuses HS algs, RSA under 2048 bits, an EC curve that
// does not match the alg (P-256/ES256, P-384/ES384, P-521/ES512), non-Ed25519
// keys for EdDSA, and private key PEMs: the gateway only verifies, so a private
// key in its configuration is a mistake worth stopping (the message says how to
// extract the public key).
bool load_public_key_pem(std::string kid, alg a, std::string_view pem, key& out, std::string& error);

// A JWKS document ({"keys": [...]}) or a single JWK object. Keys become entries
// for each algorithm of `allowed` that they may verify (their own `alg` only, when
// they carry one). Keys that cannot be used (unknown kty/crv/alg, `use: enc`,
// weak RSA, short oct, private-only fields missing...) are skipped with a warning.
// Returns false only when the document itself does not parse.
struct jwks_result {
  std::vector<key> keys;
  std::vector<std::string> warnings;
};
bool parse_jwks(std::string_view json, alg_set allowed, jwks_result& out, std::string& error);

}  // namespace jwtgate::jose
