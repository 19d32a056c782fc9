// Route matching: exact paths, segment-aware prefixes, methods, hosts, order.

#include <gtest/gtest.h>

#include "jwtgate/routing/route_table.h"

namespace jwtgate::routing {
namespace {

route_matcher exact(std::string p) { return {std::move(p), {}, {}, {}}; }
route_matcher prefix(std::string p) { return {{}, std::move(p), {}, {}}; }

TEST(prefix_matches, is_segment_aware) {
  EXPECT_TRUE(prefix_matches("/admin", "/admin"));
  EXPECT_TRUE(prefix_matches("/admin", "/admin/"));
  EXPECT_TRUE(prefix_matches("/admin", "/admin/x/y"));
  EXPECT_FALSE(prefix_matches("/admin", "/administrator"));
  EXPECT_FALSE(prefix_matches("/admin", "/adm"));
  EXPECT_FALSE(prefix_matches("/admin", "/"));
  EXPECT_FALSE(prefix_matches("/admin", "/x/admin"));
}

TEST(prefix_matches, is_case_sensitive) {
  EXPECT_FALSE(prefix_matches("/admin", "/Admin"));
  EXPECT_FALSE(prefix_matches("/admin", "/ADMIN/x"));
}

TEST(prefix_matches, root_matches_everything) {
  EXPECT_TRUE(prefix_matches("/", "/"));
  EXPECT_TRUE(prefix_matches("/", "/anything/at/all"));
}

TEST(prefix_matches, trailing_slash_prefix_names_the_same_subtree) {
  EXPECT_TRUE(prefix_matches("/api/", "/api/"));
  EXPECT_TRUE(prefix_matches("/api/", "/api/x"));
  EXPECT_TRUE(prefix_matches("/api/", "/api"));
  EXPECT_FALSE(prefix_matches("/api/", "/apix"));
}

TEST(host_without_port, strips_ports_and_brackets) {
  EXPECT_EQ(host_without_port("example.com"), "example.com");
  EXPECT_EQ(host_without_port("example.com:8080"), "example.com");
  EXPECT_EQ(host_without_port("[::1]:8080"), "::1");
  EXPECT_EQ(host_without_port("[::1]"), "::1");
  EXPECT_EQ(host_without_port("::1"), "::1");
  EXPECT_EQ(host_without_port("example.com."), "example.com");
  EXPECT_EQ(host_without_port("example.com:abc"), "example.com:abc");
}

TEST(host_matches, is_case_insensitive_and_ignores_ports) {
  EXPECT_TRUE(host_matches("api.example.com", "API.Example.COM"));
  EXPECT_TRUE(host_matches("api.example.com", "api.example.com:8443"));
  EXPECT_TRUE(host_matches("[::1]", "[::1]:8080"));
  EXPECT_TRUE(host_matches("::1", "[::1]:8080"));
  EXPECT_FALSE(host_matches("api.example.com", "evil.example.com"));
  EXPECT_FALSE(host_matches("api.example.com", "api.example.com.evil.org"));
  EXPECT_FALSE(host_matches("api.example.com", ""));
  EXPECT_FALSE(host_matches("api.example.com", "[api.example.com"));
}

TEST(route_table, first_match_in_order_wins) {
  route_table t({exact("/healthz"), prefix("/admin"), prefix("/")});
  EXPECT_EQ(t.match("GET", "/healthz", "h"), 0u);
  EXPECT_EQ(t.match("GET", "/healthz/", "h"), 2u);  // exact means exact
  EXPECT_EQ(t.match("GET", "/admin/users", "h"), 1u);
  EXPECT_EQ(t.match("GET", "/administrator", "h"), 2u);
  EXPECT_EQ(t.match("GET", "/", "h"), 2u);
  EXPECT_EQ(t.size(), 3u);
}

TEST(route_table, no_match_is_nullopt) {
  route_table t({exact("/a"), prefix("/b")});
  EXPECT_FALSE(t.match("GET", "/c", "h").has_value());
  EXPECT_FALSE(t.match("GET", "/bc", "h").has_value());
  EXPECT_FALSE(route_table{}.match("GET", "/", "h").has_value());
}

TEST(route_table, methods_are_exact_and_case_sensitive) {
  route_matcher m = prefix("/admin");
  m.methods = {"GET", "POST"};
  route_table t({m, prefix("/")});
  EXPECT_EQ(t.match("GET", "/admin", ""), 0u);
  EXPECT_EQ(t.match("POST", "/admin", ""), 0u);
  EXPECT_EQ(t.match("get", "/admin", ""), 1u);
  EXPECT_EQ(t.match("DELETE", "/admin", ""), 1u);
  EXPECT_EQ(t.match("GETX", "/admin", ""), 1u);
}

TEST(route_table, host_restricts_a_route) {
  route_matcher m = prefix("/");
  m.host = "api.example.com";
  route_table t({m, exact("/x")});
  EXPECT_EQ(t.match("GET", "/x", "api.example.com"), 0u);
  EXPECT_EQ(t.match("GET", "/x", "Api.Example.Com:80"), 0u);
  EXPECT_EQ(t.match("GET", "/x", "other.example.com"), 1u);
  EXPECT_EQ(t.match("GET", "/x", ""), 1u);
  EXPECT_FALSE(t.match("GET", "/y", "other.example.com").has_value());
}

TEST(route_table, ipv6_host_route) {
  route_matcher m = exact("/v6");
  m.host = "[::1]";
  route_table t({m});
  EXPECT_EQ(t.match("GET", "/v6", "[::1]:8080"), 0u);
  EXPECT_EQ(t.match("GET", "/v6", "[::1]"), 0u);
  EXPECT_FALSE(t.match("GET", "/v6", "[::2]:8080").has_value());
}

TEST(route_table, exact_path_is_case_sensitive) {
  route_table t({exact("/Health")});
  EXPECT_EQ(t.match("GET", "/Health", ""), 0u);
  EXPECT_FALSE(t.match("GET", "/health", "").has_value());
}

}  // namespace
}  // namespace jwtgate::routing
