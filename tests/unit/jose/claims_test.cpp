#include "test_support.h"

namespace {

using namespace jose_test;
using std::chrono::seconds;

jose::jwt parsed(std::string_view payload_json) {
  jose::jwt t;
  EXPECT_EQ(jose::parse(token_of(R"({"alg":"HS256"})", payload_json, "s"), t), status::ok) << payload_json;
  return t;
}

constexpr std::int64_t now = 1'700'000'000;

TEST(Claims, ExpiryWithSkew) {
  jose::claim_rules rules;  // skew 60 s
  EXPECT_EQ(jose::verify_claims(parsed(R"({"exp":1700000001})"), rules, now), status::ok);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"exp":1699999941})"), rules, now), status::ok);  // now < exp + 60
  EXPECT_EQ(jose::verify_claims(parsed(R"({"exp":1699999940})"), rules, now), status::expired);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"exp":1699999940.5})"), rules, now), status::ok);
  rules.clock_skew = seconds(0);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"exp":1700000000})"), rules, now), status::expired);
  EXPECT_EQ(jose::verify_claims(parsed(R"({})"), rules, now), status::ok);  // exp not required by default
}

TEST(Claims, NotBeforeWithSkew) {
  jose::claim_rules rules;
  EXPECT_EQ(jose::verify_claims(parsed(R"({"nbf":1700000060})"), rules, now), status::ok);  // now >= nbf - 60
  EXPECT_EQ(jose::verify_claims(parsed(R"({"nbf":1700000061})"), rules, now), status::not_yet_valid);
  rules.clock_skew = seconds(0);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"nbf":1700000000})"), rules, now), status::ok);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"nbf":1700000000.5})"), rules, now), status::not_yet_valid);
}

TEST(Claims, ExpiryIsCheckedBeforeEverythingElse) {
  jose::claim_rules rules;
  rules.issuer = "https://id.example.com";
  EXPECT_EQ(jose::verify_claims(parsed(R"({"exp":1})"), rules, now), status::expired);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"nbf":1800000000})"), rules, now), status::not_yet_valid);
}

TEST(Claims, Issuer) {
  jose::claim_rules rules;
  rules.issuer = "https://id.example.com";
  EXPECT_EQ(jose::verify_claims(parsed(R"({"iss":"https://id.example.com"})"), rules, now), status::ok);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"iss":"https://id.example.com/"})"), rules, now), status::issuer_mismatch);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"iss":["https://id.example.com"]})"), rules, now),
            status::issuer_mismatch);
  EXPECT_EQ(jose::verify_claims(parsed(R"({})"), rules, now), status::missing_claim);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"iss":null})"), rules, now), status::missing_claim);
}

TEST(Claims, AudienceStringOrArray) {
  jose::claim_rules rules;
  rules.audiences = {"orders-api", "billing"};
  EXPECT_EQ(jose::verify_claims(parsed(R"({"aud":"billing"})"), rules, now), status::ok);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"aud":["x","orders-api"]})"), rules, now), status::ok);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"aud":["x",1,"y"]})"), rules, now), status::audience_mismatch);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"aud":"Orders-api"})"), rules, now), status::audience_mismatch);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"aud":[]})"), rules, now), status::audience_mismatch);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"aud":7})"), rules, now), status::audience_mismatch);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"sub":"a"})"), rules, now), status::missing_claim);
}

TEST(Claims, RequiredClaims) {
  jose::claim_rules rules;
  rules.required = {"exp", "sub", "realm.id"};
  EXPECT_EQ(jose::verify_claims(parsed(R"({"exp":1800000000,"sub":"a","realm":{"id":1}})"), rules, now), status::ok);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"sub":"a","realm":{"id":1}})"), rules, now), status::missing_claim);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"exp":1800000000,"sub":"a","realm":{}})"), rules, now),
            status::missing_claim);
}

TEST(Claims, MaxLifetime) {
  jose::claim_rules rules;
  rules.max_lifetime = seconds(3600);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"iat":1700000000,"exp":1700003600})"), rules, now), status::ok);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"iat":1700000000,"exp":1700003601})"), rules, now),
            status::lifetime_exceeded);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"exp":1700003600})"), rules, now), status::missing_claim);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"iat":1700000000})"), rules, now), status::missing_claim);
}

