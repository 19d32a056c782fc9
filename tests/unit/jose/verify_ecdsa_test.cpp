#include "test_support.h"

#include "jose/openssl_util.h"

namespace {

using namespace jose_test;

TEST(VerifyEcdsa, RoundTripAndTampering) {
  for (alg a : {alg::ES256, alg::ES384, alg::ES512}) expect_verifies_and_detects_tampering(a);
}

TEST(VerifyEcdsa, SignaturesAreRawRAndSOfTheCurveSize) {
  for (auto [a, size] : {std::pair{alg::ES256, 64u}, {alg::ES384, 96u}, {alg::ES512, 132u}}) {
    jose::jwt parsed;
    ASSERT_EQ(jose::parse(sign_token(a), parsed), status::ok);
    EXPECT_EQ(parsed.signature.size(), size);
  }
}

TEST(VerifyEcdsa, RawToDerConversionMatchesOpenssl) {
  // Halves with the top bit set and with leading zeros exercise the INTEGER rules.
  for (std::size_t half : {32u, 48u, 66u}) {
    std::string raw(2 * half, '\0');
    raw[0] = '\x80';
    raw[half - 1] = '\x01';
    raw[half + 3] = '\x7f';
    raw[2 * half - 1] = '\x42';
    unsigned char der[jwtgate::jose::detail::max_ecdsa_der_size];
    const std::size_t len = jwtgate::jose::detail::ecdsa_raw_to_der(raw, der);
    ASSERT_GT(len, 0u);
    std::string back;
    ASSERT_TRUE(jwtgate::jose::detail::ecdsa_der_to_raw(std::string_view(reinterpret_cast<char*>(der), len), half,
                                                        back));
    EXPECT_EQ(back, raw) << half;
  }
}

TEST(VerifyEcdsa, OpensslPemKeysSignAndVerify) {
  for (auto [a, priv, pub] : {std::tuple{alg::ES256, "keys/p256.key", "keys/p256.pub.pem"},
                              {alg::ES256, "keys/p256.traditional.key", "keys/p256.pub.pem"},
                              {alg::ES384, "keys/p384.key", "keys/p384.pub.pem"},
                              {alg::ES512, "keys/p521.key", "keys/p521.pub.pem"}}) {
    jose::signing_key signer;
    std::string error, token;
    ASSERT_TRUE(jose::load_signing_key_file(a, fixture_path(priv), signer, error)) << error;
    ASSERT_TRUE(jose::sign_jwt(signer, "", boost::json::object{{"sub", "a"}}, token, error)) << error;
    jose::key k;
    ASSERT_TRUE(jose::load_public_key_pem("", a, fixture(pub), k, error)) << error;
    if (std::string_view(priv) == "keys/p256.traditional.key") {
      EXPECT_EQ(check(token, jose::key_set({k}), {a}), status::bad_signature);  // another key pair
    } else {
      EXPECT_EQ(check(token, jose::key_set({k}), {a}), status::ok) << priv;
    }
  }
}

TEST(VerifyEcdsa, SigningKeyOnTheWrongCurveIsRefused) {
  jose::signing_key signer;
  std::string error;
  EXPECT_FALSE(jose::load_signing_key_file(alg::ES384, fixture_path("keys/p256.key"), signer, error));
  EXPECT_FALSE(jose::load_signing_key_file(alg::RS256, fixture_path("keys/p256.key"), signer, error));
}

}  // namespace
