#include "jose/openssl_util.h"

#include <array>
#include <cstring>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

namespace jwtgate::jose::detail {
namespace {

// SHA-256, SHA-384, SHA-512, fetched once: an implicit fetch on every
// verification (what EVP_sha256() costs in OpenSSL 3) is measurable.
struct digests {
  std::array<EVP_MD*, 3> md{EVP_MD_fetch(nullptr, "SHA256", nullptr), EVP_MD_fetch(nullptr, "SHA384", nullptr),
                            EVP_MD_fetch(nullptr, "SHA512", nullptr)};
};

// 0, 1, 2 for the 256, 384, 512 variants; -1 for EdDSA.
int hash_index(alg a) noexcept {
  switch (a) {
    case alg::HS256: case alg::RS256: case alg::PS256: case alg::ES256: return 0;
    case alg::HS384: case alg::RS384: case alg::PS384: case alg::ES384: return 1;
    case alg::HS512: case alg::RS512: case alg::PS512: case alg::ES512: return 2;
    case alg::EdDSA: return -1;
  }
  return -1;
}

// "RSA", "EC", "ED448"...; never null, for messages.
std::string key_type_name(EVP_PKEY* key) {
  const char* name = EVP_PKEY_get0_type_name(key);
  return name != nullptr ? name : "unknown";
}

int curve_nid(const char* name) noexcept {
  int nid = OBJ_sn2nid(name);
  if (nid == NID_undef) nid = EC_curve_nist2nid(name);
  return nid;
}

}  // namespace

const EVP_MD* digest_for(alg a) noexcept {
  static const digests cache;
  const int i = hash_index(a);
  return i < 0 ? nullptr : cache.md[static_cast<std::size_t>(i)];
}

std::shared_ptr<evp_mac_ctx_st> keyed_hmac(alg a, std::string_view secret) {
  static EVP_MAC* const hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  static constexpr const char* names[] = {"SHA256", "SHA384", "SHA512"};
  const int i = hash_index(a);
  if (hmac == nullptr || i < 0) return {};
  std::shared_ptr<evp_mac_ctx_st> ctx(EVP_MAC_CTX_new(hmac), EVP_MAC_CTX_free);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(names[i]), 0),
      OSSL_PARAM_construct_end(),
  };
  if (!ctx || EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), params) != 1)
    return {};
  return ctx;
}

bool init_digest_verify(EVP_MD_CTX* ctx, EVP_PKEY* key, alg a) {
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  const EVP_MD* md = digest_for(a);
  if (EVP_DigestVerifyInit(ctx, &pctx, md, nullptr, key) != 1) return false;
  if (family(a) == alg_family::rsa_pss) {
    // RFC 7518 3.5: MGF1 with the same hash, salt as long as the hash output.
    return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) == 1 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
  }
  if (family(a) == alg_family::rsa_pkcs1) return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
  return true;
}

std::shared_ptr<evp_md_ctx_st> verify_template(EVP_PKEY* key, alg a) {
  if (key == nullptr || family(a) == alg_family::eddsa || family(a) == alg_family::hmac) return {};
  std::shared_ptr<evp_md_ctx_st> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || !init_digest_verify(ctx.get(), key, a)) {
    ERR_clear_error();
    return {};
  }
  return ctx;
}

std::size_t hash_size(alg a) noexcept {
  static constexpr std::array<std::size_t, 3> sizes{32, 48, 64};
  const int i = hash_index(a);
  return i < 0 ? 0 : sizes[static_cast<std::size_t>(i)];
}

std::size_t ecdsa_component_size(alg a) noexcept {
  switch (a) {
    case alg::ES256: return 32;
    case alg::ES384: return 48;
    case alg::ES512: return 66;
    default: return 0;
  }
}

const char* ecdsa_curve_name(alg a) noexcept {
  switch (a) {
    case alg::ES256: return "prime256v1";
    case alg::ES384: return "secp384r1";
    case alg::ES512: return "secp521r1";
    default: return "";
  }
}

