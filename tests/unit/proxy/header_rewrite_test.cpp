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

namespace jwtgate::proxy {
namespace {

target_host classify(std::string_view target, std::string_view& authority) {
  return classify_target_host(target, authority);
}

TEST(TargetHost, AbsoluteFormNamesTheHostByItsAuthority) {
  std::string_view a;
  EXPECT_EQ(classify("http://other.example.com/x", a), target_host::absolute);
  EXPECT_EQ(a, "other.example.com");
  EXPECT_EQ(classify("HTTPS://api.example.com:8443?q=1", a), target_host::absolute);
  EXPECT_EQ(a, "api.example.com:8443");
  EXPECT_EQ(classify("http://[::1]:8080/x", a), target_host::absolute);
  EXPECT_EQ(a, "[::1]:8080");
  EXPECT_EQ(classify("http://h#frag", a), target_host::absolute);
  EXPECT_EQ(a, "h");
}

TEST(TargetHost, OriginFormLeavesTheHostToTheHostHeader) {
  std::string_view a = "stale";
  EXPECT_EQ(classify("/x/y?z", a), target_host::origin);
  EXPECT_EQ(a, "");
  EXPECT_EQ(classify("*", a), target_host::origin);
  EXPECT_EQ(classify("", a), target_host::origin);
  EXPECT_EQ(classify("x/y", a), target_host::origin);  // no scheme: path normalization judges it
}

TEST(TargetHost, RefusesUserinfoEmptyAuthorityAndOtherSchemes) {
  std::string_view a;
  for (std::string_view t : {"http://api.example.com@other.example.com/x", "http://user:pw@h/",
                             "http:///x", "http://", "http://?q", "http:/x", "http:x",
                             "ftp://h/x", "ws://h/x", "file:///etc/passwd", "h:443",
                             "http://h\"x/", "http://h<x>/", "http://h\\x/"}) {
    EXPECT_EQ(classify(t, a), target_host::invalid) << t;
    EXPECT_EQ(a, "") << t;
  }
}

TEST(UpstreamHost, PortOnlyWhenNotTheDefault) {
  EXPECT_EQ(upstream_host_value("backend", 80, false), "backend");
  EXPECT_EQ(upstream_host_value("backend", 8080, false), "backend:8080");
  EXPECT_EQ(upstream_host_value("backend", 443, true), "backend");
  EXPECT_EQ(upstream_host_value("backend", 80, true), "backend:80");
  EXPECT_EQ(upstream_host_value("::1", 9000, false), "[::1]:9000");
  EXPECT_EQ(upstream_host_value("[::1]", 9000, false), "[::1]:9000");
}

TEST(WebSocketAccept, MatchesTheRfc6455Example) {
  auto a = websocket_accept("dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_EQ(std::string_view(a.data(), a.size()), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  auto b = websocket_accept("x3JJHMbDL1EzLkh9GBhXDw==");
  EXPECT_EQ(std::string_view(b.data(), b.size()), "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
}

}  // namespace
}  // namespace jwtgate::proxy
