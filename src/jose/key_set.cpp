#include "jwtgate/jose/key_set.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "jose/openssl_util.h"

namespace jwtgate::jose {
namespace {

struct pem_block {
  char* name = nullptr;
  char* header = nullptr;
  unsigned char* data = nullptr;
  long len = 0;
  ~pem_block() {
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
  }
};

EVP_PKEY* key_from_certificate(const unsigned char* der, long len) {
  X509* cert = d2i_X509(nullptr, &der, len);
  if (cert == nullptr) return nullptr;
  EVP_PKEY* key = X509_get_pubkey(cert);  // a new reference
  X509_free(cert);
  return key;
}

// Decodes the first key-bearing PEM block. Private keys are refused on
// purpose: the gateway only verifies, and a private key has no business in
// its configuration.
detail::pkey_ptr decode_public_pem(std::string_view pem, std::string& error) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) {
    error = "out of memory";
    return {};
  }
  detail::pkey_ptr key;
  for (;;) {
    pem_block block;
    if (PEM_read_bio(bio, &block.name, &block.header, &block.data, &block.len) != 1) {
      detail::take_openssl_error();
      error = "no PEM public key or certificate found";
      break;
    }
    const std::string_view label = block.name;
    const unsigned char* der = block.data;
    if (label == "EC PARAMETERS") continue;  // openssl ecparam -genkey writes it before the key
    if (label == "PUBLIC KEY") {
      key = detail::adopt_pkey(d2i_PUBKEY(nullptr, &der, block.len));
    } else if (label == "RSA PUBLIC KEY") {
      key = detail::adopt_pkey(d2i_PublicKey(EVP_PKEY_RSA, nullptr, &der, block.len));
    } else if (label == "CERTIFICATE" || label == "X509 CERTIFICATE") {
      key = detail::adopt_pkey(key_from_certificate(der, block.len));
    } else if (label.find("PRIVATE KEY") != std::string_view::npos) {
      error = "the PEM holds a private key; give the public key instead (openssl pkey -in KEY -pubout)";
      break;
    } else {
      error = "unsupported PEM block \"" + std::string(label) + "\"";
      break;
    }
    if (!key) error = "invalid " + std::string(label) + " PEM: " + detail::take_openssl_error();
    break;
  }
  BIO_free(bio);
  return key;
}

}  // namespace

bool key_set::has_kid(std::string_view kid) const noexcept {
  for (const auto& k : keys_)
    if (k.kid == kid) return true;
  return false;
}

bool make_hmac_key(std::string kid, alg a, std::string secret, key& out, std::string& error) {
  if (family(a) != alg_family::hmac) {
    error = std::string(to_string(a)) + " is not an HMAC algorithm: a shared secret cannot verify it";
    return false;
  }
  const std::size_t min = detail::hmac_min_secret(a);
  if (secret.size() < min) {
    error = "HMAC secret of " + std::to_string(secret.size()) + " bytes is too short for " +
            std::string(to_string(a)) + ": at least " + std::to_string(min) + " bytes are required";
    return false;
  }
  auto keyed = detail::keyed_hmac(a, secret);
  if (!keyed) {
    error = "HMAC key setup failed: " + detail::take_openssl_error();
    return false;
  }
  out = key{std::move(kid), a, std::move(secret), nullptr, std::move(keyed)};
  return true;
}

bool load_public_key_pem(std::string kid, alg a, std::string_view pem, key& out, std::string& error) {
  if (family(a) == alg_family::hmac) {
    error = std::string(to_string(a)) + " is an HMAC algorithm: it takes a shared secret, never a public key";
    return false;
  }
  detail::pkey_ptr pkey = decode_public_pem(pem, error);
  if (!pkey) return false;
  if (!detail::check_key_for_alg(pkey.get(), a, error)) return false;
  auto verifier = detail::verify_template(pkey.get(), a);
  out = key{std::move(kid), a, {}, std::move(pkey), nullptr, std::move(verifier)};
  return true;
}

}  // namespace jwtgate::jose
