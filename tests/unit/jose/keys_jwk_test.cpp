#include "test_support.h"

#include <openssl/evp.h>

namespace {

using namespace jose_test;

jose::jwks_result parse_ok(std::string_view json, jose::alg_set allowed) {
  jose::jwks_result result;
  std::string error;
  EXPECT_TRUE(jose::parse_jwks(json, allowed, result, error)) << error;
  return result;
}

std::string rfc_rsa_jwk(std::string_view extra = "") {
  std::string jwk = fixture("rfc/rfc7515_a2_rs256.jwk.json");
  jwk.pop_back();  // the closing brace
  return jwk + std::string(extra) + "}";
}

TEST(Jwks, RsaWithoutAlgBecomesOneEntryPerAllowedRsaAlg) {
  auto r = parse_ok(R"({"keys":[)" + rfc_rsa_jwk(R"(,"kid":"r1")") + "]}",
                    {alg::RS256, alg::PS384, alg::ES256, alg::HS256});
  ASSERT_EQ(r.keys.size(), 2u);
  EXPECT_EQ(r.keys[0].algorithm, alg::RS256);
  EXPECT_EQ(r.keys[1].algorithm, alg::PS384);
  EXPECT_EQ(r.keys[0].kid, "r1");
  EXPECT_EQ(r.keys[0].public_key, r.keys[1].public_key);  // one EVP_PKEY, shared
  EXPECT_TRUE(r.warnings.empty());
}

TEST(Jwks, AlgPinsTheKey) {
  auto r = parse_ok(R"({"keys":[)" + rfc_rsa_jwk(R"(,"kid":"r1","alg":"PS256")") + "]}", every_alg());
  ASSERT_EQ(r.keys.size(), 1u);
  EXPECT_EQ(r.keys[0].algorithm, alg::PS256);
}

TEST(Jwks, SkipsWithAWarningNamingTheKid) {
  const std::string doc = R"({"keys":[)" + rfc_rsa_jwk(R"(,"kid":"enc-key","use":"enc")") + "," +
                          rfc_rsa_jwk(R"(,"kid":"no-verify","key_ops":["sign"])") + "," +
                          rfc_rsa_jwk(R"(,"kid":"odd-alg","alg":"RSA-OAEP")") + "," +
                          rfc_rsa_jwk(R"(,"kid":"other-alg","alg":"RS512")") + "," +
                          rfc_rsa_jwk(R"(,"kid":"wrong-type","alg":"ES256")") + "," +
                          R"({"kty":"EC","crv":"secp256k1","kid":"k256","x":"AA","y":"AA"},)" +
                          R"({"kty":"OKP","crv":"X25519","kid":"x25519","x":"AA"},)" +
                          R"({"kty":"oct","kid":"short","k":"c2hvcnQ"},)" +
                          R"({"kid":"no-kty"},)" + R"("not an object",)" +
                          rfc_rsa_jwk(R"(,"kid":"good","use":"sig","key_ops":["verify"])") + "]}";
  auto r = parse_ok(doc, {alg::RS256, alg::ES256, alg::HS256});
  ASSERT_EQ(r.keys.size(), 1u);
  EXPECT_EQ(r.keys[0].kid, "good");
  ASSERT_EQ(r.warnings.size(), 10u);
  for (const char* kid : {"enc-key", "no-verify", "odd-alg", "other-alg", "wrong-type", "k256", "x25519", "short",
                          "no-kty"}) {
    bool named = false;
    for (const auto& w : r.warnings) named = named || w.find(std::string("\"") + kid + "\"") != std::string::npos;
    EXPECT_TRUE(named) << kid;
  }
  EXPECT_NE(r.warnings.back().find("key #9"), std::string::npos) << r.warnings.back();
}

TEST(Jwks, EcKeysMapToTheirCurveAlg) {
  auto r = parse_ok(fixture("rfc/rfc7515_a3_es256.jwk.json"), every_alg());
  ASSERT_EQ(r.keys.size(), 1u);
  EXPECT_EQ(r.keys[0].algorithm, alg::ES256);
  r = parse_ok(fixture("rfc/rfc7515_a4_es512.jwk.json"), every_alg());
  ASSERT_EQ(r.keys.size(), 1u);
  EXPECT_EQ(r.keys[0].algorithm, alg::ES512);
  // ES384 not allowed: the P-256 key has nothing to verify.
  r = parse_ok(fixture("rfc/rfc7515_a3_es256.jwk.json"), {alg::ES384});
  EXPECT_TRUE(r.keys.empty());
  EXPECT_EQ(r.warnings.size(), 1u);
}

TEST(Jwks, EcPointsAreValidated) {
  // The RFC 7515 A.3 key with the last byte of y changed: no longer on P-256.
  std::string jwk = fixture("rfc/rfc7515_a3_es256.jwk.json");
  const auto pos = jwk.find("I5a0");
  ASSERT_NE(pos, std::string::npos);
  jwk.replace(pos, 4, "I5a4");
  auto r = parse_ok(jwk, every_alg());
  EXPECT_TRUE(r.keys.empty());
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("curve"), std::string::npos) << r.warnings[0];
  // Coordinate longer than the field (33 bytes).
  r = parse_ok(R"({"kty":"EC","crv":"P-256","x":")" + b64(std::string(33, '\1')) + R"(","y":")" +
                   b64(std::string(32, '\1')) + R"("})",
               every_alg());
  EXPECT_TRUE(r.keys.empty());
}

