// The compiled snapshot: resolved references, the route table, identity
// headers, claim rules, keys and relative paths.

#include "config_test_support.h"

namespace jwtgate::config::testing {
namespace {

constexpr std::string_view full = R"(upstreams:
  app: {url: 'http://127.0.0.1:9000'}
  other: {url: 'https://backend.internal:8443', tls: {ca_file: keys/rsa-2048-public.pem, server_name: backend}}
providers:
  corp:
    issuer: https://id.example.com
    audiences: [orders-api]
    algorithms: [RS256, ES256]
    keys:
      - {kid: rsa, alg: RS256, public_key_file: keys/rsa-2048-public.pem}
      - {kid: ec, alg: ES256, public_key_file: ./keys/../keys/ec-p256-public.pem}
      - jwks_url: https://id.example.com/.well-known/jwks.json
    max_lifetime: 1h
    clock_skew: 30s
    require_claims: [exp, sub]
    claims: {token_use: access, level: [1, 2], admin: true}
    headers:
      X-User-Id: sub
      X-User-Roles: realm_access.roles
    payload_header: X-Jwt-Payload
    token_from:
      - {header: Authorization, prefix: "Bearer "}
      - {cookie: access_token}
      - {query: access_token}
    forward_token: false
    require_kid: true
  files:
    algorithms: [HS256, RS256]
    keys:
      - {alg: HS256, secret_file: keys/hmac-secret-40.txt}
      - {jwks_file: keys/jwks.json}
    headers: {x-user-id: sub, X-Tenant: tenant}
forward_auth: {path: /_auth}
routes:
  - {name: health, path: /healthz, upstream: app, auth: none}
  - name: admin
    path_prefix: /admin
    methods: [GET, POST]
    host: API.example.com
    upstream: other
    auth:
      providers: [files, corp]
      scopes: [admin]
      claims: {role: [admin, owner]}
  - {name: decide, path_prefix: /, auth: {providers: [corp], optional: true}}
)";

class SnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    result = load(full);
    ASSERT_TRUE(result.errors.empty()) << all_errors(result);
    ASSERT_TRUE(result.snap);
  }
  const snapshot& snap() const { return *result.snap; }
  load_result result;
};

TEST_F(SnapshotTest, ProvidersKeepFileOrderAndPointIntoSource) {
  ASSERT_EQ(snap().providers.size(), 2u);
  EXPECT_EQ(snap().providers[0].cfg, &snap().source.providers[0]);
  EXPECT_EQ(snap().providers[1].cfg->name, "files");
  EXPECT_EQ(snap().find_provider("corp"), &snap().providers[0]);
  EXPECT_EQ(snap().find_provider("files"), &snap().providers[1]);
  EXPECT_EQ(snap().find_provider("nope"), nullptr);
  EXPECT_EQ(snap().find_upstream("other"), &snap().source.upstreams[1]);
  EXPECT_EQ(snap().find_upstream("nope"), nullptr);
}

TEST_F(SnapshotTest, StaticKeysAreLoadedAndRemoteSourcesFlagged) {
  const provider& corp = snap().providers[0];
  EXPECT_TRUE(corp.has_remote_keys);
  auto corp_keys = corp.keys->current();
  ASSERT_EQ(corp_keys->keys().size(), 2u);
  EXPECT_EQ(corp_keys->keys()[0].kid, "rsa");
  EXPECT_EQ(corp_keys->keys()[0].algorithm, jose::alg::RS256);
  EXPECT_EQ(corp_keys->keys()[1].kid, "ec");
  EXPECT_EQ(corp_keys->keys()[1].algorithm, jose::alg::ES256);

  const provider& files = snap().providers[1];
  EXPECT_FALSE(files.has_remote_keys);
  auto file_keys = files.keys->current();
  // The secret (trailing newline trimmed), then the JWKS's RSA key for RS256;
  // its EC key fits none of the provider's algorithms.
  ASSERT_EQ(file_keys->keys().size(), 2u);
  EXPECT_EQ(file_keys->keys()[0].algorithm, jose::alg::HS256);
  EXPECT_EQ(file_keys->keys()[0].secret, "this-is-a-test-only-secret-of-40-bytes!!");
  EXPECT_EQ(file_keys->keys()[1].kid, "rsa-2048");
  EXPECT_EQ(file_keys->keys()[1].algorithm, jose::alg::RS256);
}