TEST(Claims, ExactMatchRequirements) {
  jose::claim_rules rules;
  rules.claims = {{"token_use", {"access"}}, {"realm_access.roles", {"admin", "owner"}}};
  EXPECT_EQ(jose::verify_claims(
                parsed(R"({"token_use":"access","realm_access":{"roles":["user","owner"]}})"), rules, now),
            status::ok);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"token_use":"id","realm_access":{"roles":["owner"]}})"), rules, now),
            status::claim_mismatch);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"token_use":"access","realm_access":{"roles":["user"]}})"), rules, now),
            status::claim_mismatch);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"token_use":"access"})"), rules, now), status::missing_claim);
}

TEST(Claims, OrderIsIssAudRequiredLifetimeClaims) {
  jose::claim_rules rules;
  rules.issuer = "i";
  rules.audiences = {"a"};
  rules.required = {"sub"};
  rules.max_lifetime = seconds(10);
  rules.claims = {{"role", {"x"}}};
  EXPECT_EQ(jose::verify_claims(parsed(R"({"iss":"j","aud":"b"})"), rules, now), status::issuer_mismatch);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"iss":"i","aud":"b"})"), rules, now), status::audience_mismatch);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"iss":"i","aud":"a","iat":1,"exp":1800000000})"), rules, now),
            status::missing_claim);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"iss":"i","aud":"a","sub":"s","iat":1,"exp":1800000000,"role":"y"})"),
                                rules, now),
            status::lifetime_exceeded);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"iss":"i","aud":"a","sub":"s","iat":1700000000,"exp":1700000005,"role":"y"})"),
                                rules, now),
            status::claim_mismatch);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"iss":"i","aud":"a","sub":"s","iat":1700000000,"exp":1700000005,"role":"x"})"),
                                rules, now),
            status::ok);
}

jose::jwt with_header(std::string_view header_json) {
  jose::jwt t;
  EXPECT_EQ(jose::parse(token_of(header_json, "{}", "s"), t), status::ok) << header_json;
  return t;
}

TEST(Claims, WrongJsonTypeIsAMismatchNotAMissingClaim) {
  jose::claim_rules rules;
  rules.issuer = "https://id.example.com";
  EXPECT_EQ(jose::verify_claims(parsed(R"({"iss":42})"), rules, now), status::issuer_mismatch);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"iss":["https://id.example.com"]})"), rules, now), status::issuer_mismatch);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"iss":{"x":1}})"), rules, now), status::issuer_mismatch);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"iss":true})"), rules, now), status::issuer_mismatch);
  EXPECT_EQ(jose::verify_claims(parsed(R"({})"), rules, now), status::missing_claim);

  jose::claim_rules aud;
  aud.audiences = {"api"};
  EXPECT_EQ(jose::verify_claims(parsed(R"({"aud":7})"), aud, now), status::audience_mismatch);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"aud":{"api":1}})"), aud, now), status::audience_mismatch);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"aud":[1,2]})"), aud, now), status::audience_mismatch);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"aud":false})"), aud, now), status::audience_mismatch);

  jose::claim_rules claims;
  claims.claims = {{"token_use", {"access"}}, {"realm.role", {"admin"}}};
  EXPECT_EQ(jose::verify_claims(parsed(R"({"token_use":{"v":"access"},"realm":{"role":"admin"}})"), claims, now),
            status::claim_mismatch);
  // A member on the path that is not an object: present, of the wrong type.
  EXPECT_EQ(jose::verify_claims(parsed(R"({"token_use":"access","realm":"admin"})"), claims, now),
            status::claim_mismatch);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"token_use":"access","realm":["admin"]})"), claims, now),
            status::claim_mismatch);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"token_use":"access","realm":{}})"), claims, now), status::missing_claim);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"token_use":"access"})"), claims, now), status::missing_claim);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"token_use":"access","realm":{"role":"admin"}})"), claims, now),
            status::ok);

  jose::claim_rules required;
  required.required = {"org.id"};
  EXPECT_EQ(jose::verify_claims(parsed(R"({"org":"acme"})"), required, now), status::claim_mismatch);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"org":{}})"), required, now), status::missing_claim);
  EXPECT_EQ(jose::verify_claims(parsed(R"({"org":{"id":0}})"), required, now), status::ok);
}

