// Parsing of one revocation entry: every kind, the defaults, and a clear
// refusal for every malformed shape.

#include <gtest/gtest.h>

#include "jwtgate/revocation/entry.h"

namespace jwtgate::revocation {
namespace {

constexpr std::int64_t now = 1'700'000'000;
const parse_defaults defaults{now, 3600};

entry parsed(std::string_view json) {
  entry e;
  std::string error;
  EXPECT_TRUE(parse_entry(json, defaults, e, error)) << json << ": " << error;
  return e;
}

std::string refusal(std::string_view json) {
  entry e;
  std::string error;
  EXPECT_FALSE(parse_entry(json, defaults, e, error)) << json;
  EXPECT_FALSE(error.empty()) << json;
  return error;
}

TEST(Entry, JtiWithDefaults) {
  auto e = parsed(R"({"jti":"abc"})");
  EXPECT_EQ(e.type, kind::jti);
  EXPECT_EQ(e.value, "abc");
  EXPECT_EQ(e.iss, "");
  EXPECT_EQ(e.exp, now + 3600);
}

TEST(Entry, SubBeforeDefaultsToNow) {
  auto e = parsed(R"({"sub":"alice"})");
  EXPECT_EQ(e.type, kind::sub);
  EXPECT_EQ(e.before, now);
  auto f = parsed(R"({"sub":"alice","before":1600000000,"iss":"https://id","exp":1800000000})");
  EXPECT_EQ(f.before, 1600000000);
  EXPECT_EQ(f.iss, "https://id");
  EXPECT_EQ(f.exp, 1800000000);
}

TEST(Entry, SidAndIntegralDoubles) {
  auto e = parsed(R"({"sid":"s-1","exp":1.8e9})");
  EXPECT_EQ(e.type, kind::sid);
  EXPECT_EQ(e.exp, 1800000000);
}

TEST(Entry, CanonicalJsonRoundTrips) {
  auto e = parsed(R"({"iss":"i","sub":"bob","exp":1800000000,"before":5})");
  EXPECT_EQ(to_json(e), R"({"sub":"bob","before":5,"iss":"i","exp":1800000000})");
  auto back = parsed(to_json(e));
  EXPECT_TRUE(back.same_identity(e));
  EXPECT_EQ(back.before, 5);
  EXPECT_EQ(back.exp, e.exp);
}

TEST(Entry, Refusals) {
  EXPECT_NE(refusal("").find("JSON"), std::string::npos);
  EXPECT_NE(refusal("[]").find("JSON"), std::string::npos);
  EXPECT_NE(refusal("{}").find("one of"), std::string::npos);
  EXPECT_NE(refusal(R"({"jti":"a","sub":"b"})").find("exactly one"), std::string::npos);
  EXPECT_NE(refusal(R"({"jti":"a","jti":"b"})").find("JSON"), std::string::npos);  // duplicate member
  EXPECT_NE(refusal(R"({"jti":""})").find("empty"), std::string::npos);
  EXPECT_NE(refusal(R"({"jti":5})").find("string"), std::string::npos);
  EXPECT_NE(refusal(R"({"jti":"a","iss":""})").find("empty"), std::string::npos);
  EXPECT_NE(refusal(R"({"jti":"a","iss":null})").find("string"), std::string::npos);
  EXPECT_NE(refusal(R"({"jti":"a","before":1})").find("sub"), std::string::npos);
  EXPECT_NE(refusal(R"({"sub":"a","before":"1"})").find("unix"), std::string::npos);
  EXPECT_NE(refusal(R"({"sub":"a","before":-1})").find("unix"), std::string::npos);
  EXPECT_NE(refusal(R"({"jti":"a","exp":1.5e9})").find("future"), std::string::npos);
  EXPECT_NE(refusal(R"({"jti":"a","exp":1700000000.5})").find("unix"), std::string::npos);
  EXPECT_NE(refusal(R"({"jti":"a","exp":1e300})").find("unix"), std::string::npos);
  EXPECT_NE(refusal(R"({"jti":"a","exp":1700000000})").find("future"), std::string::npos);
  EXPECT_NE(refusal(R"({"jti":"a","sid2":"x"})").find("unknown member"), std::string::npos);
  EXPECT_NE(refusal(R"({"jti":"a"} x)").find("JSON"), std::string::npos);
  EXPECT_NE(refusal("{\"jti\":\"" + std::string(1025, 'x') + "\"}").find("longer"), std::string::npos);
}

TEST(Entry, ValuesAreExactBytes) {
  auto e = parsed(R"({"jti":"a\u0000b"})");
  EXPECT_EQ(e.value, std::string("a\0b", 3));
}

}  // namespace
}  // namespace jwtgate::revocation
