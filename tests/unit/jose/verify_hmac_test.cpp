#include "test_support.h"

namespace {

using namespace jose_test;

TEST(VerifyHmac, RoundTripAndTampering) {
  for (alg a : {alg::HS256, alg::HS384, alg::HS512}) expect_verifies_and_detects_tampering(a);
}

TEST(VerifyHmac, WrongSecretFails) {
  jose::key other;
  std::string error;
  ASSERT_TRUE(jose::make_hmac_key("test-HS256", alg::HS256, std::string(32, 'z'), other, error));
  EXPECT_EQ(check(sign_token(alg::HS256), jose::key_set({other}), {alg::HS256}), status::bad_signature);
}

TEST(VerifyHmac, KeyOfOneHashNeverVerifiesAnother) {
  // The same secret, pinned to HS512, must not verify an HS256 token.
  const auto& secret = generated(alg::HS256).signing.secret;
  jose::key k;
  std::string error;
  ASSERT_TRUE(jose::make_hmac_key("test-HS256", alg::HS512, secret + secret, k, error));
  EXPECT_EQ(check(sign_token(alg::HS256), jose::key_set({k}), {alg::HS256, alg::HS512}), status::bad_signature);
}

TEST(VerifyHmac, SecretFileWithTrailingNewlineSigns) {
  jose::signing_key sk;
  std::string error;
  ASSERT_TRUE(jose::load_signing_key_file(alg::HS256, fixture_path("keys/hs256.secret"), sk, error)) << error;
  EXPECT_EQ(sk.secret.back() == '\n', false);
  EXPECT_FALSE(jose::load_signing_key_file(alg::HS256, fixture_path("keys/short.secret"), sk, error));
  EXPECT_NE(error.find("too short"), std::string::npos) << error;
}

}  // namespace
