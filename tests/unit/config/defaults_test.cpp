// Every key left out takes the default written in SPEC section 2.

#include <stdexcept>

#include "config_test_support.h"

namespace jwtgate::config::testing {
namespace {

const snapshot& loaded(const load_result& r) {
  EXPECT_TRUE(r.errors.empty()) << all_errors(r);
  if (!r.snap) throw std::runtime_error("the configuration did not load");
  return *r.snap;
}

TEST(Defaults, ListenAdminServer) {
  auto r = load(minimal_config());
  const config& c = loaded(r).source;
  EXPECT_EQ(c.listen.address, "0.0.0.0");
  EXPECT_EQ(c.listen.port, 8080);
  EXPECT_FALSE(c.listen.tls);
  EXPECT_FALSE(c.admin) << "no admin listener when the section is absent";
  EXPECT_EQ(c.server.threads, 0u);
  EXPECT_EQ(c.server.max_header_bytes, 16384u);
  EXPECT_EQ(c.server.max_body_bytes, 0u);
  EXPECT_EQ(c.server.header_timeout, std::chrono::seconds(10));
  EXPECT_EQ(c.server.idle_timeout, std::chrono::seconds(60));
  EXPECT_EQ(c.server.drain_timeout, std::chrono::seconds(15));
  EXPECT_EQ(c.server.max_connections, 10000u);
  EXPECT_EQ(c.server.access_log, "stdout");
  EXPECT_EQ(c.server.token_cache_entries, 10000u);
  EXPECT_FALSE(c.server.cpu_affinity);
  EXPECT_FALSE(c.forward_auth);
}

TEST(Defaults, AdminSectionPresentTakesItsDefaults) {
  auto r = load("admin: {}\n" + minimal_config());
  const config& c = loaded(r).source;
  ASSERT_TRUE(c.admin);
  EXPECT_EQ(c.admin->address, "127.0.0.1");
  EXPECT_EQ(c.admin->port, 9901);
}

TEST(Defaults, Upstream) {
  auto r = load(minimal_config());
  const snapshot& s = loaded(r);
  const upstream_config* u = s.find_upstream("app");
  ASSERT_NE(u, nullptr);
  EXPECT_FALSE(u->https);
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 9000);
  EXPECT_EQ(u->connect_timeout, std::chrono::seconds(2));
  EXPECT_EQ(u->timeout, std::chrono::seconds(30));
  EXPECT_EQ(u->max_idle_connections, 64u);
  EXPECT_TRUE(u->tls.verify);
  EXPECT_TRUE(u->tls.ca_file.empty());
  EXPECT_TRUE(u->tls.server_name.empty());
}

TEST(Defaults, UpstreamDefaultPortsByScheme) {
  auto r = load("upstreams:\n  app: {url: 'http://app.internal'}\n  b: {url: 'https://APP.internal/'}\n" +
                std::string(health_route));
  const snapshot& s = loaded(r);
  EXPECT_EQ(s.find_upstream("app")->port, 80);
  EXPECT_EQ(s.find_upstream("b")->port, 443);
  EXPECT_TRUE(s.find_upstream("b")->https);
  EXPECT_EQ(s.find_upstream("b")->host, "app.internal");
}

TEST(Defaults, Provider) {
  auto r = load(std::string(hs256_provider) + minimal_config());
  const snapshot& s = loaded(r);
  const provider* p = s.find_provider("corp");
  ASSERT_NE(p, nullptr);
  const provider_config& c = *p->cfg;
  EXPECT_FALSE(c.issuer);
  EXPECT_TRUE(c.audiences.empty());
  EXPECT_FALSE(c.discovery);
  EXPECT_EQ(c.jwks_refresh, std::chrono::minutes(5));
  EXPECT_EQ(c.jwks_min_refresh, std::chrono::seconds(30));
  ASSERT_EQ(c.token_from.size(), 1u);
  EXPECT_EQ(c.token_from[0].type, token_source::kind::header);
  EXPECT_EQ(c.token_from[0].name, "Authorization");
  EXPECT_EQ(c.token_from[0].prefix, "Bearer ");
  EXPECT_EQ(c.clock_skew, std::chrono::seconds(60));
  EXPECT_FALSE(c.max_lifetime);
  EXPECT_EQ(c.require_claims, std::vector<std::string>{"exp"});
  EXPECT_TRUE(c.claims.empty());
  EXPECT_TRUE(c.headers.empty());
  EXPECT_TRUE(c.payload_header.empty());
  EXPECT_TRUE(c.forward_token);
  EXPECT_FALSE(c.require_kid);
  EXPECT_EQ(p->rules.clock_skew, std::chrono::seconds(60));
  EXPECT_EQ(p->rules.required, std::vector<std::string>{"exp"});
  EXPECT_FALSE(p->rules.issuer);
  EXPECT_FALSE(p->has_remote_keys);
}

TEST(Defaults, RouteWithoutMethodsHostOrName) {
  auto r = load(std::string(hs256_provider) + std::string(app_upstream) +
                "routes:\n  - path_prefix: /\n    upstream: app\n    auth: {providers: [corp]}\n");
  const snapshot& s = loaded(r);
  ASSERT_EQ(s.routes.size(), 1u);
  const route_config& rc = *s.routes[0].cfg;
  EXPECT_TRUE(rc.methods.empty());
  EXPECT_TRUE(rc.host.empty());
  EXPECT_EQ(rc.name, "#1");
  EXPECT_EQ(rc.auth.type, route_auth::mode::required) << "auth without optional is required";
}

TEST(Defaults, ExplicitValuesOverrideDefaults) {
  auto r = load(R"(listen: {address: "::1", port: 0}
admin: {address: 0.0.0.0, port: 19901}
server:
  threads: 4
  max_header_bytes: 8192
  max_body_bytes: 1048576
  header_timeout: 250ms
  idle_timeout: 2m
  drain_timeout: 0
  max_connections: 50
  access_log: logs/access.jsonl
  token_cache_entries: 0
  cpu_affinity: true
upstreams:
  app: {url: 'http://[::1]:8081', connect_timeout: 1, timeout: 1h30m, max_idle_connections: 0}
routes:
  - {name: r, path: /x, upstream: app, auth: none}
)");
  const config& c = loaded(r).source;
  EXPECT_EQ(c.listen.address, "::1");
  EXPECT_EQ(c.listen.port, 0);
  EXPECT_EQ(c.admin->port, 19901);
  EXPECT_EQ(c.server.threads, 4u);
  EXPECT_EQ(c.server.max_header_bytes, 8192u);
  EXPECT_EQ(c.server.max_body_bytes, 1048576u);
  EXPECT_EQ(c.server.header_timeout, duration(250));
  EXPECT_EQ(c.server.idle_timeout, std::chrono::minutes(2));
  EXPECT_EQ(c.server.drain_timeout, duration(0));
  EXPECT_EQ(c.server.max_connections, 50u);
  EXPECT_EQ(c.server.access_log, fixture_config_dir() + "/logs/access.jsonl");
  EXPECT_EQ(c.server.token_cache_entries, 0u);
  EXPECT_TRUE(c.server.cpu_affinity);
  EXPECT_EQ(c.upstreams[0].host, "::1");
  EXPECT_EQ(c.upstreams[0].port, 8081);
  EXPECT_EQ(c.upstreams[0].connect_timeout, std::chrono::seconds(1));
  EXPECT_EQ(c.upstreams[0].timeout, std::chrono::minutes(90));
  EXPECT_EQ(c.upstreams[0].max_idle_connections, 0u);
}

}  // namespace
}  // namespace jwtgate::config::testing

namespace jwtgate::config::testing {
namespace {

TEST(Defaults, NullValueMeansTheKeyIsAbsent) {
  auto r = load(std::string(hs256_provider) + "    issuer: ~\n    clock_skew: null\n    headers:\n" +
                "admin:\nserver:\n  threads:\n" + minimal_config());
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  const provider_config& p = *r.snap->providers[0].cfg;
  EXPECT_FALSE(p.issuer);
  EXPECT_EQ(p.clock_skew, std::chrono::seconds(60));
  EXPECT_TRUE(p.headers.empty());
  EXPECT_FALSE(r.snap->source.admin);
  EXPECT_EQ(r.snap->source.server.threads, 0u);
}

TEST(Defaults, NullRequiredSectionsAreStillRequired) {
  auto r = load("upstreams:\n  app: {url: ~}\nroutes:\n  - {name: a, path: /, upstream: app, auth: ~}\n");
  EXPECT_TRUE(has_error(r, 2, "url is required"));
  EXPECT_TRUE(has_error(r, 4, "auth is required"));
}

}  // namespace
}  // namespace jwtgate::config::testing
