// Unknown keys, type errors, positions, several errors in one run, YAML syntax.

#include "config_test_support.h"

namespace jwtgate::config::testing {
namespace {

TEST(Structure, UnknownTopLevelKeyWithPosition) {
  auto r = load(minimal_config() + "listne:\n  port: 1\n");
  EXPECT_FALSE(r.snap);
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_EQ(r.errors[0].line, 9);
  EXPECT_EQ(r.errors[0].column, 1);
  EXPECT_EQ(r.errors[0].message, "unknown key 'listne' at the top level");
  EXPECT_EQ(r.errors[0].to_string(), fixture_config_file() + ":9:1: unknown key 'listne' at the top level");
}

TEST(Structure, UnknownKeyNamesItsSection) {
  auto r = load(std::string(hs256_provider) + "    isuer: x\n" + minimal_config());
  EXPECT_TRUE(has_error(r, 7, "unknown key 'isuer' in providers.corp"));
  EXPECT_EQ(r.errors[0].column, 5);
}

TEST(Structure, UnknownKeysEverywhere) {
  auto r = load(R"(listen: {adress: x}
admin: {prot: 1}
server: {thread: 1}
upstreams:
  app: {url: 'http://h', timout: 1s, tls: {verfy: true}}
routes:
  - {name: r, path: /x, upstream: app, auth: none, method: [GET]}
  - {name: s, path: /y, upstream: app, auth: {provider: [corp]}}
forward_auth: {paht: /x}
)");
  EXPECT_TRUE(has_error(r, 1, "unknown key 'adress' in listen"));
  EXPECT_TRUE(has_error(r, 2, "unknown key 'prot' in admin"));
  EXPECT_TRUE(has_error(r, 3, "unknown key 'thread' in server"));
  EXPECT_TRUE(has_error(r, 5, "unknown key 'timout' in upstreams.app"));
  EXPECT_TRUE(has_error(r, 5, "unknown key 'verfy' in upstreams.app.tls"));
  EXPECT_TRUE(has_error(r, 7, "unknown key 'method' in routes[0]"));
  EXPECT_TRUE(has_error(r, 8, "unknown key 'provider' in routes[1].auth"));
  EXPECT_TRUE(has_error(r, 9, "unknown key 'paht' in forward_auth"));
}

TEST(Structure, AllErrorsAtOnceInFileOrder) {
  auto r = load(R"(listen:
  port: 70000
server:
  header_timeout: -5s
  max_body_bytes: -1
  threads: lots
upstreams:
  app: {url: 'ftp://x'}
routes:
  - {name: r, path: x, upstream: nowhere, auth: none}
)");
  ASSERT_GE(r.errors.size(), 6u) << all_errors(r);
  EXPECT_TRUE(has_error(r, 2, "invalid port '70000'"));
  EXPECT_TRUE(has_error(r, 4, "negative"));
  EXPECT_TRUE(has_error(r, 5, "negative"));
  EXPECT_TRUE(has_error(r, 6, "server.threads"));
  EXPECT_TRUE(has_error(r, 8, "http or https"));
  EXPECT_TRUE(has_error(r, 10, "must start with '/'"));
  EXPECT_TRUE(has_error(r, 10, "unknown upstream 'nowhere'"));
  for (std::size_t i = 1; i < r.errors.size(); ++i)
    EXPECT_LE(std::make_pair(r.errors[i - 1].line, r.errors[i - 1].column),
              std::make_pair(r.errors[i].line, r.errors[i].column));
}

TEST(Structure, TypeErrors) {
  auto r = load(R"(listen: [1, 2]
server: {max_connections: {a: 1}, access_log: [x]}
upstreams:
  app: {url: 'http://h', tls: 3}
routes: {name: x}
)");
  EXPECT_TRUE(has_error(r, 1, "listen: expected a mapping, got a list"));
  EXPECT_TRUE(has_error(r, 2, "server.max_connections: expected a non-negative integer, got a mapping"));
  EXPECT_TRUE(has_error(r, 2, "server.access_log: expected a string, got a list"));
  EXPECT_TRUE(has_error(r, 4, "upstreams.app.tls: expected a mapping"));
  EXPECT_TRUE(has_error(r, 5, "routes: expected a list, got a mapping"));
}

TEST(Structure, BooleansAreStrict) {
  auto r = load(std::string(hs256_provider) + "    forward_token: yes\n" + minimal_config());
  EXPECT_TRUE(has_error(r, 7, "providers.corp.forward_token: expected true or false"));
  auto kid = load(std::string(hs256_provider) + "    require_kid: 1\n" + minimal_config());
  EXPECT_TRUE(has_error(kid, 7, "providers.corp.require_kid: expected true or false"));
  auto server = load(minimal_config() + "server:\n  cpu_affinity: on\n");
  EXPECT_TRUE(has_error(server, 10, "server.cpu_affinity: expected true or false"));
}

TEST(Structure, DuplicateKeysAreErrors) {
  auto r = load(minimal_config() + "server:\n  threads: 1\n  threads: 2\n");
  EXPECT_TRUE(has_error(r, 11, "duplicate key 'threads' in server"));
}

TEST(Structure, YamlSyntaxErrorHasPosition) {
  auto r = load("listen:\n  port: [1, 2\nroutes: []\n");
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_GT(r.errors[0].line, 0);
  EXPECT_NE(r.errors[0].message.find("invalid YAML"), std::string::npos);
}

TEST(Structure, EmptyDocumentAndMissingRoutes) {
  EXPECT_NE(all_errors(load("")).find("the configuration is empty"), std::string::npos);
  EXPECT_NE(all_errors(load("# nothing\n")).find("the configuration is empty"), std::string::npos);
  EXPECT_NE(all_errors(load(std::string(app_upstream))).find("at least one route"), std::string::npos);
  EXPECT_NE(all_errors(load("just a string\n")).find("expected a mapping"), std::string::npos);
}

TEST(Structure, HostileInputsDoNotCrash) {
  // Deep nesting, aliases, binary junk: each is an error, never a crash.
  EXPECT_FALSE(load(std::string(5000, '[')).errors.empty());
  EXPECT_FALSE(load("a: &x [*x]\n").errors.empty());
  EXPECT_FALSE(load(std::string("\0\xff\xfe: x\n", 7)).errors.empty());
  EXPECT_FALSE(load("? [a, b]\n: c\n").errors.empty());
  EXPECT_FALSE(load("listen: &l {port: 1}\nadmin: *l\nroutes: [*l]\n").errors.empty());
}

TEST(Structure, MissingFileIsAnErrorWithoutPosition) {
  auto r = load_file(fixture_config_dir() + "/does-not-exist.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 0);
  EXPECT_NE(r.errors[0].to_string().find("does-not-exist.yaml: cannot read"), std::string::npos);
}

}  // namespace
}  // namespace jwtgate::config::testing

namespace jwtgate::config::testing {
namespace {

TEST(Structure, AliasExpansionIsBounded) {
  // A thousand methods, aliased into a route, aliased a thousand times: a few
  // kilobytes of YAML that name a million entries.
  std::string methods = "m: &m [GET";
  for (int i = 1; i < 1000; ++i) methods += ", GET";
  std::string yaml = methods + "]\nr: &r {path: /, methods: *m, auth: none}\nroutes: [*r";
  for (int i = 1; i < 1000; ++i) yaml += ", *r";
  yaml += "]\n";
  auto r = load(yaml);
  EXPECT_FALSE(r.snap);
  EXPECT_LE(r.errors.size(), std::size_t{201});
  EXPECT_NE(all_errors(r).find("the configuration is too large"), std::string::npos);
}

TEST(Structure, ErrorFloodIsSummarized) {
  std::string yaml = minimal_config() + "server:\n";
  for (int i = 0; i < 500; ++i) yaml += "  unknown" + std::to_string(i) + ": 1\n";
  auto r = load(yaml);
  ASSERT_EQ(r.errors.size(), std::size_t{200} + 1);
  EXPECT_EQ(r.errors.back().message, "300 more errors not shown");
}

}  // namespace
}  // namespace jwtgate::config::testing