TEST(Jwks, ShortEcCoordinatesAreLeftPadded) {
  // The RFC 7515 A.4 P-521 key, whose x and y start with a zero-valued top
  // byte... written without it, as some issuers do.
  jose::jwks_result full = parse_ok(fixture("rfc/rfc7515_a4_es512.jwk.json"), every_alg());
  ASSERT_EQ(full.keys.size(), 1u);
  std::string jwk = fixture("rfc/rfc7515_a4_es512.jwk.json");
  const auto y_at = jwk.find("\"y\":\"") + 5;
  const auto y_end = jwk.find('"', y_at);
  std::string y;
  ASSERT_TRUE(jose::base64url_decode(jwk.substr(y_at, y_end - y_at), y));
  ASSERT_EQ(y.size(), 66u);
  ASSERT_EQ(y[0], '\0');
  jwk.replace(y_at, y_end - y_at, b64(y.substr(1)));
  jose::jwks_result shortened = parse_ok(jwk, every_alg());
  ASSERT_EQ(shortened.keys.size(), 1u);
  EXPECT_EQ(EVP_PKEY_eq(shortened.keys[0].public_key.get(), full.keys[0].public_key.get()), 1);
}

TEST(Jwks, Ed25519Keys) {
  auto r = parse_ok(fixture("rfc/rfc8037_a4_ed25519.jwk.json"), every_alg());
  ASSERT_EQ(r.keys.size(), 1u);
  EXPECT_EQ(r.keys[0].algorithm, alg::EdDSA);
  r = parse_ok(R"({"kty":"OKP","crv":"Ed25519","x":")" + b64(std::string(31, 'x')) + R"("})", every_alg());
  EXPECT_TRUE(r.keys.empty());
}

TEST(Jwks, OctKeysFollowTheLengthRule) {
  const std::string k48 = b64(std::string(48, 's'));
  auto r = parse_ok(R"({"keys":[{"kty":"oct","kid":"h","k":")" + k48 + R"("}]})",
                    {alg::HS256, alg::HS384, alg::HS512, alg::RS256});
  ASSERT_EQ(r.keys.size(), 2u);  // long enough for HS256 and HS384, not HS512
  EXPECT_EQ(r.keys[0].algorithm, alg::HS256);
  EXPECT_EQ(r.keys[1].algorithm, alg::HS384);
  EXPECT_EQ(r.keys[0].secret, std::string(48, 's'));
  EXPECT_EQ(r.keys[0].public_key, nullptr);
  r = parse_ok(R"({"kty":"oct","alg":"HS512","k":")" + k48 + R"("})", every_alg());
  EXPECT_TRUE(r.keys.empty());
  EXPECT_EQ(r.warnings.size(), 1u);
}

TEST(Jwks, WeakRsaIsSkipped) {
  auto r = parse_ok(R"({"kty":"RSA","kid":"weak","n":")" + b64(std::string(128, '\xc5')) + R"(","e":"AQAB"})",
                    every_alg());
  EXPECT_TRUE(r.keys.empty());
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("2048"), std::string::npos) << r.warnings[0];
}

TEST(Jwks, NonCanonicalBase64IsSkipped) {
  std::string jwk = fixture("rfc/rfc8037_a4_ed25519.jwk.json");
  jwk.replace(jwk.find("URo\""), 4, "URo=\"");
  auto r = parse_ok(jwk, every_alg());
  EXPECT_TRUE(r.keys.empty());
  EXPECT_EQ(r.warnings.size(), 1u);
}

TEST(Jwks, DocumentErrorsFail) {
  jose::jwks_result r;
  std::string error;
  EXPECT_FALSE(jose::parse_jwks("not json", every_alg(), r, error));
  EXPECT_FALSE(jose::parse_jwks(R"({"keys":{}})", every_alg(), r, error));
  EXPECT_FALSE(jose::parse_jwks(R"({"foo":[]})", every_alg(), r, error));
  EXPECT_FALSE(jose::parse_jwks(R"({"keys":[],"keys":[]})", every_alg(), r, error));
  EXPECT_FALSE(error.empty());
  EXPECT_TRUE(jose::parse_jwks(R"({"keys":[]})", every_alg(), r, error));
  EXPECT_TRUE(r.keys.empty());
}

}  // namespace
