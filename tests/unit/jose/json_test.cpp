#include <gtest/gtest.h>

#include <boost/json/value.hpp>

#include "jwtgate/jose/json.h"

namespace {

using jwtgate::jose::claim_text;
using jwtgate::jose::parse_json_object;

bool parses(std::string_view text) {
  boost::json::object out;
  std::string error;
  return parse_json_object(text, out, error);
}

TEST(StrictJson, ParsesAnObject) {
  boost::json::object out;
  std::string error;
  ASSERT_TRUE(parse_json_object(R"( {"a": 1, "b": [true, null, "x"], "c": {"d": 2.5}} )", out, error)) << error;
  EXPECT_EQ(out.at("a").as_int64(), 1);
  EXPECT_EQ(out.at("b").as_array().size(), 3u);
  EXPECT_DOUBLE_EQ(out.at("c").at("d").as_double(), 2.5);
}

TEST(StrictJson, RefusesDuplicateNamesAtTheTop) {
  boost::json::object out;
  std::string error;
  EXPECT_FALSE(parse_json_object(R"({"alg":"HS256","alg":"none"})", out, error));
  EXPECT_NE(error.find("duplicate"), std::string::npos);
}

TEST(StrictJson, RefusesDuplicateNamesNestedInObjectsAndArrays) {
  EXPECT_FALSE(parses(R"({"a":{"b":1,"b":2}})"));
  EXPECT_FALSE(parses(R"({"a":[{"x":1},{"y":1,"y":1}]})"));
  EXPECT_FALSE(parses(R"({"a":{"deep":{"deeper":{"k":1,"k":{"z":1}}}}})"));
  // A duplicate whose dropped value is itself a large object still counts.
  EXPECT_FALSE(parses(R"({"a":{"p":1,"q":2},"a":3})"));
  EXPECT_FALSE(parses(R"({"a":3,"a":{"p":1,"q":2}})"));
}

TEST(StrictJson, SameNameInDifferentObjectsIsFine) {
  EXPECT_TRUE(parses(R"({"a":{"x":1},"b":{"x":1},"x":[{"x":2},{"x":3}]})"));
}

TEST(StrictJson, EscapedSpellingsOfOneNameAreDuplicates) {
  EXPECT_FALSE(parses(R"({"alg":"HS256","\u0061lg":"none"})"));
}

TEST(StrictJson, RefusesNonObjectsTrailingDataAndSyntaxErrors) {
  for (const char* bad : {"[]", "1", "\"s\"", "null", "true", "", "   ", "{} {}", "{}x", "{\"a\":1,}",
                          "{'a':1}", "{\"a\":NaN}", "{\"a\":1}/*c*/", "{\"a\":01}", "{\"a\":\"\x01\"}"})
    EXPECT_FALSE(parses(bad)) << bad;
  EXPECT_TRUE(parses("{}\n"));
}

TEST(StrictJson, RefusesInvalidUtf8) {
  EXPECT_FALSE(parses("{\"a\":\"\xff\"}"));
  EXPECT_FALSE(parses("{\"a\":\"\xc0\xaf\"}"));      // overlong '/'
  EXPECT_FALSE(parses("{\"a\":\"\xed\xa0\x80\"}"));  // UTF-16 surrogate
  EXPECT_TRUE(parses("{\"a\":\"\xc3\xa9\"}"));
}

TEST(StrictJson, LimitsNesting) {
  std::string ok = "{\"a\":", deep = "{\"a\":";
  for (int i = 0; i < 20; ++i) ok += "[";
  ok += "1";
  for (int i = 0; i < 20; ++i) ok += "]";
  ok += "}";
  EXPECT_TRUE(parses(ok));
  for (int i = 0; i < 100; ++i) deep += "[";
  deep += "1";
  for (int i = 0; i < 100; ++i) deep += "]";
  deep += "}";
  EXPECT_FALSE(parses(deep));
}

TEST(ClaimText, ScalarsAsTheirJsonText) {
  EXPECT_EQ(claim_text(boost::json::value("x y")), "x y");
  EXPECT_EQ(claim_text(boost::json::value(42)), "42");
  EXPECT_EQ(claim_text(boost::json::value(-7)), "-7");
  EXPECT_EQ(claim_text(boost::json::value(18446744073709551615ull)), "18446744073709551615");
  EXPECT_EQ(claim_text(boost::json::value(1700000000.0)), "1700000000");
  EXPECT_EQ(claim_text(boost::json::value(1.5)), "1.5");
  EXPECT_EQ(claim_text(boost::json::value(true)), "true");
  EXPECT_EQ(claim_text(boost::json::value(nullptr)), "null");
  EXPECT_EQ(claim_text(boost::json::value{{"a", 1}}), R"({"a":1})");
}

}  // namespace