TEST_F(SnapshotTest, ClaimRulesFromProvider) {
  const jose::claim_rules& rules = snap().providers[0].rules;
  EXPECT_EQ(rules.issuer, "https://id.example.com");
  EXPECT_EQ(rules.audiences, std::vector<std::string>{"orders-api"});
  EXPECT_EQ(rules.required, (std::vector<std::string>{"exp", "sub"}));
  EXPECT_EQ(rules.clock_skew, std::chrono::seconds(30));
  EXPECT_EQ(rules.max_lifetime, std::chrono::seconds(3600));
  ASSERT_EQ(rules.claims.size(), 3u);
  EXPECT_EQ(rules.claims[0].path, "token_use");
  EXPECT_EQ(rules.claims[0].any_of, std::vector<std::string>{"access"});
  EXPECT_EQ(rules.claims[1].any_of, (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(rules.claims[2].any_of, std::vector<std::string>{"true"}) << "scalars keep their YAML text";
}

TEST_F(SnapshotTest, TokenSourcesAndForwarding) {
  const provider_config& c = *snap().providers[0].cfg;
  ASSERT_EQ(c.token_from.size(), 3u);
  EXPECT_EQ(c.token_from[1].type, token_source::kind::cookie);
  EXPECT_EQ(c.token_from[1].name, "access_token");
  EXPECT_EQ(c.token_from[2].type, token_source::kind::query);
  EXPECT_FALSE(c.forward_token);
  EXPECT_TRUE(c.require_kid);
  EXPECT_FALSE(snap().providers[1].cfg->require_kid);
  EXPECT_EQ(c.payload_header, "X-Jwt-Payload");
  ASSERT_EQ(c.headers.size(), 2u);
  EXPECT_EQ(c.headers[1], (std::pair<std::string, std::string>{"X-User-Roles", "realm_access.roles"}));
}

TEST_F(SnapshotTest, IdentityHeadersAreLowerCasedAndDeduplicated) {
  EXPECT_EQ(snap().identity_headers,
            (std::vector<std::string>{"x-user-id", "x-user-roles", "x-jwt-payload", "x-tenant"}));
}

TEST_F(SnapshotTest, RoutesResolveUpstreamsAndProviders) {
  ASSERT_EQ(snap().routes.size(), 3u);
  const route& health = snap().routes[0];
  EXPECT_EQ(health.cfg, &snap().source.routes[0]);
  EXPECT_EQ(health.upstream, snap().find_upstream("app"));
  EXPECT_TRUE(health.providers.empty());
  EXPECT_EQ(health.cfg->auth.type, route_auth::mode::none);

  const route& admin = snap().routes[1];
  EXPECT_EQ(admin.upstream, snap().find_upstream("other"));
  ASSERT_EQ(admin.providers.size(), 2u);
  EXPECT_EQ(admin.providers[0], snap().find_provider("files")) << "the route's order, not the file's";
  EXPECT_EQ(admin.providers[1], snap().find_provider("corp"));
  EXPECT_EQ(admin.cfg->methods, (std::vector<std::string>{"GET", "POST"}));
  EXPECT_EQ(admin.cfg->host, "api.example.com");
  EXPECT_EQ(admin.cfg->auth.scopes, std::vector<std::string>{"admin"});
  ASSERT_EQ(admin.cfg->auth.claims.size(), 1u);
  EXPECT_EQ(admin.cfg->auth.claims[0].any_of, (std::vector<std::string>{"admin", "owner"}));

  const route& decide = snap().routes[2];
  EXPECT_EQ(decide.upstream, nullptr) << "a route without upstream serves forward-auth decisions only";
  EXPECT_EQ(decide.cfg->auth.type, route_auth::mode::optional);
  EXPECT_EQ(snap().table.size(), 3u);
  ASSERT_TRUE(snap().source.forward_auth);
  EXPECT_EQ(snap().source.forward_auth->path, "/_auth");
}

TEST_F(SnapshotTest, RelativePathsResolveAgainstTheConfigDirectory) {
  const std::string dir = fixture_config_dir();
  EXPECT_EQ(snap().source.upstreams[1].tls.ca_file, dir + "/keys/rsa-2048-public.pem");
  EXPECT_EQ(snap().source.providers[0].keys[1].value, dir + "/keys/ec-p256-public.pem");
  EXPECT_EQ(snap().source.providers[1].keys[0].value, dir + "/keys/hmac-secret-40.txt");
  EXPECT_EQ(snap().source.file, fixture_config_file());
}

TEST(SnapshotFiles, LoadFileResolvesAgainstItsOwnDirectoryNotTheCwd) {
  auto r = load_file(fixture_config_dir() + "/valid/relative-keys.yaml");
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  EXPECT_EQ(r.snap->source.providers[0].keys[0].value, fixture_config_dir() + "/keys/rsa-2048-public.pem");
  EXPECT_EQ(r.snap->providers[0].keys->current()->keys().size(), 1u);
}

TEST(SnapshotFiles, WarningsDoNotFailTheLoad) {
  auto r = load(std::string(app_upstream) + "routes:\n  - {name: orphan, path: /x, auth: none}\n");
  EXPECT_TRUE(r.errors.empty()) << all_errors(r);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0].line, 5);
  EXPECT_NE(r.warnings[0].message.find("gets 404"), std::string::npos);
}

}  // namespace
}  // namespace jwtgate::config::testing

namespace jwtgate::config::testing {
namespace {

TEST(SnapshotWarnings, RiskyButValidSettingsAreFlagged) {
  auto r = load(R"(upstreams:
  app: {url: 'https://h', tls: {verify: false}}
providers:
  p:
    algorithms: [RS256]
    keys: [{jwks_url: 'http://idp.internal/jwks'}]
routes:
  - {name: a, path: /, methods: [get], upstream: app, auth: {providers: [p]}}
)");
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  ASSERT_EQ(r.warnings.size(), 3u);
  EXPECT_EQ(r.warnings[0].line, 2);
  EXPECT_NE(r.warnings[0].message.find("not verified"), std::string::npos);
  EXPECT_EQ(r.warnings[1].line, 6);
  EXPECT_NE(r.warnings[1].message.find("plain http"), std::string::npos);
  EXPECT_EQ(r.warnings[2].line, 8);
  EXPECT_NE(r.warnings[2].message.find("case-sensitive"), std::string::npos);
}

}  // namespace
}  // namespace jwtgate::config::testing
