#include "test_support.h"

namespace {

using namespace jose_test;

std::string with_header(std::string_view header_json, std::string_view payload_json = R"({"sub":"a"})") {
  return token_of(header_json, payload_json, "sig");
}

status parse_status(std::string_view token) {
  jose::jwt out;
  return jose::parse(token, out);
}

TEST(Parse, ReadsAWellFormedToken) {
  const std::string token =
      with_header(R"({"alg":"RS256","kid":"k1","typ":"JWT"})", R"({"sub":"a","exp":2000000000,"nbf":1.5,"iat":7})");
  jose::jwt out;
  ASSERT_EQ(jose::parse(token, out), status::ok);
  EXPECT_EQ(out.alg_name, "RS256");
  EXPECT_EQ(out.algorithm, alg::RS256);
  EXPECT_EQ(out.kid, "k1");
  EXPECT_EQ(out.signature, "sig");
  EXPECT_EQ(out.signing_input, token.substr(0, token.rfind('.')));
  EXPECT_DOUBLE_EQ(*out.exp, 2000000000.0);
  EXPECT_DOUBLE_EQ(*out.nbf, 1.5);
  EXPECT_DOUBLE_EQ(*out.iat, 7.0);
  EXPECT_EQ(out.payload.at("sub").as_string(), "a");
}

TEST(Parse, CountsParts) {
  const std::string h = b64(R"({"alg":"HS256"})"), p = b64("{}"), s = b64("sig");
  EXPECT_EQ(parse_status(h + "." + p + "." + s), status::ok);
  EXPECT_EQ(parse_status(h + "." + p), status::malformed);
  EXPECT_EQ(parse_status(h + "." + p + "." + s + "." + s), status::malformed);
  EXPECT_EQ(parse_status(h + "." + p + "." + s + "." + s + "." + s), status::unsupported_token);
  EXPECT_EQ(parse_status(h + "." + p + "." + s + "." + s + "." + s + "." + s), status::malformed);
  EXPECT_EQ(parse_status(""), status::malformed);
  EXPECT_EQ(parse_status(".."), status::malformed);
  EXPECT_EQ(parse_status("...."), status::unsupported_token);
}

TEST(Parse, RefusesAnEmptySignature) {
  EXPECT_EQ(parse_status(b64(R"({"alg":"HS256"})") + "." + b64("{}") + "."), status::malformed);
}

TEST(Parse, RefusesTokensOver16KiB) {
  const std::string header = R"({"alg":"HS256"})";
  std::string payload = R"({"pad":")";
  std::string fits = payload + std::string(11000, 'x') + "\"}";
  EXPECT_EQ(parse_status(token_of(header, fits, "sig")), status::ok);
  std::string big = payload + std::string(13000, 'x') + "\"}";
  const std::string token = token_of(header, big, "sig");
  ASSERT_GT(token.size(), jose::max_token_bytes);
  EXPECT_EQ(parse_status(token), status::malformed);
}

TEST(Parse, HeaderAndPayloadMustBeJsonObjects) {
  const std::string s = b64("sig");
  EXPECT_EQ(parse_status(b64("[]") + "." + b64("{}") + "." + s), status::malformed);
  EXPECT_EQ(parse_status(b64(R"({"alg":"HS256"})") + "." + b64("[1]") + "." + s), status::malformed);
  EXPECT_EQ(parse_status(b64(R"({"alg":"HS256"})") + "." + b64("not json") + "." + s), status::malformed);
  EXPECT_EQ(parse_status(b64(R"({"alg":"HS256"})") + "." + b64("") + "." + s), status::malformed);
}

TEST(Parse, AlgMustBeAString) {
  EXPECT_EQ(parse_status(with_header(R"({"typ":"JWT"})")), status::malformed);
  EXPECT_EQ(parse_status(with_header(R"({"alg":256})")), status::malformed);
  EXPECT_EQ(parse_status(with_header(R"({"alg":null})")), status::malformed);
  EXPECT_EQ(parse_status(with_header(R"({"alg":["HS256"]})")), status::malformed);
}

