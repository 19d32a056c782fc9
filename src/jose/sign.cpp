#include "jwtgate/jose/sign.h"

#include <fstream>
#include <iterator>

#include <boost/json/serialize.hpp>
#include <openssl/bio.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "jose/openssl_util.h"
#include "jwtgate/jose/base64url.h"

namespace jwtgate::jose {
namespace {

const unsigned char* bytes(std::string_view s) noexcept { return reinterpret_cast<const unsigned char*>(s.data()); }

// Encrypted keys are refused instead of prompting on the terminal.
int no_passphrase(char*, int, int, void*) { return -1; }

std::string_view trim_one_newline(std::string_view s) noexcept {
  if (s.ends_with("\r\n")) s.remove_suffix(2);
  else if (s.ends_with('\n')) s.remove_suffix(1);
  return s;
}

bool digest_sign(const signing_key& k, std::string_view input, std::string& signature, std::string& error) {
  const alg a = k.algorithm;
  detail::md_ctx_ptr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  const EVP_MD* md = detail::digest_for(a);
  bool ok = ctx && EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, k.private_key.get()) == 1;
  if (ok && family(a) == alg_family::rsa_pss)
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
  std::size_t len = 0;
  ok = ok && EVP_DigestSign(ctx.get(), nullptr, &len, bytes(input), input.size()) == 1;
  std::string sig(len, '\0');
  ok = ok && EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, bytes(input),
                            input.size()) == 1;
  if (!ok) {
    error = "signing failed: " + detail::take_openssl_error();
    return false;
  }
  sig.resize(len);
  if (family(a) != alg_family::ecdsa) {
    signature = std::move(sig);
    return true;
  }
  // OpenSSL produces DER; JWA wants the fixed-size R || S.
  if (!detail::ecdsa_der_to_raw(sig, detail::ecdsa_component_size(a), signature)) {
    error = "signing failed: could not convert the ECDSA signature";
    return false;
  }
  return true;
}

}  // namespace

bool read_file(const std::string& path, std::string& contents, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = path + ": cannot open file";
    return false;
  }
  contents.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) {
    error = path + ": read error";
    return false;
  }
  return true;
}

bool load_signing_key(alg a, std::string_view file_contents, signing_key& out, std::string& error) {
  out = signing_key{a, {}, nullptr};
  if (family(a) == alg_family::hmac) {
    const std::string_view secret = trim_one_newline(file_contents);
    if (secret.size() < detail::hmac_min_secret(a)) {
      error = "HMAC secret of " + std::to_string(secret.size()) + " bytes is too short for " +
              std::string(to_string(a)) + ": at least " + std::to_string(detail::hmac_min_secret(a)) +
              " bytes are required";
      return false;
    }
    out.secret = std::string(secret);
    return true;
  }
  BIO* bio = BIO_new_mem_buf(file_contents.data(), static_cast<int>(file_contents.size()));
  EVP_PKEY* pkey = bio ? PEM_read_bio_PrivateKey(bio, nullptr, no_passphrase, nullptr) : nullptr;
  BIO_free(bio);
  if (pkey == nullptr) {
    error = "no usable private key PEM (an unencrypted PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY): " +
            detail::take_openssl_error();
    return false;
  }
  out.private_key = detail::adopt_pkey(pkey);
  return detail::check_key_for_alg(pkey, a, error);
}

bool load_signing_key_file(alg a, const std::string& path, signing_key& out, std::string& error) {
  std::string contents;
  if (!read_file(path, contents, error)) return false;
  if (!load_signing_key(a, contents, out, error)) {
    error = path + ": " + error;
    return false;
  }
  return true;
}

bool sign_bytes(const signing_key& k, std::string_view input, std::string& signature, std::string& error) {
  if (family(k.algorithm) == alg_family::hmac) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (HMAC(detail::digest_for(k.algorithm), k.secret.data(), static_cast<int>(k.secret.size()), bytes(input),
             input.size(), mac, &len) == nullptr) {
      error = "HMAC failed: " + detail::take_openssl_error();
      return false;
    }
    signature.assign(reinterpret_cast<const char*>(mac), len);
    return true;
  }
  if (!k.private_key) {
    error = "no private key";
    return false;
  }
  return digest_sign(k, input, signature, error);
}

bool sign_jwt(const signing_key& k, std::string_view kid, const boost::json::object& claims, std::string& token,
              std::string& error) {
  boost::json::object header;
  header["alg"] = to_string(k.algorithm);
  header["typ"] = "JWT";
  if (!kid.empty()) header["kid"] = kid;
  token.clear();
  base64url_encode_append(boost::json::serialize(header), token);
  token.push_back('.');
  base64url_encode_append(boost::json::serialize(claims), token);
  std::string signature;
  if (!sign_bytes(k, token, signature, error)) return false;
  token.push_back('.');
  base64url_encode_append(signature, token);
  return true;
}

}  // namespace jwtgate::jose
