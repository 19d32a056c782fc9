// Forward-auth decisions (nginx auth_request, Traefik ForwardAuth).

#include <gtest/gtest.h>

#include "jwtgate/auth/decision.h"
#include "test_support.h"

namespace jwtgate::auth {
namespace {

using namespace testing;

class forward_auth_test : public ::testing::Test {
 protected:
  void SetUp() override {
    config::config c;
    auto p = provider_cfg("corp");
    p.headers = {{"X-User-Id", "sub"}};
    c.providers.push_back(p);
    c.forward_auth = config::forward_auth_config{"/_auth"};
    auto decide_only = route_cfg("decide-only", "/internal", {"corp"});
    decide_only.upstream.clear();
    decide_only.host = "app.example.com";
    c.routes.push_back(decide_only);
    auto admin = route_cfg("admin", "/admin", {"corp"});
    admin.auth.scopes = {"admin"};
    c.routes.push_back(admin);
    c.routes.push_back(route_cfg("public", "/public", {}, config::route_auth::mode::none));
    snap = build_snapshot(std::move(c), {hmac_store(secret_a)});
  }

  decision run(std::string_view host = "gw") {
    request_head req{"GET", "/_auth", host, &headers};
    return decide_forward_auth(*snap, req, ctx, now);
  }

  std::unique_ptr<config::snapshot> snap;
  fake_headers headers;
  thread_context ctx{10};
};

TEST_F(forward_auth_test, valid_token_is_200_with_identity_headers) {
  headers = {{"X-Forwarded-Method", "GET"}, {"X-Forwarded-Uri", "/internal/x?y=1"},
             {"X-Forwarded-Host", "app.example.com"}, {"Authorization", "Bearer " + hs256(secret_a, claims("eve"))}};
  decision d = run();
  ASSERT_EQ(d.what, decision::action::respond);
  EXPECT_EQ(d.response.status, 200u) << d.response.body;
  EXPECT_TRUE(d.response.body.empty());
  ASSERT_EQ(d.response.headers.size(), 1u);
  EXPECT_EQ(d.response.headers[0], (std::pair<std::string, std::string>{"X-User-Id", "eve"}));
  EXPECT_EQ(d.subject, "eve");
  EXPECT_EQ(d.route->cfg->name, "decide-only");  // routes without upstream are eligible
}

TEST_F(forward_auth_test, envoy_style_path_appended_to_the_endpoint) {
  // Envoy ext_authz (http_service.path_prefix: /_auth): original method, and
  // the original path after the endpoint; no X-Forwarded-* headers.
  headers = {{"Authorization", "Bearer " + hs256(secret_a, claims("eve"))}};
  request_head req{"GET", "/_auth/admin/x?y=1", "gw", &headers};
  decision d = decide_forward_auth(*snap, req, ctx, now);
  EXPECT_EQ(d.response.status, 403u);  // matched the admin route, which wants a scope
  EXPECT_EQ(d.reason, jose::status::insufficient_scope);

  request_head pub{"GET", "/_auth/public/page", "gw", &headers};
  d = decide_forward_auth(*snap, pub, ctx, now);
  EXPECT_EQ(d.response.status, 200u);
  ASSERT_NE(d.route, nullptr);
  EXPECT_EQ(d.route->cfg->name, "public");

  // Dot-segments are removed before the endpoint is stripped: no escape above it.
  request_head sneaky{"GET", "/_auth/../admin/x", "gw", &headers};
  d = decide(*snap, sneaky, ctx, now);
  EXPECT_NE(d.response.status, 200u);
}

TEST(forward_auth_path, endpoint_and_appended_paths_only) {
  EXPECT_TRUE(is_forward_auth_path("/_auth", "/_auth"));
  EXPECT_TRUE(is_forward_auth_path("/_auth", "/_auth/x"));
  EXPECT_FALSE(is_forward_auth_path("/_auth", "/_authz"));
  EXPECT_FALSE(is_forward_auth_path("/_auth", "/x/_auth"));
  EXPECT_FALSE(is_forward_auth_path("", "/"));
}

TEST_F(forward_auth_test, original_headers_work_too) {
  headers = {{"X-Original-Method", "GET"}, {"X-Original-URI", "/admin"},
             {"Authorization", "Bearer " + hs256(secret_a, claims())}};
  decision d = run();
  EXPECT_EQ(d.response.status, 403u);
  EXPECT_EQ(d.reason, jose::status::insufficient_scope);
  EXPECT_EQ(d.response.www_authenticate, R"(Bearer realm="jwtgate", error="insufficient_scope", scope="admin")");
}

TEST_F(forward_auth_test, missing_token_is_401) {
  headers = {{"X-Forwarded-Method", "GET"}, {"X-Forwarded-Uri", "/admin/x"}};
  decision d = run();
  EXPECT_EQ(d.response.status, 401u);
  EXPECT_EQ(d.reason, jose::status::missing_token);
}

TEST_F(forward_auth_test, bad_token_is_401_invalid_token) {
  headers = {{"X-Forwarded-Method", "GET"}, {"X-Forwarded-Uri", "/admin/x"},
             {"Authorization", "Bearer " + hs256(secret_b, claims())}};
  decision d = run();
  EXPECT_EQ(d.response.status, 401u);
  EXPECT_EQ(d.reason, jose::status::bad_signature);
  EXPECT_TRUE(d.response.headers.empty());
}

TEST_F(forward_auth_test, no_route_is_404) {
  headers = {{"X-Forwarded-Method", "GET"}, {"X-Forwarded-Uri", "/other"}};
  EXPECT_EQ(run().response.status, 404u);
  // the host of the original request decides too
  headers = {{"X-Forwarded-Method", "GET"}, {"X-Forwarded-Uri", "/internal"}, {"X-Forwarded-Host", "evil.example.com"}};
  EXPECT_EQ(run().response.status, 404u);
}

TEST_F(forward_auth_test, public_route_is_200_without_headers) {
  headers = {{"X-Forwarded-Method", "GET"}, {"X-Forwarded-Uri", "/public/a"}};
  decision d = run();
  EXPECT_EQ(d.response.status, 200u);
  EXPECT_TRUE(d.response.headers.empty());
}

TEST_F(forward_auth_test, missing_or_repeated_original_request_is_400) {
  headers = {{"X-Forwarded-Uri", "/admin"}};
  EXPECT_EQ(run().response.status, 400u);
  headers = {{"X-Forwarded-Method", "GET"}};
  EXPECT_EQ(run().response.status, 400u);
  headers = {{"X-Forwarded-Method", "GET"}, {"X-Forwarded-Uri", "/public"}, {"X-Forwarded-Uri", "/admin"}};
  EXPECT_EQ(run().response.status, 400u);
}

TEST_F(forward_auth_test, original_uri_is_normalized) {
  headers = {{"X-Forwarded-Method", "GET"}, {"X-Forwarded-Uri", "/public/%2e%2e/admin"}};
  EXPECT_EQ(run().response.status, 401u);  // it is /admin, not /public
  headers = {{"X-Forwarded-Method", "GET"}, {"X-Forwarded-Uri", "/public/..%2Fadmin"}};
  EXPECT_EQ(run().response.status, 400u);
}

TEST_F(forward_auth_test, query_token_comes_from_the_original_uri) {
  headers = {{"X-Forwarded-Method", "GET"}, {"X-Forwarded-Uri", "/admin?access_token=x"}};
  // The provider only reads Authorization: a query token is not looked at.
  EXPECT_EQ(run().reason, jose::status::missing_token);
}

TEST_F(forward_auth_test, decide_routes_the_decision_path_itself) {
  headers = {{"X-Forwarded-Method", "GET"}, {"X-Forwarded-Uri", "/internal/x"},
             {"X-Forwarded-Host", "app.example.com"}, {"Authorization", "Bearer " + hs256(secret_a, claims())}};
  request_head req{"GET", "/_auth", "gw", &headers};
  decision d = decide(*snap, req, ctx, now);
  EXPECT_EQ(d.what, decision::action::respond);
  EXPECT_EQ(d.response.status, 200u);
}

}  // namespace
}  // namespace jwtgate::auth
