#include <gtest/gtest.h>

#include "jwtgate/config/units.h"

namespace jwtgate::config {
namespace {

duration parse_ok(std::string_view text) {
  duration d{};
  std::string error;
  EXPECT_TRUE(parse_duration(text, d, error)) << text << ": " << error;
  return d;
}

std::string parse_fails(std::string_view text) {
  duration d{};
  std::string error;
  EXPECT_FALSE(parse_duration(text, d, error)) << text;
  EXPECT_FALSE(error.empty());
  return error;
}

TEST(Duration, SingleUnits) {
  EXPECT_EQ(parse_ok("250ms"), duration(250));
  EXPECT_EQ(parse_ok("10s"), std::chrono::seconds(10));
  EXPECT_EQ(parse_ok("5m"), std::chrono::minutes(5));
  EXPECT_EQ(parse_ok("24h"), std::chrono::hours(24));
  EXPECT_EQ(parse_ok("0s"), duration(0));
  EXPECT_EQ(parse_ok("0ms"), duration(0));
}

TEST(Duration, BareIntegerIsSeconds) {
  EXPECT_EQ(parse_ok("30"), std::chrono::seconds(30));
  EXPECT_EQ(parse_ok("0"), duration(0));
  EXPECT_EQ(parse_ok("007"), std::chrono::seconds(7));
}

TEST(Duration, CompoundFormsInDecreasingUnitOrder) {
  EXPECT_EQ(parse_ok("1h30m"), std::chrono::minutes(90));
  EXPECT_EQ(parse_ok("1m30s"), std::chrono::seconds(90));
  EXPECT_EQ(parse_ok("2s500ms"), duration(2500));
  EXPECT_EQ(parse_ok("1h1m1s1ms"), duration(3'661'001));
}

TEST(Duration, RefusesGarbage) {
  for (std::string_view bad : {"", "s", "10x", "10 s", " 10s", "10s ", "1.5s", "+5s", "5S", "1d", "10sec",
                               "1m1h", "1s1s", "30s1m", "1m30", "ms", "0x10", "1e3", "5mm", "h1"})
    parse_fails(bad);
}

TEST(Duration, RefusesNegative) {
  EXPECT_NE(parse_fails("-5s").find("negative"), std::string::npos);
  EXPECT_NE(parse_fails("-1").find("negative"), std::string::npos);
}

TEST(Duration, RefusesOverflowAndHugeValues) {
  EXPECT_NE(parse_fails("99999999999999999999999s").find("too large"), std::string::npos);
  EXPECT_NE(parse_fails("87601h").find("too large"), std::string::npos);
  EXPECT_NE(parse_fails("315360000001").find("too large"), std::string::npos);
  EXPECT_EQ(parse_ok("87600h"), max_duration);
}

TEST(Duration, FormatsShortestExactForm) {
  EXPECT_EQ(format_duration(duration(0)), "0s");
  EXPECT_EQ(format_duration(duration(250)), "250ms");
  EXPECT_EQ(format_duration(std::chrono::minutes(90)), "1h30m");
  EXPECT_EQ(format_duration(duration(2500)), "2s500ms");
  EXPECT_EQ(format_duration(std::chrono::hours(24)), "24h");
}

TEST(Size, AcceptsNonNegativeIntegers) {
  std::uint64_t v = 1;
  std::string error;
  EXPECT_TRUE(parse_size("0", 100, v, error));
  EXPECT_EQ(v, 0u);
  EXPECT_TRUE(parse_size("16384", UINT64_MAX, v, error));
  EXPECT_EQ(v, 16384u);
  EXPECT_TRUE(parse_size("18446744073709551615", UINT64_MAX, v, error));
  EXPECT_EQ(v, UINT64_MAX);
}

TEST(Size, RefusesNegativeGarbageAndOverflow) {
  std::uint64_t v = 7;
  std::string error;
  EXPECT_FALSE(parse_size("-1", 100, v, error));
  EXPECT_NE(error.find("negative"), std::string::npos);
  for (std::string_view bad : {"", "1k", "1.5", "+1", " 1", "0x10", "1e3", "abc"}) {
    EXPECT_FALSE(parse_size(bad, UINT64_MAX, v, error)) << bad;
  }
  EXPECT_FALSE(parse_size("18446744073709551616", UINT64_MAX, v, error));
  EXPECT_NE(error.find("too large"), std::string::npos);
  EXPECT_FALSE(parse_size("101", 100, v, error));
  EXPECT_EQ(v, 7u) << "a refused value leaves the output untouched";
}

}  // namespace
}  // namespace jwtgate::config
