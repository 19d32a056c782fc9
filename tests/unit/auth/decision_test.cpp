// The auth decision for proxied requests: every status (400, 401, 403, 404,
// forward) and every reason code the pipeline can reach.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "jwtgate/auth/decision.h"
#include "test_support.h"

namespace jwtgate::auth {
namespace {

using namespace testing;
using jose::status;
using mode = config::route_auth::mode;

class decision_test : public ::testing::Test {
 protected:
  void SetUp() override {
    config::config c;
    auto corp = provider_cfg("corp", "https://id.example.com");
    corp.audiences = {"orders-api"};
    corp.headers = {{"X-User-Id", "sub"}, {"X-User-Roles", "realm_access.roles"}, {"X-Email", "email"}};
    corp.payload_header = "X-Jwt-Payload";
    c.providers.push_back(corp);
    auto partner = provider_cfg("partner");
    partner.headers = {{"X-Partner", "sub"}};
    c.providers.push_back(partner);

    config::route_config health;
    health.name = "health";
    health.path = "/healthz";
    health.upstream = "app";
    health.auth.type = mode::none;
    c.routes.push_back(health);
    auto admin = route_cfg("admin", "/admin", {"corp"});
    admin.auth.scopes = {"admin", "write"};
    admin.auth.claims = {{"role", {"admin", "owner"}}};
    c.routes.push_back(admin);
    auto decide_only = route_cfg("decide-only", "/decide", {"corp"});
    decide_only.upstream.clear();
    c.routes.push_back(decide_only);
    c.routes.push_back(route_cfg("multi", "/multi", {"corp", "partner"}));
    c.routes.push_back(route_cfg("app", "/app", {"corp"}, mode::optional));
    c.routes.push_back(route_cfg("api", "/api", {"corp"}));

    corp_keys = hmac_store(secret_a);
    partner_keys = hmac_store(secret_b);
    snap = build_snapshot(std::move(c), {corp_keys, partner_keys});
  }

  decision run(std::string_view target, std::string_view method = "GET", std::string_view host = "gw") {
    request_head req{method, target, host, &headers};
    return decide(*snap, req, ctx, now);
  }

  static boost::json::object corp_claims(std::string sub = "alice") {
    auto c = claims(std::move(sub));
    c["iss"] = "https://id.example.com";
    c["aud"] = "orders-api";
    return c;
  }

  void bearer(const std::string& token) { headers.add("Authorization", "Bearer " + token); }

  static boost::json::object body(const decision& d) { return boost::json::parse(d.response.body).as_object(); }

  static std::string header(const decision& d, std::string_view name) {
    for (const auto& [n, v] : d.inject)
      if (equals_ci(n, name)) return v;
    return "<absent>";
  }

  void expect_invalid(const decision& d, status reason) {
    EXPECT_EQ(d.what, decision::action::respond);
    EXPECT_EQ(d.response.status, 401u);
    EXPECT_EQ(d.reason, reason);
    auto b = body(d);
    EXPECT_EQ(b.at("error"), "invalid_token");
    EXPECT_EQ(b.at("reason").as_string(), jose::to_string(reason));
    EXPECT_EQ(d.response.www_authenticate,
              std::string(R"(Bearer realm="jwtgate", error="invalid_token", error_description=")") +
                  std::string(jose::describe(reason)) + "\"");
    EXPECT_TRUE(d.inject.empty());
  }

