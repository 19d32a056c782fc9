#include "jwtgate/jose/keygen.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "jose/openssl_util.h"
#include "jwtgate/jose/base64url.h"

namespace jwtgate::jose {
namespace {

namespace json = boost::json;

std::string bn_param(EVP_PKEY* key, const char* name, std::size_t pad_to) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) return {};
  const std::size_t size = pad_to != 0 ? pad_to : static_cast<std::size_t>(BN_num_bytes(bn));
  std::string out(size, '\0');
  if (BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(size)) < 0) out.clear();
  BN_free(bn);
  return out;
}

bool private_pem(EVP_PKEY* key, std::string& pem) {
  BIO* bio = BIO_new(BIO_s_mem());
  const bool ok = bio != nullptr && PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  if (ok) {
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    pem.assign(data, static_cast<std::size_t>(len));
  }
  BIO_free(bio);
  return ok;
}

bool write_whole_file(const std::string& path, std::string_view data, mode_t mode, bool exclusive,
                      std::string& error) {
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC);
  const int fd = ::open(path.c_str(), flags, mode);
  if (fd < 0) {
    error = path + ": " + std::strerror(errno) + (errno == EEXIST ? " (refusing to overwrite a key)" : "");
    return false;
  }
  bool ok = ::fchmod(fd, mode) == 0;  // the umask or an existing file must not loosen it
  for (std::size_t done = 0; ok && done < data.size();) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<std::size_t>(n);
  }
  if (!ok) error = path + ": " + std::strerror(errno);
  if (::close(fd) != 0 && ok) {
    error = path + ": " + std::strerror(errno);
    ok = false;
  }
  return ok;
}

}  // namespace

bool public_jwk(const signing_key& k, std::string_view kid, std::string& jwk_json, std::string& error) {
  json::object jwk;
  EVP_PKEY* key = k.private_key.get();
  switch (family(k.algorithm)) {
    case alg_family::hmac:
      jwk["kty"] = "oct";
      jwk["k"] = base64url_encode(k.secret);
      break;
    case alg_family::rsa_pkcs1:
    case alg_family::rsa_pss:
      jwk["kty"] = "RSA";
      jwk["n"] = base64url_encode(bn_param(key, OSSL_PKEY_PARAM_RSA_N, 0));
      jwk["e"] = base64url_encode(bn_param(key, OSSL_PKEY_PARAM_RSA_E, 0));
      break;
    case alg_family::ecdsa: {
      static constexpr const char* crv[] = {"P-256", "P-384", "P-521"};
      const std::size_t size = detail::ecdsa_component_size(k.algorithm);
      jwk["kty"] = "EC";
      jwk["crv"] = crv[detail::hash_size(k.algorithm) / 16 - 2];
      jwk["x"] = base64url_encode(bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, size));
      jwk["y"] = base64url_encode(bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, size));
      break;
    }
    case alg_family::eddsa: {
      unsigned char raw[32];
      std::size_t len = sizeof raw;
      if (key == nullptr || EVP_PKEY_get_raw_public_key(key, raw, &len) != 1) {
        error = "cannot read the Ed25519 public key: " + detail::take_openssl_error();
        return false;
      }
      jwk["kty"] = "OKP";
      jwk["crv"] = "Ed25519";
      jwk["x"] = base64url_encode(std::string_view(reinterpret_cast<const char*>(raw), len));
      break;
    }
  }
  for (const char* member : {"n", "e", "x", "y"})
    if (const auto* v = jwk.if_contains(member); v != nullptr && v->get_string().empty()) {
      error = "cannot read the public key: " + detail::take_openssl_error();
      return false;
    }
  if (!kid.empty()) jwk["kid"] = kid;
  jwk["alg"] = to_string(k.algorithm);
  jwk["use"] = "sig";
  jwk_json = json::serialize(jwk);
  return true;
}

bool generate_key(alg a, std::string_view kid, generated_key& out, std::string& error) {
  out = generated_key{};
  out.signing.algorithm = a;
  EVP_PKEY* key = nullptr;
  switch (family(a)) {
    case alg_family::hmac: {
      unsigned char random[64];
      const std::size_t n = detail::hash_size(a);
      if (RAND_bytes(random, static_cast<int>(n)) != 1) {
        error = "no random bytes: " + detail::take_openssl_error();
        return false;
      }
      out.signing.secret = base64url_encode(std::string_view(reinterpret_cast<const char*>(random), n));
      out.private_text = out.signing.secret;
      break;
    }
    case alg_family::rsa_pkcs1:
    case alg_family::rsa_pss: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048}); break;
    case alg_family::ecdsa: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", detail::ecdsa_curve_name(a)); break;
    case alg_family::eddsa: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"); break;
  }
  if (family(a) != alg_family::hmac) {
    if (key == nullptr) {
      error = "key generation failed: " + detail::take_openssl_error();
      return false;
    }
    out.signing.private_key = detail::adopt_pkey(key);
    if (!private_pem(key, out.private_text)) {
      error = "cannot encode the private key: " + detail::take_openssl_error();
      return false;
    }
  }
  std::string jwk;
  if (!public_jwk(out.signing, kid, jwk, error)) return false;
  out.jwks = "{\"keys\":[" + jwk + "]}";
  return true;
}

bool write_key_files(const generated_key& key, const std::string& dir, std::vector<std::string>& written,
                     std::string& error) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    error = dir + ": " + ec.message();
    return false;
  }
  const bool hmac = family(key.signing.algorithm) == alg_family::hmac;
  const std::string private_path = (std::filesystem::path(dir) / (hmac ? "secret" : "private.pem")).string();
  const std::string jwks_path = (std::filesystem::path(dir) / "jwks.json").string();
  if (!write_whole_file(private_path, key.private_text, 0600, true, error)) return false;
  written.push_back(private_path);
  if (!write_whole_file(jwks_path, key.jwks + "\n", hmac ? 0600 : 0644, false, error)) return false;
  written.push_back(jwks_path);
  return true;
}

}  // namespace jwtgate::jose