TEST(Parse, UnknownAlgorithmsParseWithoutAnAlgorithm) {
  for (const char* name : {"none", "None", "NONE", "nOnE", "hs256", "RS1", "ES256K", "Ed25519", ""}) {
    jose::jwt out;
    ASSERT_EQ(jose::parse(with_header(std::string(R"({"alg":")") + name + "\"}"), out), status::ok) << name;
    EXPECT_FALSE(out.algorithm.has_value()) << name;
    EXPECT_EQ(out.alg_name, name);
  }
}

TEST(Parse, RefusesCritAndUnencodedPayloads) {
  EXPECT_EQ(parse_status(with_header(R"({"alg":"HS256","crit":["exp"],"exp":1})")), status::malformed);
  EXPECT_EQ(parse_status(with_header(R"({"alg":"HS256","crit":[]})")), status::malformed);
  EXPECT_EQ(parse_status(with_header(R"({"alg":"HS256","b64":false})")), status::malformed);
  EXPECT_EQ(parse_status(with_header(R"({"alg":"HS256","b64":"false"})")), status::malformed);
  EXPECT_EQ(parse_status(with_header(R"({"alg":"HS256","b64":0})")), status::malformed);
  EXPECT_EQ(parse_status(with_header(R"({"alg":"HS256","b64":true})")), status::ok);
}

TEST(Parse, KidMustBeAString) {
  EXPECT_EQ(parse_status(with_header(R"({"alg":"HS256","kid":7})")), status::malformed);
  EXPECT_EQ(parse_status(with_header(R"({"alg":"HS256","kid":null})")), status::malformed);
  EXPECT_EQ(parse_status(with_header(R"({"alg":"HS256","kid":["a"]})")), status::malformed);
  jose::jwt out;
  ASSERT_EQ(jose::parse(with_header(R"({"alg":"HS256","kid":""})"), out), status::ok);
  EXPECT_EQ(out.kid, "");
}

TEST(Parse, TimeClaimsMustBeNumbers) {
  const std::string h = R"({"alg":"HS256"})";
  for (const char* name : {"exp", "nbf", "iat"}) {
    const std::string n = name;
    EXPECT_EQ(parse_status(with_header(h, "{\"" + n + "\":\"1700000000\"}")), status::malformed) << n;
    EXPECT_EQ(parse_status(with_header(h, "{\"" + n + "\":true}")), status::malformed) << n;
    EXPECT_EQ(parse_status(with_header(h, "{\"" + n + "\":null}")), status::malformed) << n;
    EXPECT_EQ(parse_status(with_header(h, "{\"" + n + "\":[1]}")), status::malformed) << n;
    EXPECT_EQ(parse_status(with_header(h, "{\"" + n + "\":{}}")), status::malformed) << n;
    EXPECT_EQ(parse_status(with_header(h, "{\"" + n + "\":1700000000}")), status::ok) << n;
    EXPECT_EQ(parse_status(with_header(h, "{\"" + n + "\":1700000000.25}")), status::ok) << n;
    EXPECT_EQ(parse_status(with_header(h, "{\"" + n + "\":18446744073709551615}")), status::ok) << n;
    EXPECT_EQ(parse_status(with_header(h, "{\"" + n + "\":-5}")), status::ok) << n;
  }
}

TEST(Parse, RefusesDuplicateMembers) {
  EXPECT_EQ(parse_status(with_header(R"({"alg":"HS256","alg":"HS256"})")), status::malformed);
  EXPECT_EQ(parse_status(with_header(R"({"alg":"HS256"})", R"({"sub":"a","sub":"b"})")), status::malformed);
  EXPECT_EQ(parse_status(with_header(R"({"alg":"HS256"})", R"({"r":{"role":"user","role":"admin"}})")),
            status::malformed);
}

TEST(Parse, RefusesBadBase64InAnyPart) {
  const std::string h = b64(R"({"alg":"HS256"})"), p = b64(R"({"a":1})"), s = b64("sig!");
  EXPECT_EQ(parse_status(h + "." + p + "." + s), status::ok);
  EXPECT_EQ(parse_status(h + "=." + p + "." + s), status::malformed);
  EXPECT_EQ(parse_status(h + "." + p + "=." + s), status::malformed);
  EXPECT_EQ(parse_status(h + "." + p + "." + s + "="), status::malformed);
  EXPECT_EQ(parse_status(h + "." + p + "." + s + " "), status::malformed);
  EXPECT_EQ(parse_status(h + "." + p + "." + "ab+/"), status::malformed);
}

}  // namespace
