// Back-channel logout tokens: the form field, every check of SPEC 8, and the
// entry each valid token asks for.

#include <gtest/gtest.h>

#include "jwtgate/auth/logout_token.h"
#include "test_support.h"

namespace jwtgate::auth {
namespace {

using namespace testing;

constexpr std::string_view event = "http://schemas.openid.net/event/backchannel-logout";

class logout_token_test : public ::testing::Test {
 protected:
  void SetUp() override {
    config::config c;
    auto corp = provider_cfg("corp", "https://id.example.com");
    corp.backchannel_logout = config::backchannel_logout_config{"/bcl", {"web"}, {}};
    c.providers.push_back(corp);
    snap_ = build_snapshot(std::move(c), {hmac_store(secret_a)});
  }

  boost::json::object claims() const {
    boost::json::object events;
    events[event] = boost::json::object();
    return {{"iss", "https://id.example.com"}, {"aud", "web"}, {"iat", now - 5}, {"jti", "logout-1"},
            {"events", events}, {"sub", "alice"}};
  }

  bool verify(const boost::json::object& payload, logout_request& out, std::string& error,
              const std::string& secret = secret_a) {
    return verify_logout_token(snap_->providers[0], hs256(secret, payload), now, 3600, out, error);
  }

  std::string refusal(boost::json::object payload, const std::string& secret = secret_a) {
    logout_request out;
    std::string error;
    EXPECT_FALSE(verify(payload, out, error, secret));
    EXPECT_FALSE(error.empty());
    return error;
  }

  std::unique_ptr<config::snapshot> snap_;
};

TEST_F(logout_token_test, SubTokenGivesSubEntryBeforeNow) {
  logout_request out;
  std::string error;
  ASSERT_TRUE(verify(claims(), out, error)) << error;
  EXPECT_EQ(out.entry.type, revocation::kind::sub);
  EXPECT_EQ(out.entry.value, "alice");
  EXPECT_EQ(out.entry.iss, "https://id.example.com");
  EXPECT_EQ(out.entry.before, now);
  EXPECT_EQ(out.entry.exp, now + 3600);
  EXPECT_EQ(out.replay_key, "https://id.example.com\nlogout-1");
  EXPECT_GT(out.replay_until, now + logout_token_max_age);
}

TEST_F(logout_token_test, SidWinsOverSub) {
  auto c = claims();
  c["sid"] = "session-9";
  c["aud"] = boost::json::array{"other", "web"};
  logout_request out;
  std::string error;
  ASSERT_TRUE(verify(c, out, error)) << error;
  EXPECT_EQ(out.entry.type, revocation::kind::sid);
  EXPECT_EQ(out.entry.value, "session-9");
}

TEST_F(logout_token_test, EveryRefusal) {
  EXPECT_NE(refusal(claims(), secret_b).find("signature"), std::string::npos);
  auto c = claims(); c["iss"] = "https://evil";
  EXPECT_NE(refusal(c).find("iss"), std::string::npos);
  c = claims(); c.erase("iss");
  EXPECT_NE(refusal(c).find("iss"), std::string::npos);
  c = claims(); c["iss"] = 5;
  EXPECT_NE(refusal(c).find("iss"), std::string::npos);
  c = claims(); c["aud"] = "api";
  EXPECT_NE(refusal(c).find("aud"), std::string::npos);
  c = claims(); c["aud"] = boost::json::array{1, 2};
  EXPECT_NE(refusal(c).find("aud"), std::string::npos);
  c = claims(); c.erase("iat");
  EXPECT_NE(refusal(c).find("iat"), std::string::npos);
  c = claims(); c["iat"] = now + 61;
  EXPECT_NE(refusal(c).find("future"), std::string::npos);
  c = claims(); c["iat"] = now - 301;
  EXPECT_NE(refusal(c).find("older"), std::string::npos);
  c = claims(); c["exp"] = now - 61;
  EXPECT_NE(refusal(c).find("expired"), std::string::npos);
  c = claims(); c.erase("events");
  EXPECT_NE(refusal(c).find("events"), std::string::npos);
  c = claims(); c["events"] = boost::json::object{{"x", boost::json::object()}};
  EXPECT_NE(refusal(c).find("events"), std::string::npos);
  c = claims(); c["events"] = boost::json::object{{event, "yes"}};
  EXPECT_NE(refusal(c).find("events"), std::string::npos);
  c = claims(); c["nonce"] = "n";
  EXPECT_NE(refusal(c).find("nonce"), std::string::npos);
  c = claims(); c.erase("jti");
  EXPECT_NE(refusal(c).find("jti"), std::string::npos);
  c = claims(); c["jti"] = "";
  EXPECT_NE(refusal(c).find("jti"), std::string::npos);
  c = claims(); c.erase("sub");
  EXPECT_NE(refusal(c).find("neither"), std::string::npos);
  c = claims(); c["sub"] = 42;
  EXPECT_NE(refusal(c).find("neither"), std::string::npos);
  // Within clock_skew of now is accepted.
  c = claims(); c["iat"] = now + 60;
  logout_request out;
  std::string error;
  EXPECT_TRUE(verify(c, out, error)) << error;
}

TEST(LogoutForm, FindsTheField) {
  std::string token, error;
  ASSERT_TRUE(logout_token_from_form("logout_token=a.b.c", token, error)) << error;
  EXPECT_EQ(token, "a.b.c");
  token.clear();
  ASSERT_TRUE(logout_token_from_form("x=1&logout_token=a%2Eb.c&y", token, error)) << error;
  EXPECT_EQ(token, "a.b.c");
  token.clear();
  EXPECT_FALSE(logout_token_from_form("", token, error));
  EXPECT_FALSE(logout_token_from_form("logout_token=", token, error));
  EXPECT_FALSE(logout_token_from_form("token=a.b.c", token, error));
  EXPECT_FALSE(logout_token_from_form("logout_token=a&logout_token=b", token, error));
  EXPECT_FALSE(logout_token_from_form("logout_token=%zz", token, error));
}

TEST(LogoutForm, StopsAtTheEndOfTheBody) {
  // The body is a view into a larger, reused buffer: nothing past it may leak in.
  std::string buffer = "logout_token=a.b.c" + std::string("zzzz=1&more=2") + std::string(1, '\0');
  std::string token, error;
  ASSERT_TRUE(logout_token_from_form(std::string_view(buffer.data(), 18), token, error)) << error;
  EXPECT_EQ(token, "a.b.c");
}

}  // namespace
}  // namespace jwtgate::auth
