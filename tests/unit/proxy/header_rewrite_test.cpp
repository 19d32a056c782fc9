#include "jwtgate/proxy/header_rewrite.h"

#include <gtest/gtest.h>

namespace jwtgate::proxy {
namespace {

TEST(ListHasToken, FindsTokensCaseInsensitivelyIgnoringSpaces) {
  EXPECT_TRUE(list_has_token("keep-alive, Upgrade", "upgrade"));
  EXPECT_TRUE(list_has_token("  close ", "close"));
  EXPECT_FALSE(list_has_token("keep-alive", "alive"));
  EXPECT_FALSE(list_has_token("", "close"));
  EXPECT_TRUE(list_has_token("a,,X-Secret", "x-secret"));
}

TEST(HopByHop, KnowsTheStandardFieldsInAnyCase) {
  for (auto name : {"Connection", "keep-alive", "TE", "Transfer-Encoding", "Upgrade",
                    "Proxy-Authorization", "Proxy-Connection", "Trailer"})
    EXPECT_TRUE(is_hop_by_hop(name)) << name;
  for (auto name : {"Host", "Content-Length", "Authorization", "X-Forwarded-For", "Cookie"})
    EXPECT_FALSE(is_hop_by_hop(name)) << name;
}

TEST(ResponseFields, StripsFieldsNamedByConnection) {
  EXPECT_TRUE(must_strip_response_field("X-Internal", "close, x-internal"));
  EXPECT_TRUE(must_strip_response_field("Keep-Alive", ""));
  EXPECT_FALSE(must_strip_response_field("Content-Type", "close"));
}

TEST(ForwardedFor, AppendsToAnExistingValue) {
  EXPECT_EQ(append_forwarded_for(std::nullopt, "10.0.0.1"), "10.0.0.1");
  EXPECT_EQ(append_forwarded_for("203.0.113.5", "10.0.0.1"), "203.0.113.5, 10.0.0.1");
  EXPECT_EQ(append_forwarded_for("a, b ", "::1"), "a, b, ::1");
  EXPECT_EQ(append_forwarded_for("   ", "127.0.0.1"), "127.0.0.1");
}

TEST(AbsoluteForm, ExtractsTheAuthority) {
  EXPECT_EQ(absolute_form_authority("http://api.example.com:8080/x?y"), "api.example.com:8080");
  EXPECT_EQ(absolute_form_authority("HTTPS://h?q"), "h");
  EXPECT_EQ(absolute_form_authority("http://h"), "h");
  EXPECT_EQ(absolute_form_authority("/origin/form"), "");
  EXPECT_EQ(absolute_form_authority("ftp://h/"), "");
}

}  // namespace
}  // namespace jwtgate::proxy

namespace jwtgate::proxy {
namespace {

TEST(SafeValues, RefuseLineBreaksAndControls) {
  EXPECT_TRUE(is_safe_field_value("alice"));
  EXPECT_TRUE(is_safe_field_value("a\tb, c"));
  EXPECT_TRUE(is_safe_field_value(""));
  EXPECT_FALSE(is_safe_field_value("a\r\nX-Admin: 1"));
  EXPECT_FALSE(is_safe_field_value("a\nb"));
  EXPECT_FALSE(is_safe_field_value(std::string_view("a\0b", 3)));
  EXPECT_FALSE(is_safe_field_value("\x7f"));
}

TEST(SafeTargets, RefuseWhitespaceAndControls) {
  EXPECT_TRUE(is_safe_target("/a/b?x=1"));
  EXPECT_FALSE(is_safe_target(""));
  EXPECT_FALSE(is_safe_target("/a b"));
  EXPECT_FALSE(is_safe_target("/a\r\nGET /admin HTTP/1.1"));
  EXPECT_FALSE(is_safe_target(std::string_view("/a\0", 3)));
}

}  // namespace
}  // namespace jwtgate::proxy
