#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include "jose/openssl_util.h"
#include "jwtgate/jose/verify.h"

namespace jwtgate::jose {
namespace {

using detail::md_ctx_ptr;

const unsigned char* bytes(std::string_view s) noexcept { return reinterpret_cast<const unsigned char*>(s.data()); }

bool verify_hmac(const key& k, alg a, std::string_view input, std::string_view signature) {
  if (signature.size() != detail::hash_size(a)) return false;
  unsigned char mac[EVP_MAX_MD_SIZE];
  std::size_t mac_len = 0;
  if (k.hmac) {
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_dup(k.hmac.get());
    const bool done = ctx != nullptr && EVP_MAC_update(ctx, bytes(input), input.size()) == 1 &&
                      EVP_MAC_final(ctx, mac, &mac_len, sizeof mac) == 1;
    EVP_MAC_CTX_free(ctx);
    if (!done) return false;
  } else {
    unsigned int len = 0;
    if (k.secret.empty() || HMAC(detail::digest_for(a), k.secret.data(), static_cast<int>(k.secret.size()),
                                 bytes(input), input.size(), mac, &len) == nullptr)
      return false;
    mac_len = len;
  }
  // Constant time: the comparison must not tell an attacker how many bytes matched.
  return mac_len == signature.size() && CRYPTO_memcmp(mac, signature.data(), mac_len) == 0;
}

// EVP_DigestVerify for RSA (both paddings), ECDSA (DER) and Ed25519 (md = nullptr).
bool digest_verify(const key& k, alg a, std::string_view input, const unsigned char* sig, std::size_t sig_len) {
  md_ctx_ptr ctx(EVP_MD_CTX_new());
  if (!ctx) return false;
  if (k.verifier) {
    if (EVP_MD_CTX_copy_ex(ctx.get(), k.verifier.get()) != 1) return false;
  } else if (!detail::init_digest_verify(ctx.get(), k.public_key.get(), a)) {
    return false;
  }
  // This context is used once: the final step may consume it instead of
  // duplicating it first.
  EVP_MD_CTX_set_flags(ctx.get(), EVP_MD_CTX_FLAG_FINALISE);
  return EVP_DigestVerify(ctx.get(), sig, sig_len, bytes(input), input.size()) == 1;
}

bool verify_with(const key& k, alg a, std::string_view input, std::string_view signature) {
  switch (family(a)) {
    case alg_family::hmac:
      return verify_hmac(k, a, input, signature);
    case alg_family::rsa_pkcs1:
    case alg_family::rsa_pss:
      // RFC 8017 (RSASSA-PKCS1-v1_5 and -PSS verification, step 1): a
      // signature is exactly as long as the modulus. OpenSSL accepts a
      // shorter one whose missing leading bytes were zero, so one valid
      // signature in 256 would have a second spelling.
      if (!k.public_key || signature.size() != static_cast<std::size_t>(EVP_PKEY_get_size(k.public_key.get())))
        return false;
      return digest_verify(k, a, input, bytes(signature), signature.size());
    case alg_family::eddsa:
      return k.public_key && digest_verify(k, a, input, bytes(signature), signature.size());
    case alg_family::ecdsa: {
      // JWA fixes the signature to R || S of the curve's size: DER or any other
      // length is refused before it can reach a lenient decoder.
      if (!k.public_key || signature.size() != 2 * detail::ecdsa_component_size(a)) return false;
      unsigned char der[detail::max_ecdsa_der_size];
      const std::size_t der_len = detail::ecdsa_raw_to_der(signature, der);
      return der_len != 0 && digest_verify(k, a, input, der, der_len);
    }
  }
  return false;
}

}  // namespace

status verify_signature(const jwt& token, const key_set& keys, alg_set allowed) {
  if (!token.algorithm || !allowed.contains(*token.algorithm)) return status::alg_not_allowed;
  if (keys.empty()) return status::keys_unavailable;
  const alg a = *token.algorithm;

  // Each entry is pinned to one algorithm: this is what makes algorithm
  // confusion impossible (a public key never meets an HMAC, and so on).
  if (token.kid) {
    // One probe finds the keys of this kid; no key carries it: unknown_kid.
    const auto candidates = keys.with_kid(*token.kid);
    if (candidates.empty()) return status::unknown_kid;
    for (std::uint32_t i : candidates) {
      const key& k = keys.keys()[i];
      if (k.algorithm == a && verify_with(k, a, token.signing_input, token.signature)) return status::ok;
    }
  } else {
    // Without a kid every key of the alg is tried (SPEC 3): a forged token
    // costs one verification per such key; `require_kid` refuses it first.
    for (std::uint32_t i : keys.with_alg(a))
      if (verify_with(keys.keys()[i], a, token.signing_input, token.signature)) return status::ok;
  }
  ERR_clear_error();  // failed verifications leave entries on this thread's queue
  return status::bad_signature;
}

}  // namespace jwtgate::jose
