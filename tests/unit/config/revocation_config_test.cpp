// revocation: and backchannel_logout: (SPEC 8): defaults, every key, and the
// refusals at their line.

#include <cstdlib>

#include "config_test_support.h"

namespace jwtgate::config::testing {
namespace {

// A revocation block (its lines start at line 1) followed by the minimal rest.
load_result load_revocation(std::string_view yaml) { return load(std::string(yaml) + minimal_config()); }

TEST(RevocationConfig, Defaults) {
  auto r = load_revocation("revocation: {}\n");
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  const auto& c = *r.snap->source.revocation;
  EXPECT_EQ(c.store, revocation_config::store_kind::local);
  EXPECT_EQ(c.file, "");
  EXPECT_EQ(c.on_store_error, revocation_config::error_policy::serve_last);
  EXPECT_EQ(c.default_ttl, std::chrono::hours(720));
  EXPECT_EQ(c.admin_token_env, "JWTGATE_ADMIN_TOKEN");
  EXPECT_EQ(c.redis.url, "redis://127.0.0.1:6379/0");
  EXPECT_EQ(c.redis.key_prefix, "jwtgate:");
  EXPECT_EQ(c.redis.timeout, std::chrono::milliseconds(500));
}

TEST(RevocationConfig, AbsentMeansOff) {
  auto r = load(std::string(minimal_config()));
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  EXPECT_FALSE(r.snap->source.revocation.has_value());
}

TEST(RevocationConfig, EveryKey) {
  ::setenv("JWTGATE_TEST_REDIS_PW", "pw", 1);
  ::setenv("JWTGATE_TEST_ADMIN", "admin-secret", 1);
  auto r = load_revocation(
      "revocation:\n  store: redis\n  redis:\n    url: rediss://Redis.Internal:6380/3\n"
      "    password_env: JWTGATE_TEST_REDIS_PW\n    key_prefix: \"gw1:\"\n    timeout: 250ms\n"
      "    tls: {server_name: redis.internal}\n  on_store_error: deny\n  default_ttl: 24h\n"
      "  admin_token_env: JWTGATE_TEST_ADMIN\n");
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  const auto& c = *r.snap->source.revocation;
  EXPECT_EQ(c.store, revocation_config::store_kind::redis);
  EXPECT_TRUE(c.redis.tls);
  EXPECT_EQ(c.redis.host, "redis.internal");
  EXPECT_EQ(c.redis.port, 6380);
  EXPECT_EQ(c.redis.database, 3u);
  EXPECT_EQ(c.redis.key_prefix, "gw1:");
  EXPECT_EQ(c.redis.timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(c.redis.tls_options.server_name, "redis.internal");
  EXPECT_EQ(c.on_store_error, revocation_config::error_policy::deny);
  EXPECT_EQ(c.default_ttl, std::chrono::hours(24));
  EXPECT_EQ(r.snap->redis_password, "pw");
  EXPECT_EQ(r.snap->revocation_admin_token, "admin-secret");
}

TEST(RevocationConfig, Refusals) {
  EXPECT_TRUE(has_error(load_revocation("revocation:\n  store: memcached\n"), 2, "not a store"));
  EXPECT_TRUE(has_error(load_revocation("revocation:\n  on_store_error: crash\n"), 2, "not a policy"));
  EXPECT_TRUE(has_error(load_revocation("revocation:\n  default_ttl: 0s\n"), 2, "at least 1s"));
  EXPECT_TRUE(has_error(load_revocation("revocation:\n  stroe: local\n"), 2, "stroe"));
  EXPECT_TRUE(has_error(load_revocation("revocation:\n  admin_token_env: \"NOT A NAME\"\n"), 2,
                        "not an environment variable name"));
  EXPECT_TRUE(has_error(load_revocation("revocation:\n  store: redis\n  file: /tmp/x\n"), 3, "local only"));
  EXPECT_TRUE(has_error(load_revocation("revocation:\n  redis: {url: \"redis://h\"}\n"), 2, "redis only"));
  auto url = [](std::string u) { return "revocation:\n  store: redis\n  redis:\n    url: \"" + u + "\"\n"; };
  EXPECT_TRUE(has_error(load_revocation(url("http://h")), 4, "redis or rediss"));
  EXPECT_TRUE(has_error(load_revocation(url("redis://user:pw@h")), 4, "password_env"));
  EXPECT_TRUE(has_error(load_revocation(url("redis://h:0")), 4, "port"));
  EXPECT_TRUE(has_error(load_revocation(url("redis://h/x")), 4, "database number"));
  EXPECT_TRUE(has_error(load_revocation(url("redis:///0")), 4, "host"));
  EXPECT_TRUE(has_error(load_revocation("revocation:\n  store: redis\n  redis:\n    url: redis://h\n"
                                        "    tls: {verify: false}\n"),
                        5, "rediss"));
  ::unsetenv("JWTGATE_TEST_MISSING_PW");
  EXPECT_TRUE(has_error(load_revocation("revocation:\n  store: redis\n  redis:\n"
                                        "    password_env: JWTGATE_TEST_MISSING_PW\n"),
                        4, "not set"));
}

TEST(RevocationConfig, BackchannelLogout) {
  const std::string provider =
      "providers:\n  p:\n    algorithms: [HS256]\n    keys: [{alg: HS256, secret_file: keys/hmac-secret-40.txt}]\n"
      "    backchannel_logout:\n";
  auto ok = load(provider + "      path: /logout\n      audiences: [web]\nrevocation: {}\n" + minimal_config());
  ASSERT_TRUE(ok.errors.empty()) << all_errors(ok);
  ASSERT_EQ(ok.snap->backchannel_paths.size(), 1u);
  EXPECT_NE(ok.snap->backchannel_provider("/logout"), nullptr);
  EXPECT_EQ(ok.snap->backchannel_provider("/logout/x"), nullptr);

  EXPECT_TRUE(has_error(load(provider + "      path: /logout\n      audiences: [web]\n" + minimal_config()), 5,
                        "needs a revocation section"));
  EXPECT_TRUE(has_error(load(provider + "      audiences: [web]\nrevocation: {}\n" + minimal_config()), 5,
                        "path is required"));
  EXPECT_TRUE(has_error(load(provider + "      path: /logout\nrevocation: {}\n" + minimal_config()), 5,
                        "audiences is required"));
  EXPECT_TRUE(has_error(load(provider + "      path: /logout\n      audiences: []\nrevocation: {}\n" +
                             minimal_config()),
                        7, "at least one audience"));
  EXPECT_TRUE(has_error(load(provider + "      path: /a/../b\n      audiences: [w]\nrevocation: {}\n" +
                             minimal_config()),
                        6, "path"));
}

}  // namespace
}  // namespace jwtgate::config::testing
