#pragma once
// OpenSSL plumbing shared by the key loaders, the verifier and the signer.
// Internal to the jose module.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include <openssl/evp.h>

#include "jwtgate/jose/alg.h"

namespace jwtgate::jose::detail {

using pkey_ptr = std::shared_ptr<evp_pkey_st>;

// Takes ownership of `key` (nullptr stays empty).
inline pkey_ptr adopt_pkey(EVP_PKEY* key) { return key ? pkey_ptr(key, EVP_PKEY_free) : pkey_ptr(); }

struct md_ctx_deleter {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_deleter>;

struct pkey_ctx_deleter {
  void operator()(EVP_PKEY_CTX* c) const noexcept { EVP_PKEY_CTX_free(c); }
};
using pkey_ctx_ptr = std::unique_ptr<EVP_PKEY_CTX, pkey_ctx_deleter>;

// The hash of an algorithm, fetched once per process (thread-safe, immutable
// afterwards). nullptr for EdDSA, which hashes internally.
const EVP_MD* digest_for(alg a) noexcept;

// A MAC context keyed with `secret` for HS* alg `a`, to be duplicated per use
// (EVP_MAC_CTX_dup); empty on failure.
std::shared_ptr<evp_mac_ctx_st> keyed_hmac(alg a, std::string_view secret);

// A digest-verify context for `a` with `key` and its padding already set up
// (RSA and ECDSA; nullptr for Ed25519, whose one-shot verify keeps no
// digest state). Never modified after construction: threads copy it.
std::shared_ptr<evp_md_ctx_st> verify_template(EVP_PKEY* key, alg a);

// Prepares `ctx` (fresh) for a digest verification with `key` under `a`.
bool init_digest_verify(EVP_MD_CTX* ctx, EVP_PKEY* key, alg a);

// Hash output size: 32, 48 or 64 bytes (0 for EdDSA).
std::size_t hash_size(alg a) noexcept;

// Minimum HMAC secret length: the hash output size (RFC 7518 3.2).
inline std::size_t hmac_min_secret(alg a) noexcept { return hash_size(a); }

// Size of one of R and S in a JWA ECDSA signature: 32, 48 or 66 bytes.
std::size_t ecdsa_component_size(alg a) noexcept;

// OpenSSL short name of the curve an ES alg requires ("prime256v1"...).
const char* ecdsa_curve_name(alg a) noexcept;

// Is `key` usable for `a`? RSA >= 2048 bits for RS*/PS*, the alg's curve for
// ES*, Ed25519 for EdDSA; HS* never takes an asymmetric key.
bool check_key_for_alg(EVP_PKEY* key, alg a, std::string& error);

// The newest OpenSSL error queue entry as text, and the queue cleared.
std::string take_openssl_error();

// JWA raw R||S (two big-endian halves of equal size) -> DER ECDSA-Sig-Value.
// Returns the DER length, or 0 when either half is zero. `der` must hold
// max_ecdsa_der_size bytes.
inline constexpr std::size_t max_ecdsa_der_size = 2 * (66 + 1 + 2) + 3;
std::size_t ecdsa_raw_to_der(std::string_view raw, unsigned char* der) noexcept;

// DER ECDSA-Sig-Value -> JWA raw R||S with halves of `component_size` bytes.
bool ecdsa_der_to_raw(std::string_view der, std::size_t component_size, std::string& raw);

}  // namespace jwtgate::jose::detail
