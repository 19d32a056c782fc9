#include "test_support.h"

namespace {

using namespace jose_test;

TEST(VerifyRsa, Pkcs1RoundTripAndTampering) {
  for (alg a : {alg::RS256, alg::RS384, alg::RS512}) expect_verifies_and_detects_tampering(a);
}

TEST(VerifyRsa, PssRoundTripAndTampering) {
  for (alg a : {alg::PS256, alg::PS384, alg::PS512}) expect_verifies_and_detects_tampering(a);
}

TEST(VerifyRsa, AKeyVerifiesOnlyItsOwnAlgorithm) {
  // An RS256-pinned key never checks PS256 or RS384 signatures made with the same key pair.
  jose::signing_key signer = generated(alg::RS256).signing;
  const auto rs256_keys = public_keys(alg::RS256);
  for (alg other : {alg::RS384, alg::PS256}) {
    signer.algorithm = other;
    const std::string header = R"({"alg":")" + std::string(jose::to_string(other)) + R"(","kid":"test-RS256"})";
    const std::string input = b64(header) + "." + b64(R"({"sub":"a"})");
    std::string sig, error;
    ASSERT_TRUE(jose::sign_bytes(signer, input, sig, error)) << error;
    EXPECT_EQ(check(input + "." + b64(sig), rs256_keys, {alg::RS256, alg::RS384, alg::PS256}), status::bad_signature);
  }
}

TEST(VerifyRsa, PemAndCertificateKeysVerifyOpensslSignatures) {
  jose::signing_key signer;
  std::string error;
  ASSERT_TRUE(jose::load_signing_key_file(alg::RS256, fixture_path("keys/rsa2048.key"), signer, error)) << error;
  std::string token;
  ASSERT_TRUE(jose::sign_jwt(signer, "", boost::json::object{{"sub", "a"}}, token, error)) << error;
  for (const char* file : {"keys/rsa2048.pub.pem", "keys/rsa2048.pkcs1.pub.pem", "keys/rsa2048.cert.pem"}) {
    jose::key k;
    ASSERT_TRUE(jose::load_public_key_pem("", alg::RS256, fixture(file), k, error)) << error;
    EXPECT_EQ(check(token, jose::key_set({k}), {alg::RS256}), status::ok) << file;
  }
}

}  // namespace