bool check_key_for_alg(EVP_PKEY* key, alg a, std::string& error) {
  const std::string name(to_string(a));
  switch (family(a)) {
    case alg_family::hmac:
      error = name + " is an HMAC algorithm: it takes a shared secret, never a public key";
      return false;
    case alg_family::rsa_pkcs1:
    case alg_family::rsa_pss: {
      if (!EVP_PKEY_is_a(key, "RSA")) {
        error = name + " needs an RSA key, this is a " + key_type_name(key) + " key";
        return false;
      }
      const int bits = EVP_PKEY_get_bits(key);
      if (bits < 2048) {
        error = "RSA key of " + std::to_string(bits) + " bits refused: at least 2048 bits are required";
        return false;
      }
      return true;
    }
    case alg_family::ecdsa: {
      if (!EVP_PKEY_is_a(key, "EC")) {
        error = name + " needs an EC key, this is a " + key_type_name(key) + " key";
        return false;
      }
      char group[80] = {};
      std::size_t len = 0;
      if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) != 1) {
        take_openssl_error();
        error = "EC key without a named curve refused";
        return false;
      }
      if (curve_nid(group) != curve_nid(ecdsa_curve_name(a))) {
        static constexpr const char* nist[] = {"P-256", "P-384", "P-521"};
        error = "EC key on curve " + std::string(group) + " does not match " + name + ", which requires " +
                nist[hash_index(a)];
        return false;
      }
      return true;
    }
    case alg_family::eddsa:
      if (!EVP_PKEY_is_a(key, "ED25519")) {
        error = "EdDSA needs an Ed25519 key, this is a " + key_type_name(key) + " key";
        return false;
      }
      return true;
  }
  error = "unsupported algorithm";
  return false;
}

std::string take_openssl_error() {
  unsigned long code = 0, last = 0;
  while ((code = ERR_get_error()) != 0) last = code;
  if (last == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(last, buf, sizeof buf);
  return buf;
}

namespace {

// Writes one DER INTEGER holding the unsigned big-endian `bytes`; returns its size.
std::size_t write_der_integer(std::string_view bytes, unsigned char* out) noexcept {
  std::size_t skip = 0;
  while (skip < bytes.size() && bytes[skip] == 0) ++skip;
  bytes.remove_prefix(skip);
  const bool pad = (static_cast<unsigned char>(bytes[0]) & 0x80) != 0;  // keep it positive
  const std::size_t len = bytes.size() + (pad ? 1 : 0);
  std::size_t i = 0;
  out[i++] = 0x02;
  out[i++] = static_cast<unsigned char>(len);
  if (pad) out[i++] = 0x00;
  std::memcpy(out + i, bytes.data(), bytes.size());
  return i + bytes.size();
}

bool all_zero(std::string_view bytes) noexcept {
  for (char c : bytes)
    if (c != 0) return false;
  return true;
}

}  // namespace

std::size_t ecdsa_raw_to_der(std::string_view raw, unsigned char* der) noexcept {
  const std::size_t half = raw.size() / 2;
  if (half == 0 || half > 66 || raw.size() % 2 != 0) return 0;
  const std::string_view r = raw.substr(0, half), s = raw.substr(half);
  // r = 0 or s = 0 never verifies; refusing it here keeps it from reaching OpenSSL.
  if (all_zero(r) || all_zero(s)) return 0;

  unsigned char body[max_ecdsa_der_size];
  std::size_t body_len = write_der_integer(r, body);
  body_len += write_der_integer(s, body + body_len);

  std::size_t i = 0;
  der[i++] = 0x30;
  if (body_len >= 0x80) der[i++] = 0x81;  // P-521 signatures exceed 127 bytes
  der[i++] = static_cast<unsigned char>(body_len);
  std::memcpy(der + i, body, body_len);
  return i + body_len;
}

bool ecdsa_der_to_raw(std::string_view der, std::size_t component_size, std::string& raw) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  if (sig == nullptr) return false;
  raw.assign(2 * component_size, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  const bool ok = BN_bn2binpad(ECDSA_SIG_get0_r(sig), out, static_cast<int>(component_size)) >= 0 &&
                  BN_bn2binpad(ECDSA_SIG_get0_s(sig), out + component_size, static_cast<int>(component_size)) >= 0;
  ECDSA_SIG_free(sig);
  return ok;
}

}  // namespace jwtgate::jose::detail
