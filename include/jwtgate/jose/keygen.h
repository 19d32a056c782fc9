#pragma once
// Key generation for development (`jwtgate keygen`, `jwtgate demo`).

#include <string>
#include <string_view>
#include <vector>

#include "jwtgate/jose/alg.h"
#include "jwtgate/jose/sign.h"

namespace jwtgate::jose {

struct generated_key {
  signing_key signing;
  // PEM (PKCS#8) private key, or for HS* the secret: base64url text of 32/48/64
  // random bytes, so that it survives newline trimming and environment variables.
  std::string private_text;
  std::string jwks;  // {"keys":[{...,"kid","alg","use":"sig"}]}; for HS* it holds the secret
};

// RSA 2048, EC on the alg's curve, Ed25519, or an HMAC secret.
bool generate_key(alg a, std::string_view kid, generated_key& out, std::string& error);

// The public JWK of a signing key, as a JSON object text.
bool public_jwk(const signing_key& k, std::string_view kid, std::string& jwk_json, std::string& error);

// Writes DIR/private.pem (DIR/secret for HS*) with mode 0600, and DIR/jwks.json
// (0600 too for HS*, since it carries the secret; 0644 otherwise). Creates DIR
// when missing; refuses to overwrite an existing private key or secret.
// `written` receives the paths written.
bool write_key_files(const generated_key& key, const std::string& dir, std::vector<std::string>& written,
                     std::string& error);

}  // namespace jwtgate::jose
