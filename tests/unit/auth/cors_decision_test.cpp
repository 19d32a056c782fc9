// CORS in the auth decision (SPEC section 10): preflights matched by the method
// they ask for and answered without a token; the route's policy attached to
// every other decision for an allowed origin, 401s included.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "jwtgate/auth/decision.h"
#include "test_support.h"

namespace jwtgate::auth {
namespace {

using namespace testing;
using jose::status;

class cors_decision_test : public ::testing::Test {
 protected:
  void SetUp() override {
    config::config c;
    c.providers.push_back(provider_cfg("corp"));
    auto puts = route_cfg("puts", "/api/items", {"corp"});
    puts.methods = {"PUT"};
    c.routes.push_back(puts);
    c.routes.push_back(route_cfg("api", "/api", {"corp"}));
    c.routes.push_back(route_cfg("plain", "/plain", {"corp"}));
    snap = build_snapshot(std::move(c), {hmac_store(secret_a)});
    routing::cors_settings put_only;
    put_only.allow_origins = {"https://put.test"};
    put_only.allow_methods = {"PUT"};
    snap->routes[0].cors.emplace(put_only);
    routing::cors_settings api;
    api.allow_origins = {"https://app.test"};
    api.allow_methods = {"GET", "POST"};
    api.allow_headers = {"Content-Type"};
    api.allow_credentials = true;
    snap->routes[1].cors.emplace(api);
  }

  decision run(std::string_view target, std::string_view method = "GET") {
    request_head req{method, target, "gw", &headers};
    return decide(*snap, req, ctx, now);
  }

  static std::string field(const decision& d, std::string_view name) {
    for (const auto& [n, v] : d.response.headers)
      if (equals_ci(n, name)) return v;
    return "<absent>";
  }

  std::unique_ptr<config::snapshot> snap;
  fake_headers headers;
  thread_context ctx{100};
};

TEST_F(cors_decision_test, preflight_is_answered_without_a_token) {
  headers.add("Origin", "https://app.test");
  headers.add("Access-Control-Request-Method", "POST");
  headers.add("Access-Control-Request-Headers", "content-type");
  auto d = run("/api/orders", "OPTIONS");
  EXPECT_EQ(d.what, decision::action::respond);
  EXPECT_TRUE(d.preflight);
  EXPECT_EQ(d.response.status, 204u);
  EXPECT_EQ(field(d, "Access-Control-Allow-Origin"), "https://app.test");
  EXPECT_EQ(field(d, "Access-Control-Allow-Methods"), "GET, POST");
  EXPECT_EQ(field(d, "Access-Control-Allow-Credentials"), "true");
  EXPECT_EQ(field(d, "Vary"), "Origin");
  EXPECT_TRUE(d.response.www_authenticate.empty());
  ASSERT_NE(d.route, nullptr);
  EXPECT_EQ(d.route->cfg->name, "api");
}

TEST_F(cors_decision_test, preflight_refusals_are_403_without_allow_fields) {
  for (auto [origin, method, hdrs] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"https://evil.test", "GET", ""}, {"https://app.test", "DELETE", ""}, {"https://app.test", "GET", "x-a"},
           {"null", "GET", ""}}) {
    headers = fake_headers();
    headers.add("Origin", origin);
    headers.add("Access-Control-Request-Method", method);
    if (!hdrs.empty()) headers.add("Access-Control-Request-Headers", hdrs);
    auto d = run("/api/orders", "OPTIONS");
    EXPECT_EQ(d.response.status, 403u) << origin << " " << method;
    for (const auto& [n, v] : d.response.headers) EXPECT_FALSE(n.starts_with("Access-Control-Allow")) << n;
    EXPECT_EQ(field(d, "Vary"), "Origin");
  }
}

TEST_F(cors_decision_test, preflight_is_matched_by_the_requested_method) {
  headers.add("Origin", "https://put.test");
  headers.add("Access-Control-Request-Method", "PUT");
  auto d = run("/api/items/1", "OPTIONS");
  EXPECT_EQ(d.response.status, 204u);
  EXPECT_EQ(d.route->cfg->name, "puts");
  headers = fake_headers();
  headers.add("Origin", "https://put.test");
  headers.add("Access-Control-Request-Method", "GET");  // matches "api", whose origins differ
  auto g = run("/api/items/1", "OPTIONS");
  EXPECT_EQ(g.response.status, 403u);
  EXPECT_EQ(g.route->cfg->name, "api");
}

TEST_F(cors_decision_test, options_on_a_route_without_cors_is_an_ordinary_request) {
  headers.add("Origin", "https://app.test");
  headers.add("Access-Control-Request-Method", "GET");
  auto d = run("/plain/x", "OPTIONS");
  EXPECT_FALSE(d.preflight);
  EXPECT_EQ(d.response.status, 401u);
  EXPECT_EQ(d.cors, nullptr);
}

TEST_F(cors_decision_test, allowed_origin_gets_the_policy_on_401_and_forward) {
  headers.add("Origin", "https://app.test");
  auto d = run("/api/orders");
  EXPECT_EQ(d.response.status, 401u);
  ASSERT_NE(d.cors, nullptr);
  EXPECT_EQ(d.origin, "https://app.test");
  EXPECT_FALSE(d.preflight);
  headers.add("Authorization", "Bearer " + hs256(secret_a, claims("alice")));
  auto ok = run("/api/orders");
  EXPECT_EQ(ok.what, decision::action::forward);
  EXPECT_NE(ok.cors, nullptr);
}

TEST_F(cors_decision_test, other_origin_gets_no_policy) {
  for (std::string origin : {"https://evil.test", "https://app.test/", "null", "https://app.test.evil.test"}) {
    headers = fake_headers();
    headers.add("Origin", origin);
    EXPECT_EQ(run("/api/orders").cors, nullptr) << origin;
  }
  headers = fake_headers();
  EXPECT_EQ(run("/api/orders").cors, nullptr);
}

}  // namespace
}  // namespace jwtgate::auth
