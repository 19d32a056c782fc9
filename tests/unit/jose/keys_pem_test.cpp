#include "test_support.h"

namespace {

using namespace jose_test;

bool load(alg a, std::string_view file, std::string* error_out = nullptr) {
  jose::key k;
  std::string error;
  const bool ok = jose::load_public_key_pem("kid", a, fixture(file), k, error);
  if (ok) {
    EXPECT_EQ(k.algorithm, a);
    EXPECT_EQ(k.kid, "kid");
    EXPECT_TRUE(k.public_key != nullptr);
    EXPECT_TRUE(k.secret.empty());
  } else {
    EXPECT_FALSE(error.empty());
  }
  if (error_out) *error_out = error;
  return ok;
}

TEST(PemKeys, LoadsEveryPublicKeyForm) {
  EXPECT_TRUE(load(alg::RS256, "keys/rsa2048.pub.pem"));
  EXPECT_TRUE(load(alg::PS512, "keys/rsa2048.pub.pem"));
  EXPECT_TRUE(load(alg::RS384, "keys/rsa2048.pkcs1.pub.pem"));
  EXPECT_TRUE(load(alg::RS256, "keys/rsa2048.cert.pem"));
  EXPECT_TRUE(load(alg::ES256, "keys/p256.pub.pem"));
  EXPECT_TRUE(load(alg::ES384, "keys/p384.pub.pem"));
  EXPECT_TRUE(load(alg::ES512, "keys/p521.pub.pem"));
  EXPECT_TRUE(load(alg::EdDSA, "keys/ed25519.pub.pem"));
}

TEST(PemKeys, RefusesWeakRsa) {
  std::string error;
  EXPECT_FALSE(load(alg::RS256, "keys/rsa1024.pub.pem", &error));
  EXPECT_NE(error.find("2048"), std::string::npos) << error;
}

TEST(PemKeys, RefusesCurveMismatch) {
  std::string error;
  EXPECT_FALSE(load(alg::ES384, "keys/p256.pub.pem", &error));
  EXPECT_NE(error.find("P-384"), std::string::npos) << error;
  EXPECT_FALSE(load(alg::ES256, "keys/p521.pub.pem"));
  EXPECT_FALSE(load(alg::ES512, "keys/p384.pub.pem"));
  EXPECT_FALSE(load(alg::ES256, "keys/secp256k1.pub.pem"));
}

TEST(PemKeys, RefusesKeyTypeMismatch) {
  EXPECT_FALSE(load(alg::RS256, "keys/p256.pub.pem"));
  EXPECT_FALSE(load(alg::ES256, "keys/rsa2048.pub.pem"));
  EXPECT_FALSE(load(alg::EdDSA, "keys/p256.pub.pem"));
  EXPECT_FALSE(load(alg::EdDSA, "keys/ed448.pub.pem"));
  EXPECT_FALSE(load(alg::PS256, "keys/ed25519.pub.pem"));
}

TEST(PemKeys, HmacAlgorithmsNeverTakeAPublicKey) {
  std::string error;
  EXPECT_FALSE(load(alg::HS256, "keys/rsa2048.pub.pem", &error));
  EXPECT_NE(error.find("HMAC"), std::string::npos) << error;
  EXPECT_FALSE(load(alg::HS512, "keys/p256.pub.pem"));
}

TEST(PemKeys, RefusesPrivateKeysWithAHint) {
  std::string error;
  EXPECT_FALSE(load(alg::RS256, "keys/rsa2048.key", &error));
  EXPECT_NE(error.find("private key"), std::string::npos) << error;
  EXPECT_FALSE(load(alg::ES256, "keys/p256.traditional.key"));
}

TEST(PemKeys, RefusesGarbage) {
  jose::key k;
  std::string error;
  EXPECT_FALSE(jose::load_public_key_pem("", alg::RS256, "not a pem", k, error));
  EXPECT_FALSE(jose::load_public_key_pem("", alg::RS256, "", k, error));
  EXPECT_FALSE(jose::load_public_key_pem(
      "", alg::RS256, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", k, error));
}

TEST(HmacKeys, EnforcesTheMinimumLength) {
  jose::key k;
  std::string error;
  EXPECT_TRUE(jose::make_hmac_key("k", alg::HS256, std::string(32, 'a'), k, error));
  EXPECT_EQ(k.secret.size(), 32u);
  EXPECT_FALSE(jose::make_hmac_key("k", alg::HS256, std::string(31, 'a'), k, error));
  EXPECT_NE(error.find("32"), std::string::npos);
  EXPECT_FALSE(jose::make_hmac_key("k", alg::HS384, std::string(47, 'a'), k, error));
  EXPECT_TRUE(jose::make_hmac_key("k", alg::HS384, std::string(48, 'a'), k, error));
  EXPECT_FALSE(jose::make_hmac_key("k", alg::HS512, std::string(63, 'a'), k, error));
  EXPECT_TRUE(jose::make_hmac_key("k", alg::HS512, std::string(64, 'a'), k, error));
}

TEST(HmacKeys, RefusesNonHmacAlgorithms) {
  jose::key k;
  std::string error;
  EXPECT_FALSE(jose::make_hmac_key("k", alg::RS256, std::string(64, 'a'), k, error));
  EXPECT_FALSE(jose::make_hmac_key("k", alg::EdDSA, std::string(64, 'a'), k, error));
}

TEST(KeySet, HasKid) {
  jose::key a, b;
  std::string error;
  ASSERT_TRUE(jose::make_hmac_key("one", alg::HS256, std::string(32, 'a'), a, error));
  ASSERT_TRUE(jose::make_hmac_key("", alg::HS256, std::string(32, 'b'), b, error));
  jose::key_set set({a, b});
  EXPECT_TRUE(set.has_kid("one"));
  EXPECT_TRUE(set.has_kid(""));
  EXPECT_FALSE(set.has_kid("two"));
  EXPECT_FALSE(set.empty());
  EXPECT_TRUE(jose::key_set().empty());
}

}  // namespace
