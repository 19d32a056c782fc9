#pragma once
// Shared helpers of the jose unit tests: fixtures, hand-built tokens, and keys
// generated once per test binary (RSA generation is slow).

#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "jwtgate/jose/base64url.h"
#include "jwtgate/jose/jwt.h"
#include "jwtgate/jose/key_set.h"
#include "jwtgate/jose/keygen.h"
#include "jwtgate/jose/sign.h"
#include "jwtgate/jose/verify.h"

namespace jose_test {

namespace jose = jwtgate::jose;
using jose::alg;
using jose::status;

inline std::string fixture_path(std::string_view relative) {
  return std::string(JWTGATE_FIXTURES) + "/jose/" + std::string(relative);
}

inline std::string fixture(std::string_view relative) {
  std::ifstream in(fixture_path(relative), std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing fixture " << relative;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline std::string b64(std::string_view bytes) { return jose::base64url_encode(bytes); }

// header.payload.signature from raw JSON texts and raw signature bytes.
inline std::string token_of(std::string_view header_json, std::string_view payload_json,
                            std::string_view signature_bytes) {
  return b64(header_json) + "." + b64(payload_json) + "." + b64(signature_bytes);
}

inline constexpr jose::alg all_algs[] = {
    alg::HS256, alg::HS384, alg::HS512, alg::RS256, alg::RS384, alg::RS512, alg::PS256,
    alg::PS384, alg::PS512, alg::ES256, alg::ES384, alg::ES512, alg::EdDSA,
};

inline jose::alg_set every_alg() {
  jose::alg_set s;
  for (alg a : all_algs) s.insert(a);
  return s;
}

// One generated key per algorithm family and size, shared by all tests.
inline const jose::generated_key& generated(alg a) {
  static std::map<alg, jose::generated_key> cache;
  auto it = cache.find(a);
  if (it == cache.end()) {
    jose::generated_key k;
    std::string error;
    EXPECT_TRUE(jose::generate_key(a, "test-" + std::string(jose::to_string(a)), k, error)) << error;
    it = cache.emplace(a, std::move(k)).first;
  }
  return it->second;
}

// The public key set matching generated(a), from its JWKS.
inline jose::key_set public_keys(alg a) {
  jose::jwks_result result;
  std::string error;
  EXPECT_TRUE(jose::parse_jwks(generated(a).jwks, jose::alg_set{a}, result, error)) << error;
  EXPECT_EQ(result.keys.size(), 1u);
  return jose::key_set(std::move(result.keys));
}

// Signs header_json.payload_json with generated(a), whatever the header says.
inline std::string sign_raw(alg a, std::string_view header_json, std::string_view payload_json) {
  std::string input = b64(header_json) + "." + b64(payload_json), signature, error;
  EXPECT_TRUE(jose::sign_bytes(generated(a).signing, input, signature, error)) << error;
  return input + "." + b64(signature);
}

// A normal token of alg `a` with kid "test-<alg>" and the given payload.
inline std::string sign_token(alg a, std::string_view payload_json = R"({"sub":"alice"})") {
  const std::string header =
      R"({"alg":")" + std::string(jose::to_string(a)) + R"(","typ":"JWT","kid":"test-)" +
      std::string(jose::to_string(a)) + R"("})";
  return sign_raw(a, header, payload_json);
}

// parse + verify_signature.
inline status check(std::string_view token, const jose::key_set& keys, jose::alg_set allowed) {
  jose::jwt parsed;
  if (auto s = jose::parse(token, parsed); s != status::ok) return s;
  return jose::verify_signature(parsed, keys, allowed);
}

inline std::string flip_char(std::string token, std::size_t index) {
  char& c = token[index];
  c = (c == 'A') ? 'B' : 'A';
  return token;
}

}  // namespace jose_test

namespace jose_test {

// Signs a token with alg `a`, checks it verifies, and that changing its
// payload, its header or its signature makes it fail.
inline void expect_verifies_and_detects_tampering(alg a) {
  SCOPED_TRACE(std::string(jose::to_string(a)));
  const auto keys = public_keys(a);
  const jose::alg_set allowed{a};
  const std::string token = sign_token(a, R"({"sub":"alice","role":"user"})");
  EXPECT_EQ(check(token, keys, allowed), status::ok);

  const auto dot1 = token.find('.'), dot2 = token.rfind('.');
  // Another payload under the same header and signature.
  const std::string other_payload =
      token.substr(0, dot1 + 1) + b64(R"({"sub":"alice","role":"root"})") + token.substr(dot2);
  EXPECT_EQ(check(other_payload, keys, allowed), status::bad_signature);
  // Another header (one more member) under the same payload and signature.
  const std::string header = R"({"alg":")" + std::string(jose::to_string(a)) + R"(","typ":"JWT","kid":"test-)" +
                             std::string(jose::to_string(a)) + R"(","x":1})";
  EXPECT_EQ(check(b64(header) + token.substr(dot1), keys, allowed), status::bad_signature);
  // One signature byte changed.
  jose::jwt parsed;
  ASSERT_EQ(jose::parse(token, parsed), status::ok);
  std::string sig = parsed.signature;
  sig[sig.size() / 2] ^= 0x01;
  EXPECT_EQ(check(token.substr(0, dot2 + 1) + b64(sig), keys, allowed), status::bad_signature);
  // Truncated signature.
  EXPECT_EQ(check(token.substr(0, dot2 + 1) + b64(parsed.signature.substr(1)), keys, allowed),
            status::bad_signature);
}

}  // namespace jose_test
