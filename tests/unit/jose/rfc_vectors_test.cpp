// Published vectors: RFC 7515 A.1-A.4 and RFC 8037 A.4, with the RFCs' keys.
#include "test_support.h"

namespace {

using namespace jose_test;

jose::key_set keys_from(std::string_view jwk_file, alg a) {
  jose::jwks_result r;
  std::string error;
  EXPECT_TRUE(jose::parse_jwks(fixture(jwk_file), jose::alg_set{a}, r, error)) << error;
  EXPECT_EQ(r.keys.size(), 1u) << (r.warnings.empty() ? "" : r.warnings[0]);
  return jose::key_set(std::move(r.keys));
}

// Builds the jwt view by hand, for payloads that are not JSON claims.
jose::jwt raw_jws(const std::string& compact, alg a) {
  jose::jwt t;
  const auto dot2 = compact.rfind('.');
  t.signing_input = std::string_view(compact).substr(0, dot2);
  t.algorithm = a;
  EXPECT_TRUE(jose::base64url_decode(std::string_view(compact).substr(dot2 + 1), t.signature));
  return t;
}

// Every single-character change in header, payload and signature breaks it.
void expect_every_part_is_protected(const std::string& compact, const jose::key_set& keys, alg a) {
  const auto dot1 = compact.find('.'), dot2 = compact.rfind('.');
  for (std::size_t pos : {std::size_t{1}, dot1 + 2, dot2 + 3}) {
    std::string changed = compact;
    changed[pos] = changed[pos] == 'Q' ? 'R' : 'Q';
    const jose::jwt t = raw_jws(changed, a);
    EXPECT_EQ(jose::verify_signature(t, keys, {a}), status::bad_signature) << "position " << pos;
  }
}

TEST(RfcVectors, Rfc7515A1Hs256) {
  const std::string token = fixture("rfc/rfc7515_a1_hs256.jwt");
  const auto keys = keys_from("rfc/rfc7515_a1_hs256.jwk.json", alg::HS256);
  jose::jwt t;
  ASSERT_EQ(jose::parse(token, t), status::ok);
  EXPECT_EQ(jose::verify_signature(t, keys, {alg::HS256}), status::ok);
  expect_every_part_is_protected(token, keys, alg::HS256);
  // Its exp is 1300819380 (March 2011).
  jose::claim_rules rules;
  rules.clock_skew = std::chrono::seconds(0);
  EXPECT_EQ(jose::verify_claims(t, rules, 1300819379), status::ok);
  EXPECT_EQ(jose::verify_claims(t, rules, 1300819380), status::expired);
  rules.issuer = "joe";
  rules.claims.push_back({"http://example.com/is_root", {"true"}});
  EXPECT_EQ(jose::verify_claims(t, rules, 1300000000), status::ok);
}

TEST(RfcVectors, Rfc7515A2Rs256) {
  const std::string token = fixture("rfc/rfc7515_a2_rs256.jwt");
  const auto keys = keys_from("rfc/rfc7515_a2_rs256.jwk.json", alg::RS256);
  jose::jwt t;
  ASSERT_EQ(jose::parse(token, t), status::ok);
  EXPECT_EQ(jose::verify_signature(t, keys, {alg::RS256}), status::ok);
  expect_every_part_is_protected(token, keys, alg::RS256);
  EXPECT_EQ(jose::verify_claims(t, {}, 1300819000), status::ok);
  EXPECT_EQ(jose::verify_claims(t, {}, 1700000000), status::expired);
}

TEST(RfcVectors, Rfc7515A3Es256) {
  const std::string token = fixture("rfc/rfc7515_a3_es256.jwt");
  const auto keys = keys_from("rfc/rfc7515_a3_es256.jwk.json", alg::ES256);
  jose::jwt t;
  ASSERT_EQ(jose::parse(token, t), status::ok);
  EXPECT_EQ(jose::verify_signature(t, keys, {alg::ES256}), status::ok);
  expect_every_part_is_protected(token, keys, alg::ES256);
}

TEST(RfcVectors, Rfc7515A4Es512) {
  const std::string compact = fixture("rfc/rfc7515_a4_es512.jws");
  const auto keys = keys_from("rfc/rfc7515_a4_es512.jwk.json", alg::ES512);
  EXPECT_EQ(jose::verify_signature(raw_jws(compact, alg::ES512), keys, {alg::ES512}), status::ok);
  expect_every_part_is_protected(compact, keys, alg::ES512);
  // Its payload is the text "Payload", not a JSON object: as a token it is malformed.
  jose::jwt t;
  EXPECT_EQ(jose::parse(compact, t), status::malformed);
}

TEST(RfcVectors, Rfc8037A4Ed25519) {
  const std::string compact = fixture("rfc/rfc8037_a4_ed25519.jws");
  const auto keys = keys_from("rfc/rfc8037_a4_ed25519.jwk.json", alg::EdDSA);
  EXPECT_EQ(jose::verify_signature(raw_jws(compact, alg::EdDSA), keys, {alg::EdDSA}), status::ok);
  expect_every_part_is_protected(compact, keys, alg::EdDSA);
}

TEST(RfcVectors, Rfc7515A1KeyIsPinnedToHs256) {
  // The same token against the same secret pinned to HS384/HS512 never verifies.
  jose::jwks_result r;
  std::string error;
  ASSERT_TRUE(jose::parse_jwks(fixture("rfc/rfc7515_a1_hs256.jwk.json"), {alg::HS384, alg::HS512}, r, error));
  ASSERT_EQ(r.keys.size(), 2u);  // 64-byte secret: long enough for both, but the token says HS256
  jose::jwt t;
  ASSERT_EQ(jose::parse(fixture("rfc/rfc7515_a1_hs256.jwt"), t), status::ok);
  EXPECT_EQ(jose::verify_signature(t, jose::key_set(r.keys), {alg::HS256, alg::HS384, alg::HS512}),
            status::bad_signature);
}

}  // namespace
