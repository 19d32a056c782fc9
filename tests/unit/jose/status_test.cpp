#include <gtest/gtest.h>

#include "jwtgate/jose/status.h"

using jwtgate::jose::status;

TEST(Status, EveryCodeRoundTripsThroughItsName) {
  for (std::size_t i = 0; i < jwtgate::jose::status_count; ++i) {
    auto s = static_cast<status>(i);
    status back{};
    ASSERT_TRUE(jwtgate::jose::from_string(jwtgate::jose::to_string(s), back));
    EXPECT_EQ(back, s);
    EXPECT_FALSE(jwtgate::jose::describe(s).empty());
  }
}

TEST(Status, NamesAreTheSpecReasonCodes) {
  EXPECT_EQ(jwtgate::jose::to_string(status::missing_token), "missing_token");
  EXPECT_EQ(jwtgate::jose::to_string(status::keys_unavailable), "keys_unavailable");
  EXPECT_EQ(jwtgate::jose::to_string(status::insufficient_scope), "insufficient_scope");
  EXPECT_EQ(jwtgate::jose::to_string(status::type_mismatch), "type_mismatch");
  EXPECT_EQ(jwtgate::jose::to_string(status::revoked), "revoked");
  EXPECT_EQ(jwtgate::jose::to_string(status::revocation_unavailable), "revocation_unavailable");
  status out{};
  EXPECT_FALSE(jwtgate::jose::from_string("Malformed", out));
}