  std::shared_ptr<keys::key_store> corp_keys, partner_keys;
  std::unique_ptr<config::snapshot> snap;
  fake_headers headers;
  thread_context ctx{100};
};

// --- 400 and 404 ---------------------------------------------------------

TEST_F(decision_test, bad_target_is_400_with_json_body) {
  for (const char* target : {"/a%2Fb", "/a%00", "/a%zz", "*", "/a#b", "", "/a\\b"}) {
    decision d = run(target);
    EXPECT_EQ(d.what, decision::action::respond) << target;
    EXPECT_EQ(d.response.status, 400u) << target;
    EXPECT_EQ(body(d).at("error"), "bad_request") << target;
    EXPECT_TRUE(d.response.www_authenticate.empty());
  }
}

TEST_F(decision_test, two_authorization_headers_are_400_even_without_auth) {
  headers.add("Authorization", "Bearer a");
  headers.add("authorization", "Bearer b");
  for (const char* target : {"/healthz", "/admin", "/app/x"}) {
    decision d = run(target);
    EXPECT_EQ(d.response.status, 400u) << target;
    EXPECT_EQ(d.reason, status::malformed);
    EXPECT_EQ(body(d).at("reason"), "malformed");
  }
}

TEST_F(decision_test, no_route_is_404) {
  decision d = run("/nowhere");
  EXPECT_EQ(d.what, decision::action::respond);
  EXPECT_EQ(d.response.status, 404u);
  EXPECT_EQ(d.route, nullptr);
  EXPECT_EQ(body(d).at("error"), "not_found");
}

TEST_F(decision_test, segment_prefix_does_not_leak_to_similar_paths) {
  EXPECT_EQ(run("/administrator").response.status, 404u);
  EXPECT_EQ(run("/healthz/x").response.status, 404u);
}

TEST_F(decision_test, decision_only_route_is_404_when_proxied) {
  bearer(hs256(secret_a, corp_claims()));
  decision d = run("/decide/x");
  EXPECT_EQ(d.response.status, 404u);
  EXPECT_EQ(body(d).at("error"), "not_found");
}

// --- forward ---------------------------------------------------------------

TEST_F(decision_test, auth_none_forwards_with_normalized_target) {
  decision d = run("/x/../healthz?a=/../b&c");
  ASSERT_EQ(d.what, decision::action::forward);
  EXPECT_EQ(d.target, "/healthz?a=/../b&c");
  ASSERT_NE(d.route, nullptr);
  EXPECT_EQ(d.route->cfg->name, "health");
  EXPECT_TRUE(d.inject.empty());
  EXPECT_EQ(d.reason, status::ok);
}

TEST_F(decision_test, encoded_dot_segments_cannot_escape_a_public_route) {
  // /healthz/%2e%2e/admin normalizes to /admin: the admin route judges it.
  decision d = run("/healthz/%2e%2E/admin");
  EXPECT_EQ(d.response.status, 401u);
  EXPECT_EQ(d.route->cfg->name, "admin");
}

TEST_F(decision_test, valid_token_forwards_with_identity_headers) {
  auto c = corp_claims("alice");
  c["scope"] = "read admin write";
  c["role"] = "owner";
  c["realm_access"] = {{"roles", {"a", "b"}}};
  std::string token = hs256(secret_a, c);
  bearer(token);
  decision d = run("/admin/users?x=1");
  ASSERT_EQ(d.what, decision::action::forward) << d.response.body;
  EXPECT_EQ(d.target, "/admin/users?x=1");
  EXPECT_EQ(d.subject, "alice");
  ASSERT_NE(d.provider, nullptr);
  EXPECT_EQ(d.provider->cfg->name, "corp");
  EXPECT_EQ(header(d, "X-User-Id"), "alice");
  EXPECT_EQ(header(d, "X-User-Roles"), "a,b");
  EXPECT_EQ(header(d, "X-Email"), "<absent>");
  EXPECT_EQ(header(d, "X-Jwt-Payload"), token.substr(token.find('.') + 1, token.rfind('.') - token.find('.') - 1));
  EXPECT_TRUE(d.remove_headers.empty());
  EXPECT_FALSE(d.cookie_rewrite.has_value());
}

TEST_F(decision_test, scheme_is_case_insensitive_and_spaces_are_tolerated) {
  auto c = corp_claims();
  headers.add("Authorization", "bearer    " + hs256(secret_a, c));
  EXPECT_EQ(run("/api").what, decision::action::forward);
}

// --- 401 missing_token -------------------------------------------------------

TEST_F(decision_test, missing_token_is_401_with_plain_challenge) {
  decision d = run("/api/x");
  EXPECT_EQ(d.response.status, 401u);
  EXPECT_EQ(d.reason, status::missing_token);
  EXPECT_EQ(d.response.www_authenticate, R"(Bearer realm="jwtgate")");
  auto b = body(d);
  EXPECT_EQ(b.at("error"), "missing_token");
  EXPECT_EQ(b.at("reason"), "missing_token");
  EXPECT_TRUE(b.contains("error_description"));
}

TEST_F(decision_test, basic_credentials_are_not_a_token) {
  headers.add("Authorization", "Basic YWxhZGRpbjpvcGVuc2VzYW1l");
  EXPECT_EQ(run("/api").reason, status::missing_token);
}

// --- 401 invalid_token, one test per reason --------------------------------

TEST_F(decision_test, malformed) {
  bearer("not-a-token");
  expect_invalid(run("/api"), status::malformed);
}

TEST_F(decision_test, empty_bearer_is_malformed_not_anonymous) {
  headers.add("Authorization", "Bearer ");
  expect_invalid(run("/app"), status::malformed);
}

TEST_F(decision_test, unsupported_token_jwe) {
  bearer("eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d");
  expect_invalid(run("/api"), status::unsupported_token);
}

TEST_F(decision_test, alg_not_allowed) {
  bearer(hs256(secret_a, {{"alg", "HS384"}}, corp_claims()));
  expect_invalid(run("/api"), status::alg_not_allowed);
}

TEST_F(decision_test, alg_none_is_refused) {
  auto c = corp_claims();
  std::string token = b64url(R"({"alg":"none"})") + "." + b64url(boost::json::serialize(c)) + ".";
  bearer(token);
  decision d = run("/api");
  EXPECT_EQ(d.response.status, 401u);
  EXPECT_NE(d.what, decision::action::forward);
}

TEST_F(decision_test, unknown_kid) {
  bearer(hs256(secret_a, {{"alg", "HS256"}, {"kid", "nope"}}, corp_claims()));
  expect_invalid(run("/api"), status::unknown_kid);
}

TEST_F(decision_test, bad_signature) {
  bearer(hs256(secret_b, corp_claims()));
  expect_invalid(run("/api"), status::bad_signature);
}

TEST_F(decision_test, expired) {
  auto c = corp_claims();
  c["exp"] = now - 61;  // beyond the 60 s skew
  bearer(hs256(secret_a, c));
  expect_invalid(run("/api"), status::expired);
}

TEST_F(decision_test, not_yet_valid) {
  auto c = corp_claims();
  c["nbf"] = now + 3600;
  bearer(hs256(secret_a, c));
  expect_invalid(run("/api"), status::not_yet_valid);
}

TEST_F(decision_test, issuer_mismatch) {
  auto c = corp_claims();
  c["iss"] = "https://evil.example.com";
  bearer(hs256(secret_a, c));
  expect_invalid(run("/api"), status::issuer_mismatch);
}

TEST_F(decision_test, missing_issuer_is_missing_claim) {
  auto c = corp_claims();
  c.erase("iss");
  bearer(hs256(secret_a, c));
  expect_invalid(run("/api"), status::missing_claim);
}

TEST_F(decision_test, issuer_of_the_wrong_json_type_is_issuer_mismatch) {
  for (boost::json::value iss : {boost::json::value(42), boost::json::value(boost::json::array{"https://id.example.com"}),
                                 boost::json::value(true)}) {
    auto c = corp_claims();
    c["iss"] = iss;
    headers = fake_headers();
    bearer(hs256(secret_a, c));
    expect_invalid(run("/api"), status::issuer_mismatch);
  }
}

TEST_F(decision_test, audience_mismatch) {
  auto c = corp_claims();
  c["aud"] = "billing";
  bearer(hs256(secret_a, c));
  expect_invalid(run("/api"), status::audience_mismatch);
}

TEST_F(decision_test, error_description_never_echoes_the_token) {
  auto c = corp_claims("secret-subject-value");
  c["aud"] = "billing";
  std::string token = hs256(secret_a, c);
  bearer(token);
  decision d = run("/api");
  EXPECT_EQ(d.response.body.find("secret-subject-value"), std::string::npos);
  EXPECT_EQ(d.response.body.find(token.substr(0, 20)), std::string::npos);
  EXPECT_EQ(d.response.www_authenticate.find(token.substr(0, 20)), std::string::npos);
}

// --- 403 -------------------------------------------------------------------

TEST_F(decision_test, missing_scope_is_403_with_scope_challenge) {
  auto c = corp_claims();
  c["scope"] = "admin";  // "write" missing
  c["role"] = "admin";
  bearer(hs256(secret_a, c));
  decision d = run("/admin");
  EXPECT_EQ(d.response.status, 403u);
  EXPECT_EQ(d.reason, status::insufficient_scope);
  EXPECT_EQ(d.response.www_authenticate,
            R"(Bearer realm="jwtgate", error="insufficient_scope", scope="admin write")");
  auto b = body(d);
  EXPECT_EQ(b.at("error"), "insufficient_scope");
  EXPECT_EQ(b.at("reason"), "insufficient_scope");
  EXPECT_EQ(d.subject, "alice");  // authenticated, just not enough
}

TEST_F(decision_test, scp_array_and_scp_string_grant_scopes) {
  auto c = corp_claims();
  c["scp"] = {"admin", "write"};
  c["role"] = "admin";
  bearer(hs256(secret_a, c));
  EXPECT_EQ(run("/admin").what, decision::action::forward);

  headers = fake_headers{};
  c["scp"] = "write admin";
  bearer(hs256(secret_a, c));
  EXPECT_EQ(run("/admin").what, decision::action::forward);
}

TEST_F(decision_test, route_claim_any_of_values) {
  auto c = corp_claims();
  c["scope"] = "admin write";
  c["role"] = "guest";
  bearer(hs256(secret_a, c));
  EXPECT_EQ(run("/admin").response.status, 403u);

  headers = fake_headers{};
  c["role"] = {"guest", "owner"};
  bearer(hs256(secret_a, c));
  EXPECT_EQ(run("/admin").what, decision::action::forward);

  headers = fake_headers{};
  c.erase("role");
  bearer(hs256(secret_a, c));
  EXPECT_EQ(run("/admin").response.status, 403u);
}

// --- optional routes ----------------------------------------------------------

TEST_F(decision_test, optional_route_without_token_passes_anonymously) {
  decision d = run("/app/page");
  ASSERT_EQ(d.what, decision::action::forward);
  EXPECT_TRUE(d.inject.empty());
  EXPECT_TRUE(d.subject.empty());
  EXPECT_EQ(d.provider, nullptr);
}

TEST_F(decision_test, optional_route_with_bad_token_is_401_not_anonymous) {
  bearer(hs256(secret_b, corp_claims()));
  expect_invalid(run("/app/page"), status::bad_signature);
}

TEST_F(decision_test, optional_route_with_good_token_injects_identity) {
  bearer(hs256(secret_a, corp_claims("bob")));
  decision d = run("/app");
  ASSERT_EQ(d.what, decision::action::forward);
  EXPECT_EQ(header(d, "X-User-Id"), "bob");
}

// --- several providers ----------------------------------------------------------

TEST_F(decision_test, issuer_picks_the_judging_provider) {
  bearer(hs256(secret_a, corp_claims("carol")));
  decision d = run("/multi");
  ASSERT_EQ(d.what, decision::action::forward);
  EXPECT_EQ(d.provider->cfg->name, "corp");
  EXPECT_EQ(header(d, "X-User-Id"), "carol");
  EXPECT_EQ(header(d, "X-Partner"), "<absent>");
}

TEST_F(decision_test, provider_without_issuer_accepts_its_own_tokens) {
  auto c = claims("dave");
  c["iss"] = "partner-idp";
  bearer(hs256(secret_b, c));
  decision d = run("/multi");
  ASSERT_EQ(d.what, decision::action::forward);
  EXPECT_EQ(d.provider->cfg->name, "partner");
  EXPECT_EQ(header(d, "X-Partner"), "dave");
}

TEST_F(decision_test, issuer_match_judges_alone) {
  // Claims corp's issuer but is signed with partner's key: corp judges, and
  // partner is never asked.
  auto c = corp_claims();
  bearer(hs256(secret_b, c));
  decision d = run("/multi");
  expect_invalid(d, status::bad_signature);
  EXPECT_EQ(d.provider->cfg->name, "corp");
}

// --- identity header encoding ---------------------------------------------------

class identity_encoding_test : public decision_test {
 protected:
  decision with_claim(boost::json::value v) {
    auto c = corp_claims();
    c["email"] = std::move(v);
    headers = fake_headers{};
    bearer(hs256(secret_a, c));
    return run("/api");
  }
};

TEST_F(identity_encoding_test, strings_numbers_booleans_arrays_objects) {
  EXPECT_EQ(header(with_claim("a@b.c"), "X-Email"), "a@b.c");
  EXPECT_EQ(header(with_claim(42), "X-Email"), "42");
  EXPECT_EQ(header(with_claim(1.5), "X-Email"), "1.5");
  EXPECT_EQ(header(with_claim(true), "X-Email"), "true");
  EXPECT_EQ(header(with_claim(boost::json::array{"x", "y", "z"}), "X-Email"), "x,y,z");
  EXPECT_EQ(header(with_claim(boost::json::array{"x", 1}), "X-Email"), R"(["x",1])");
  EXPECT_EQ(header(with_claim(boost::json::object{{"k", "v"}}), "X-Email"), R"({"k":"v"})");
  EXPECT_EQ(header(with_claim(nullptr), "X-Email"), "<absent>");
}

TEST_F(identity_encoding_test, crlf_or_nul_in_a_claim_fails_the_request) {
  for (const char* evil : {"a\r\nX-Admin: yes", "a\nb", "a\rb", "a\x01" "b"}) {
    decision d = with_claim(evil);
    expect_invalid(d, status::claim_mismatch);
  }
  expect_invalid(with_claim(boost::json::string(std::string_view("a\0b", 3))), status::claim_mismatch);
  expect_invalid(with_claim(boost::json::array{"ok", "a\r\nb"}), status::claim_mismatch);
}

TEST_F(identity_encoding_test, escaped_control_characters_inside_json_are_safe) {
  // Inside an object the newline is JSON-escaped: no raw CR/LF reaches the header.
  decision d = with_claim(boost::json::object{{"k", "a\nb"}});
  ASSERT_EQ(d.what, decision::action::forward);
  EXPECT_EQ(header(d, "X-Email"), R"({"k":"a\nb"})");
}

// --- verified-token cache through the decision ------------------------------------

TEST_F(decision_test, key_rotation_invalidates_cached_tokens) {
  std::string token = hs256(secret_a, corp_claims());
  bearer(token);
  ASSERT_EQ(run("/api").what, decision::action::forward);
  ASSERT_EQ(run("/api").what, decision::action::forward);  // now from the cache
  jose::key k;
  std::string error;
  ASSERT_TRUE(jose::make_hmac_key({}, jose::alg::HS256, secret_b, k, error));
  corp_keys->publish(std::make_shared<const jose::key_set>(std::vector<jose::key>{k}));
  expect_invalid(run("/api"), status::bad_signature);
}

TEST_F(decision_test, cached_token_still_expires) {
  auto c = corp_claims();
  c["exp"] = now + 10;
  bearer(hs256(secret_a, c));
  ASSERT_EQ(run("/api").what, decision::action::forward);
  request_head req{"GET", "/api", "gw", &headers};
  decision later = decide(*snap, req, ctx, now + 10 + 60);  // exp + skew reached
  expect_invalid(later, status::expired);
}

TEST_F(decision_test, cached_token_is_still_checked_against_each_route) {
  auto c = corp_claims();
  bearer(hs256(secret_a, c));
  ASSERT_EQ(run("/api").what, decision::action::forward);
  EXPECT_EQ(run("/admin").response.status, 403u);  // same token, stricter route
}

}  // namespace
}  // namespace jwtgate::auth
