#include "test_support.h"

namespace {

using namespace jose_test;

TEST(VerifyEddsa, RoundTripAndTampering) { expect_verifies_and_detects_tampering(alg::EdDSA); }

TEST(VerifyEddsa, OpensslPemKeySignsAndVerifies) {
  jose::signing_key signer;
  std::string error, token;
  ASSERT_TRUE(jose::load_signing_key_file(alg::EdDSA, fixture_path("keys/ed25519.key"), signer, error)) << error;
  ASSERT_TRUE(jose::sign_jwt(signer, "ed", boost::json::object{{"sub", "a"}}, token, error)) << error;
  jose::key k;
  ASSERT_TRUE(jose::load_public_key_pem("ed", alg::EdDSA, fixture("keys/ed25519.pub.pem"), k, error)) << error;
  EXPECT_EQ(check(token, jose::key_set({k}), {alg::EdDSA}), status::ok);
  EXPECT_EQ(check(token, public_keys(alg::EdDSA), {alg::EdDSA}), status::unknown_kid);
}

TEST(VerifyEddsa, SignatureOfWrongLengthFails) {
  const std::string token = sign_token(alg::EdDSA);
  const std::string prefix = token.substr(0, token.rfind('.') + 1);
  for (std::size_t n : {1u, 63u, 65u, 128u})
    EXPECT_EQ(check(prefix + b64(std::string(n, '\x11')), public_keys(alg::EdDSA), {alg::EdDSA}),
              status::bad_signature);
}

}  // namespace
