// Token extraction from headers, cookies and query parameters.

#include <gtest/gtest.h>

#include "jwtgate/auth/extract.h"
#include "test_support.h"

namespace jwtgate::auth {
namespace {

using testing::fake_headers;
using kind = config::token_source::kind;
using outcome = extraction::outcome;

const config::token_source bearer{kind::header, "Authorization", "Bearer "};
const config::token_source cookie{kind::cookie, "access_token", ""};
const config::token_source query{kind::query, "access_token", ""};
const config::token_source custom{kind::header, "X-Token", ""};

TEST(extract_header, bearer_prefix_is_case_insensitive) {
  for (const char* v : {"Bearer abc", "bearer abc", "BEARER abc", "Bearer    abc", "Bearer abc  "}) {
    fake_headers h{{"Authorization", v}};
    extraction ex = extract_from(bearer, h, "");
    EXPECT_EQ(ex.result, outcome::found) << v;
    EXPECT_EQ(ex.token, "abc") << v;
    EXPECT_EQ(ex.source, &bearer);
  }
}

TEST(extract_header, other_schemes_yield_nothing) {
  for (const char* v : {"Basic abc", "Bearerabc", "Token abc", "", "Beare abc"}) {
    fake_headers h{{"Authorization", v}};
    EXPECT_EQ(extract_from(bearer, h, "").result, outcome::none) << v;
  }
}

TEST(extract_header, empty_credential_is_found_empty) {
  fake_headers h{{"Authorization", "Bearer"}};
  extraction ex = extract_from(bearer, h, "");
  EXPECT_EQ(ex.result, outcome::found);
  EXPECT_EQ(ex.token, "");
}

TEST(extract_header, repeated_field_is_ambiguous) {
  fake_headers h{{"Authorization", "Bearer a"}, {"authorization", "Bearer a"}};
  EXPECT_EQ(extract_from(bearer, h, "").result, outcome::ambiguous);
}

TEST(extract_header, header_without_prefix_takes_the_whole_value) {
  fake_headers h{{"x-token", "  tok  "}};
  extraction ex = extract_from(custom, h, "");
  EXPECT_EQ(ex.result, outcome::found);
  EXPECT_EQ(ex.token, "tok");
}

TEST(extract_cookie, finds_the_exact_name_across_cookie_fields) {
  fake_headers h{{"Cookie", "a=1; access_token_x=no"}, {"Cookie", "b=2;access_token=tok ; c=3"}};
  extraction ex = extract_from(cookie, h, "");
  EXPECT_EQ(ex.result, outcome::found);
  EXPECT_EQ(ex.token, "tok");
}

TEST(extract_cookie, name_is_case_sensitive_and_quotes_are_stripped) {
  fake_headers h{{"Cookie", "Access_Token=no"}};
  EXPECT_EQ(extract_from(cookie, h, "").result, outcome::none);
  fake_headers q{{"Cookie", "access_token=\"tok\""}};
  EXPECT_EQ(extract_from(cookie, q, "").token, "tok");
}

TEST(extract_cookie, two_different_values_are_ambiguous_same_value_is_not) {
  fake_headers h{{"Cookie", "access_token=a; access_token=b"}};
  EXPECT_EQ(extract_from(cookie, h, "").result, outcome::ambiguous);
  fake_headers same{{"Cookie", "access_token=a"}, {"Cookie", "access_token=a"}};
  EXPECT_EQ(extract_from(cookie, same, "").result, outcome::found);
}

TEST(extract_query, exact_name_and_decoded_value) {
  fake_headers none;
  extraction ex = extract_from(query, none, "x=1&access_token=a%2Eb%2ec&y=2");
  EXPECT_EQ(ex.result, outcome::found);
  EXPECT_EQ(ex.token, "a.b.c");
  EXPECT_EQ(extract_from(query, none, "access_tokenx=1&xaccess_token=2").result, outcome::none);
  EXPECT_EQ(extract_from(query, none, "").result, outcome::none);
}

TEST(extract_query, undecodable_value_stays_raw) {
  fake_headers none;
  extraction ex = extract_from(query, none, "access_token=a%zz");
  EXPECT_EQ(ex.result, outcome::found);
  EXPECT_EQ(ex.token, "a%zz");
}

TEST(extract_query, repeated_parameter_is_ambiguous) {
  fake_headers none;
  EXPECT_EQ(extract_from(query, none, "access_token=a&access_token=b").result, outcome::ambiguous);
}

TEST(extract_token, first_source_with_a_token_wins) {
  std::vector<config::token_source> sources{bearer, cookie, query};
  fake_headers h{{"Authorization", "Basic zzz"}, {"Cookie", "access_token=from-cookie"}};
  extraction ex = extract_token(sources, h, "access_token=from-query");
  EXPECT_EQ(ex.token, "from-cookie");
  EXPECT_EQ(ex.source, &sources[1]);
  fake_headers none;
  EXPECT_EQ(extract_token(sources, none, "access_token=q").token, "q");
  EXPECT_EQ(extract_token(sources, none, "").result, outcome::none);
}

TEST(remove_query_params, keeps_everything_else_byte_for_byte) {
  std::vector<std::string> names{"access_token"};
  EXPECT_EQ(remove_query_params("a=1&access_token=x&b=%2F&&c", names), "a=1&b=%2F&&c");
  EXPECT_EQ(remove_query_params("access_token=x", names), "");
  EXPECT_EQ(remove_query_params("a=%zz&b", names), "a=%zz&b");
  EXPECT_EQ(remove_query_params("access%5ftoken=x&z", names), "z");
}

TEST(remove_cookies, rewrites_only_when_something_is_removed) {
  std::vector<std::string> names{"access_token"};
  fake_headers h{{"Cookie", "a=1; access_token=x"}, {"Cookie", "b=2"}};
  EXPECT_EQ(remove_cookies(h, names), std::optional<std::string>("a=1; b=2"));
  fake_headers untouched{{"Cookie", "a=1"}};
  EXPECT_FALSE(remove_cookies(untouched, names).has_value());
}

TEST(percent_decode, rejects_invalid_escapes) {
  std::string out;
  EXPECT_TRUE(percent_decode("a%41%2f", out));
  EXPECT_EQ(out, "aA/");
  EXPECT_FALSE(percent_decode("%", out));
  EXPECT_FALSE(percent_decode("%4", out));
  EXPECT_FALSE(percent_decode("%g0", out));
}

TEST(same_source, compares_header_names_case_insensitively) {
  config::token_source lower{kind::header, "authorization", "bearer "};
  EXPECT_TRUE(same_source(bearer, lower));
  EXPECT_FALSE(same_source(bearer, cookie));
  EXPECT_FALSE(same_source(cookie, query));
}

}  // namespace
}  // namespace jwtgate::auth
