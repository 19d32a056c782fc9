// Origin parsing and matching, preflight checks and response fields (SPEC section 10).

#include "jwtgate/routing/cors.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace jwtgate::routing {
namespace {

bool parses(std::string_view text) {
  origin o;
  return parse_origin(text, o);
}

std::string canonical(std::string_view text) {
  origin o;
  EXPECT_TRUE(parse_origin(text, o)) << text;
  return serialize_origin(o);
}

cors_policy policy_for(std::vector<std::string> origins, bool credentials = true) {
  cors_settings s;
  s.allow_origins = std::move(origins);
  s.allow_methods = {"GET", "POST"};
  s.allow_headers = {"Authorization", "Content-Type"};
  s.expose_headers = {"X-Request-Id"};
  s.allow_credentials = credentials;
  s.max_age_seconds = 600;
  return cors_policy(std::move(s));
}

std::map<std::string, std::string> as_map(const cors_fields& f, std::size_t n) {
  std::map<std::string, std::string> m;
  for (std::size_t i = 0; i < n; ++i) m[std::string(f[i].name)] = std::string(f[i].value);
  return m;
}

TEST(CorsOrigin, AcceptsSchemeHostAndPort) {
  EXPECT_TRUE(parses("https://app.example.com"));
  EXPECT_TRUE(parses("http://127.0.0.1:8080"));
  EXPECT_TRUE(parses("http://[::1]:3000"));
  EXPECT_TRUE(parses("chrome-extension://abcdef"));
  EXPECT_TRUE(parses("http://localhost"));
}

TEST(CorsOrigin, RefusesPathsTrailingSlashAndOtherParts) {
  for (std::string_view bad : {"https://app.example.com/", "https://app.example.com/x", "https://app.example.com?q",
                               "https://app.example.com#f", "https://user@app.example.com", "app.example.com",
                               "//app.example.com", "https://", "https://:443", "https://app.example.com:",
                               "https://app.example.com:0", "https://app.example.com:65536",
                               "https://app.example.com:8o", "https://app example.com", "1http://a.b",
                               "https://[::1", "https://.example.com", "null", "*", ""}) {
    EXPECT_FALSE(parses(bad)) << bad;
  }
  origin o;
  std::string why;
  EXPECT_FALSE(parse_origin("https://a.example/", o, why));
  EXPECT_NE(why.find("trailing '/'"), std::string::npos) << why;
  EXPECT_FALSE(parse_origin("null", o, why));
  EXPECT_NE(why.find("opaque"), std::string::npos) << why;
}

TEST(CorsOrigin, SerializesAsBrowsersDo) {
  EXPECT_EQ(canonical("HTTPS://App.Example.COM"), "https://app.example.com");
  EXPECT_EQ(canonical("https://app.example.com:443"), "https://app.example.com");
  EXPECT_EQ(canonical("http://app.example.com:80"), "http://app.example.com");
  EXPECT_EQ(canonical("http://app.example.com:443"), "http://app.example.com:443");
  EXPECT_EQ(canonical("http://[::1]:3000"), "http://[::1]:3000");
}

TEST(CorsMatch, ExactSchemeHostAndPort) {
  auto p = policy_for({"https://app.example.com", "http://127.0.0.1:8080"});
  EXPECT_TRUE(p.allows_origin("https://app.example.com"));
  EXPECT_TRUE(p.allows_origin("https://app.example.com:443"));  // the same origin
  EXPECT_TRUE(p.allows_origin("http://127.0.0.1:8080"));
  EXPECT_FALSE(p.allows_origin("http://app.example.com"));       // scheme
  EXPECT_FALSE(p.allows_origin("https://app.example.com:8443"));  // port
  EXPECT_FALSE(p.allows_origin("http://127.0.0.1:8081"));
  EXPECT_FALSE(p.allows_origin("http://127.0.0.1"));
  EXPECT_FALSE(p.allows_origin("http://localhost:8080"));
}

TEST(CorsMatch, LookAlikeHostsNeverMatch) {
  auto p = policy_for({"https://app.example.com"});
  for (std::string_view bad : {"https://app.example.com.evil.test", "https://evilapp.example.com",
                               "https://app.example.co", "https://xapp.example.com", "https://app-example.com",
                               "https://app.example.com.", "https://app.example.comx",
                               "https://app.example.com@evil.test", "https://evil.test/https://app.example.com",
                               "https://app.example.com%2eevil.test", "https://sub.app.example.com"}) {
    EXPECT_FALSE(p.allows_origin(bad)) << bad;
  }
}

TEST(CorsMatch, NullTrailingSlashAndCase) {
  auto p = policy_for({"https://app.example.com"});
  EXPECT_FALSE(p.allows_origin("null"));
  EXPECT_FALSE(p.allows_origin(""));
  EXPECT_FALSE(p.allows_origin("https://app.example.com/"));
  EXPECT_FALSE(p.allows_origin(" https://app.example.com"));
  // RFC 6454: scheme and host compare case-insensitively.
  EXPECT_TRUE(p.allows_origin("HTTPS://APP.example.com"));
  auto written_upper = policy_for({"https://App.Example.com"});
  EXPECT_TRUE(written_upper.allows_origin("https://app.example.com"));
}

TEST(CorsMatch, StarAllowsEveryValidOriginButNotNull) {
  auto p = policy_for({"*"}, false);
  EXPECT_TRUE(p.allows_origin("https://anything.test"));
  EXPECT_TRUE(p.allows_origin("http://127.0.0.1:1234"));
  EXPECT_FALSE(p.allows_origin("null"));
  EXPECT_FALSE(p.allows_origin("not an origin"));
}

TEST(CorsPreflight, ChecksOriginMethodAndHeaders) {
  auto p = policy_for({"https://app.example.com"});
  const std::string_view o = "https://app.example.com";
  EXPECT_EQ(p.check_preflight(o, "POST", ""), preflight_result::allowed);
  EXPECT_EQ(p.check_preflight(o, "GET", "authorization, content-type"), preflight_result::allowed);
  EXPECT_EQ(p.check_preflight(o, "GET", "Content-Type,Authorization"), preflight_result::allowed);
  EXPECT_EQ(p.check_preflight(o, "GET", " , authorization ,"), preflight_result::allowed);
  EXPECT_EQ(p.check_preflight(o, "DELETE", ""), preflight_result::method_not_allowed);
  EXPECT_EQ(p.check_preflight(o, "post", ""), preflight_result::method_not_allowed);  // methods are case-sensitive
  EXPECT_EQ(p.check_preflight(o, "GET", "authorization, x-admin"), preflight_result::header_not_allowed);
  EXPECT_EQ(p.check_preflight("https://evil.test", "GET", ""), preflight_result::origin_not_allowed);
  EXPECT_EQ(p.check_preflight("null", "GET", ""), preflight_result::origin_not_allowed);
}

TEST(CorsPreflight, StarHeadersAllowAnyHeader) {
  cors_settings s;
  s.allow_origins = {"*"};
  s.allow_methods = {"GET"};
  s.allow_headers = {"*"};
  cors_policy p(std::move(s));
  EXPECT_EQ(p.check_preflight("https://a.test", "GET", "x-anything, y"), preflight_result::allowed);
}

TEST(CorsFields, PreflightAnswer) {
  auto p = policy_for({"https://app.example.com"});
  cors_fields f;
  auto m = as_map(f, p.preflight_fields("https://app.example.com", f));
  EXPECT_EQ(m["Access-Control-Allow-Origin"], "https://app.example.com");
  EXPECT_EQ(m["Access-Control-Allow-Methods"], "GET, POST");
  EXPECT_EQ(m["Access-Control-Allow-Headers"], "Authorization, Content-Type");
  EXPECT_EQ(m["Access-Control-Max-Age"], "600");
  EXPECT_EQ(m["Access-Control-Allow-Credentials"], "true");
  EXPECT_EQ(m["Vary"], "Origin");
  EXPECT_EQ(m.count("Access-Control-Expose-Headers"), 0u);
}

TEST(CorsFields, ResponseFieldsAndWithoutCredentials) {
  auto p = policy_for({"https://app.example.com"});
  cors_fields f;
  auto m = as_map(f, p.response_fields("https://app.example.com", f));
  EXPECT_EQ(m.size(), 4u);
  EXPECT_EQ(m["Access-Control-Allow-Origin"], "https://app.example.com");
  EXPECT_EQ(m["Access-Control-Allow-Credentials"], "true");
  EXPECT_EQ(m["Access-Control-Expose-Headers"], "X-Request-Id");
  EXPECT_EQ(m["Vary"], "Origin");

  cors_settings s;
  s.allow_origins = {"https://app.example.com"};
  s.allow_methods = {"GET"};
  cors_policy plain(std::move(s));
  auto pm = as_map(f, plain.response_fields("https://app.example.com", f));
  EXPECT_EQ(pm.size(), 2u);
  EXPECT_EQ(pm.count("Access-Control-Allow-Credentials"), 0u);
  auto pf = as_map(f, plain.preflight_fields("https://app.example.com", f));
  EXPECT_EQ(pf.count("Access-Control-Max-Age"), 0u);
  EXPECT_EQ(pf.count("Access-Control-Allow-Headers"), 0u);
}

TEST(CorsFields, PolicyCopiesKeepMatching) {
  // Policies live in vectors of routes: a copied or moved policy must not
  // refer to its original's storage.
  std::vector<cors_policy> v;
  v.push_back(policy_for({"http://a.test:1"}));
  for (int i = 0; i < 20; ++i) v.push_back(policy_for({"http://b.test:" + std::to_string(i + 2)}));
  EXPECT_TRUE(v[0].allows_origin("http://a.test:1"));
  EXPECT_TRUE(v[20].allows_origin("http://b.test:21"));
  EXPECT_FALSE(v[20].allows_origin("http://a.test:1"));
}

TEST(CorsFields, ResponseFieldNames) {
  EXPECT_TRUE(is_cors_response_field("Access-Control-Allow-Origin"));
  EXPECT_TRUE(is_cors_response_field("access-control-expose-headers"));
  EXPECT_TRUE(is_cors_response_field("ACCESS-CONTROL-MAX-AGE"));
  EXPECT_FALSE(is_cors_response_field("Vary"));
  EXPECT_FALSE(is_cors_response_field("Access-Control"));
  EXPECT_TRUE(is_preflight("OPTIONS", true, true));
  EXPECT_FALSE(is_preflight("OPTIONS", true, false));
  EXPECT_FALSE(is_preflight("GET", true, true));
}

}  // namespace
}  // namespace jwtgate::routing
