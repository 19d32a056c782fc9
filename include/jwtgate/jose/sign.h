#pragma once
// Signing JWS tokens, for development and tests (`jwtgate mint`, `jwtgate demo`,
// test fixtures). The gateway itself never signs.

#include <memory>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "jwtgate/jose/alg.h"

struct evp_pkey_st;

namespace jwtgate::jose {

struct signing_key {
  alg algorithm = alg::HS256;
  std::string secret;                        // HS* only
  std::shared_ptr<evp_pkey_st> private_key;  // every other alg
};

// From the contents of a key file: for HS* the raw secret (one trailing
// newline, "\n" or "\r\n", is trimmed) of at least the hash size; otherwise a
// private key PEM (PKCS#8 or traditional) whose type and curve fit `a`.
bool load_signing_key(alg a, std::string_view file_contents, signing_key& out, std::string& error);

// Same, reading `path` first.
bool load_signing_key_file(alg a, const std::string& path, signing_key& out, std::string& error);

// The JWS signature of `input`: HMAC, PKCS#1 v1.5, PSS (salt = hash size),
// ECDSA as raw R || S, or Ed25519.
bool sign_bytes(const signing_key& k, std::string_view input, std::string& signature, std::string& error);

// A compact JWS with header {"alg", "typ":"JWT"[, "kid"]} and `claims` as payload.
bool sign_jwt(const signing_key& k, std::string_view kid, const boost::json::object& claims, std::string& token,
              std::string& error);

// Reads a whole file; false with a message naming the path on failure.
bool read_file(const std::string& path, std::string& contents, std::string& error);

}  // namespace jwtgate::jose
