// The periodic JWKS refresh gap and Cache-Control parsing (SPEC section 11).

#include "jwtgate/keys/http_fetch.h"

#include <gtest/gtest.h>

namespace jwtgate::keys {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(NextRefresh, ShorterMaxAgeShortens) {
  EXPECT_EQ(next_refresh(300s, 30s, seconds(60)), milliseconds(60s));
  EXPECT_EQ(next_refresh(300s, 30s, seconds(299)), milliseconds(299s));
  EXPECT_EQ(next_refresh(10s, 1s, seconds(3)), milliseconds(3s));
}

TEST(NextRefresh, NeverBelowMinRefreshOrOneSecond) {
  EXPECT_EQ(next_refresh(300s, 30s, seconds(5)), milliseconds(30s));
  EXPECT_EQ(next_refresh(300s, 0s, seconds(1)), milliseconds(1s));
}

TEST(NextRefresh, NeverLongerThanJwksRefresh) {
  EXPECT_EQ(next_refresh(300s, 30s, seconds(3600)), milliseconds(300s));
  EXPECT_EQ(next_refresh(300s, 30s, seconds(301)), milliseconds(300s));
  EXPECT_EQ(next_refresh(300s, 30s, seconds(std::numeric_limits<long long>::max() / 2)), milliseconds(300s));
  // jwks_min_refresh above jwks_refresh must not lengthen the gap either.
  EXPECT_EQ(next_refresh(2s, 30s, seconds(1)), milliseconds(2s));
  EXPECT_EQ(next_refresh(2500ms, 30s, seconds(3)), milliseconds(2500ms));
}

TEST(NextRefresh, NoStoreNoCacheAndZeroRefreshAtJwksRefresh) {
  for (auto cc : {"no-store", "no-cache", "max-age=0", "No-Cache, max-age=60", "private, no-store"}) {
    auto age = parse_max_age(cc);
    ASSERT_TRUE(age) << cc;
    EXPECT_EQ(next_refresh(2s, 30s, age), milliseconds(2s)) << cc;
    EXPECT_EQ(next_refresh(300s, 30s, age), milliseconds(300s)) << cc;
  }
  EXPECT_EQ(next_refresh(300s, 30s, std::nullopt), milliseconds(300s));
}

TEST(ParseMaxAge, Forms) {
  EXPECT_EQ(parse_max_age("max-age=60"), seconds(60));
  EXPECT_EQ(parse_max_age("public, MAX-AGE=\"120\""), seconds(120));
  EXPECT_EQ(parse_max_age(" max-age = 30 "), seconds(30));
  EXPECT_EQ(parse_max_age("max-age=abc"), std::nullopt);
  EXPECT_EQ(parse_max_age("max-age=-5"), std::nullopt);
  EXPECT_EQ(parse_max_age("must-revalidate"), std::nullopt);
  EXPECT_EQ(parse_max_age(""), std::nullopt);
}

}  // namespace
}  // namespace jwtgate::keys
