#include <atomic>
#include <thread>
#include <vector>

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

namespace {

using namespace jose_test;

TEST(VerifyHmac, KeysBuiltWithoutAKeyedContextStillVerify) {
  // A key assembled field by field (no make_hmac_key) takes the one-shot path.
  const auto& secret = generated(alg::HS384).signing.secret;
  jose::key plain{"test-HS384", alg::HS384, secret, nullptr};
  EXPECT_EQ(plain.hmac, nullptr);
  EXPECT_EQ(check(sign_token(alg::HS384), jose::key_set({plain}), {alg::HS384}), status::ok);
  jose::key keyed;
  std::string error;
  ASSERT_TRUE(jose::make_hmac_key("test-HS384", alg::HS384, secret, keyed, error));
  EXPECT_NE(keyed.hmac, nullptr);
  EXPECT_EQ(check(sign_token(alg::HS384), jose::key_set({keyed}), {alg::HS384}), status::ok);
}

TEST(VerifyHmac, SharedKeySetVerifiesFromManyThreads) {
  const jose::key_set keys = public_keys(alg::HS256);
  const std::string good = sign_token(alg::HS256), bad = flip_char(good, good.size() - 5);
  std::atomic<int> ok{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 250; ++i) {
        if (check(good, keys, {alg::HS256}) == status::ok) ++ok;
        if (check(bad, keys, {alg::HS256}) == status::bad_signature) ++refused;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1000);
  EXPECT_EQ(refused.load(), 1000);
}

}  // namespace