TEST(Claims, TypesCompareCaseInsensitivelyWithOptionalApplicationPrefix) {
  jose::claim_rules rules;
  rules.types = {jose::media_type_short_form("at+jwt")};
  EXPECT_EQ(jose::verify_claims(with_header(R"({"alg":"HS256","typ":"at+jwt"})"), rules, now), status::ok);
  EXPECT_EQ(jose::verify_claims(with_header(R"({"alg":"HS256","typ":"AT+JWT"})"), rules, now), status::ok);
  EXPECT_EQ(jose::verify_claims(with_header(R"({"alg":"HS256","typ":"application/at+jwt"})"), rules, now), status::ok);
  EXPECT_EQ(jose::verify_claims(with_header(R"({"alg":"HS256","typ":"Application/At+Jwt"})"), rules, now), status::ok);
  EXPECT_EQ(jose::verify_claims(with_header(R"({"alg":"HS256","typ":"JWT"})"), rules, now), status::type_mismatch);
  EXPECT_EQ(jose::verify_claims(with_header(R"({"alg":"HS256"})"), rules, now), status::type_mismatch);
  EXPECT_EQ(jose::verify_claims(with_header(R"({"alg":"HS256","typ":7})"), rules, now), status::type_mismatch);
  EXPECT_EQ(jose::verify_claims(with_header(R"({"alg":"HS256","typ":"application/"})"), rules, now),
            status::type_mismatch);
  EXPECT_EQ(jose::verify_claims(with_header(R"({"alg":"HS256","typ":"xat+jwt"})"), rules, now), status::type_mismatch);
  rules.types = {jose::media_type_short_form("Application/AT+JWT"), "jwt"};
  EXPECT_EQ(rules.types[0], "at+jwt");
  EXPECT_EQ(jose::verify_claims(with_header(R"({"alg":"HS256","typ":"JWT"})"), rules, now), status::ok);
  // Without `types` the header typ is not looked at.
  EXPECT_EQ(jose::verify_claims(with_header(R"({"alg":"HS256","typ":"anything"})"), jose::claim_rules{}, now),
            status::ok);
}

TEST(ClaimMatches, ScalarsArraysAndJsonText) {
  const jose::claim_requirement req{"c", {"admin", "42", "true", "1.5"}};
  EXPECT_TRUE(jose::claim_matches(boost::json::value("admin"), req));
  EXPECT_FALSE(jose::claim_matches(boost::json::value("Admin"), req));
  EXPECT_TRUE(jose::claim_matches(boost::json::value(42), req));
  EXPECT_TRUE(jose::claim_matches(boost::json::value(42.0), req));
  EXPECT_TRUE(jose::claim_matches(boost::json::value(1.5), req));
  EXPECT_TRUE(jose::claim_matches(boost::json::value(true), req));
  EXPECT_FALSE(jose::claim_matches(boost::json::value(false), req));
  EXPECT_FALSE(jose::claim_matches(boost::json::value(nullptr), req));
  EXPECT_TRUE(jose::claim_matches(boost::json::value{"x", "admin"}, req));
  EXPECT_FALSE(jose::claim_matches(boost::json::value{"x", "y"}, req));
  EXPECT_FALSE(jose::claim_matches(boost::json::value{{"admin", true}}, req));
  // A string "42" and the number 42 both match "42": requirements are text.
  EXPECT_TRUE(jose::claim_matches(boost::json::value("42"), req));
}

TEST(FindClaim, DottedPathsAndNamesWithDots) {
  boost::json::object payload{{"a", {{"b", {{"c", 1}}}}},
                              {"https://example.com/roles", {"x"}},
                              {"flat", 2}};
  ASSERT_NE(jose::find_claim(payload, "a.b.c"), nullptr);
  EXPECT_EQ(jose::find_claim(payload, "a.b.c")->as_int64(), 1);
  EXPECT_NE(jose::find_claim(payload, "a.b"), nullptr);
  EXPECT_EQ(jose::find_claim(payload, "a.x"), nullptr);
  EXPECT_EQ(jose::find_claim(payload, "flat.x"), nullptr);
  EXPECT_EQ(jose::find_claim(payload, "a.b.c.d"), nullptr);
  EXPECT_NE(jose::find_claim(payload, "https://example.com/roles"), nullptr);
  EXPECT_EQ(jose::find_claim(payload, ""), nullptr);
  EXPECT_EQ(jose::find_claim(payload, "."), nullptr);
}

}  // namespace
