// forward_token: false removes the token from every configured source.

#include <gtest/gtest.h>

#include "jwtgate/auth/decision.h"
#include "test_support.h"

namespace jwtgate::auth {
namespace {

using namespace testing;

class forward_token_test : public ::testing::Test {
 protected:
  void SetUp() override {
    config::config c;
    auto p = provider_cfg("corp");
    p.forward_token = false;
    p.token_from = {{config::token_source::kind::header, "Authorization", "Bearer "},
                    {config::token_source::kind::cookie, "access_token", ""},
                    {config::token_source::kind::query, "access_token", ""}};
    c.providers.push_back(p);
    c.routes.push_back(route_cfg("api", "/", {"corp"}));
    snap = build_snapshot(std::move(c), {hmac_store(secret_a)});
    token = hs256(secret_a, claims());
  }

  decision run(std::string_view target) {
    request_head req{"GET", target, "gw", &headers};
    return decide(*snap, req, ctx, now);
  }

  std::unique_ptr<config::snapshot> snap;
  fake_headers headers;
  thread_context ctx{0};  // cache disabled: every request verifies
  std::string token;
};

TEST_F(forward_token_test, header_token_is_removed) {
  headers.add("Authorization", "Bearer " + token);
  decision d = run("/x?a=1");
  ASSERT_EQ(d.what, decision::action::forward) << d.response.body;
  EXPECT_EQ(d.remove_headers, std::vector<std::string>{"Authorization"});
  EXPECT_FALSE(d.cookie_rewrite.has_value());  // no Cookie field to rewrite
  EXPECT_EQ(d.target, "/x?a=1");
}

TEST_F(forward_token_test, cookie_token_is_removed_other_cookies_kept) {
  headers.add("Cookie", "theme=dark; access_token=" + token + "; lang=en");
  decision d = run("/x");
  ASSERT_EQ(d.what, decision::action::forward) << d.response.body;
  ASSERT_TRUE(d.cookie_rewrite.has_value());
  EXPECT_EQ(*d.cookie_rewrite, "theme=dark; lang=en");
}

TEST_F(forward_token_test, cookie_header_dropped_when_only_the_token_was_there) {
  headers.add("Cookie", "access_token=" + token);
  decision d = run("/x");
  ASSERT_EQ(d.what, decision::action::forward);
  ASSERT_TRUE(d.cookie_rewrite.has_value());
  EXPECT_EQ(*d.cookie_rewrite, "");
}

TEST_F(forward_token_test, query_token_is_removed_from_the_target) {
  decision d = run("/x/../y?a=1&access_token=" + token + "&b=%2F");
  ASSERT_EQ(d.what, decision::action::forward) << d.response.body;
  EXPECT_EQ(d.target, "/y?a=1&b=%2F");
}

TEST_F(forward_token_test, query_made_empty_by_removal_drops_the_question_mark) {
  decision d = run("/y?access_token=" + token);
  ASSERT_EQ(d.what, decision::action::forward);
  EXPECT_EQ(d.target, "/y");
}

TEST_F(forward_token_test, encoded_parameter_name_is_removed_too) {
  decision d = run("/y?access%5Ftoken=" + token + "&k=v");
  ASSERT_EQ(d.what, decision::action::forward) << d.response.body;
  EXPECT_EQ(d.target, "/y?k=v");
}

TEST_F(forward_token_test, token_in_every_source_is_removed_from_every_source) {
  headers.add("Authorization", "Bearer " + token);
  headers.add("Cookie", "access_token=" + token);
  decision d = run("/y?access_token=" + token);
  ASSERT_EQ(d.what, decision::action::forward);
  EXPECT_EQ(d.remove_headers, std::vector<std::string>{"Authorization"});
  EXPECT_EQ(d.cookie_rewrite, std::optional<std::string>(""));
  EXPECT_EQ(d.target, "/y");
}

TEST_F(forward_token_test, repeated_query_token_with_different_values_is_400) {
  decision d = run("/y?access_token=" + token + "&access_token=other");
  EXPECT_EQ(d.response.status, 400u);
  EXPECT_EQ(d.reason, jose::status::malformed);
}

}  // namespace
}  // namespace jwtgate::auth
