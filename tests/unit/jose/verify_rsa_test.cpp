#include "test_support.h"

namespace {

using namespace jose_test;

TEST(VerifyRsa, Pkcs1RoundTripAndTampering) {
  for (alg a : {alg::RS256, alg::RS384, alg::RS512}) expect_verifies_and_detects_tampering(a);
}

TEST(VerifyRsa, PssRoundTripAndTampering) {
  for (alg a : {alg::PS256, alg::PS384, alg::PS512}) expect_verifies_and_detects_tampering(a);
}

TEST(VerifyRsa, SignatureOfOtherThanTheModulusLengthFails) {
  // RFC 8017: a signature is exactly as long as the modulus. One in 256 has
  // a leading zero byte; without it the same number would still verify.
  for (alg a : {alg::RS256, alg::PS256}) {
    SCOPED_TRACE(std::string(jose::to_string(a)));
    const jose::signing_key signer = generated(a).signing;
    const auto keys = public_keys(a);
    const std::string header = b64(R"({"alg":")" + std::string(jose::to_string(a)) + R"(","kid":"test-)" +
                                   std::string(jose::to_string(a)) + R"("})");
    std::string input, sig, error;
    bool found = false;
    for (int i = 0; i < 8000 && !found; ++i) {  // about 256 tries expected
      input = header + "." + b64(R"({"sub":"a","n":)" + std::to_string(i) + "}");
      ASSERT_TRUE(jose::sign_bytes(signer, input, sig, error)) << error;
      found = sig.front() == '\0';
    }
    ASSERT_TRUE(found) << "no signature with a leading zero byte in 8000 tries";
    EXPECT_EQ(check(input + "." + b64(sig), keys, {a}), status::ok);
    EXPECT_EQ(check(input + "." + b64(sig.substr(1)), keys, {a}), status::bad_signature);
    EXPECT_EQ(check(input + "." + b64(std::string(1, '\0') + sig), keys, {a}), status::bad_signature);
  }
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
