// listen.http2, server.max_concurrent_streams and upstreams.*.protocol (SPEC 9):
// defaults, values, and the refusals at their line.

#include "config_test_support.h"

namespace jwtgate::config::testing {
namespace {

TEST(Http2Config, Defaults) {
  auto r = load(minimal_config());
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  const auto& c = r.snap->source;
  EXPECT_TRUE(c.listen.http2);
  EXPECT_EQ(c.server.max_concurrent_streams, 100u);
  ASSERT_FALSE(c.upstreams.empty());
  EXPECT_EQ(c.upstreams.front().protocol, upstream_config::wire::http1);
}

TEST(Http2Config, EveryKey) {
  auto r = load(
      "listen: {http2: false}\n"
      "server: {max_concurrent_streams: 7}\n"
      "upstreams:\n"
      "  app: {url: \"http://127.0.0.1:9000\"}\n"
      "  grpc: {url: \"http://127.0.0.1:50051\", protocol: h2}\n"
      "  tls: {url: \"https://svc.internal\", protocol: http1}\n" +
      std::string(health_route));
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  const auto& c = r.snap->source;
  EXPECT_FALSE(c.listen.http2);
  EXPECT_EQ(c.server.max_concurrent_streams, 7u);
  ASSERT_EQ(c.upstreams.size(), 3u);
  EXPECT_EQ(c.upstreams[1].protocol, upstream_config::wire::h2);
  EXPECT_EQ(c.upstreams[2].protocol, upstream_config::wire::http1);
}

TEST(Http2Config, Refusals) {
  auto with = [](std::string head) { return load(head + minimal_config()); };
  EXPECT_TRUE(has_error(with("listen: {http2: maybe}\n"), 1, "http2"));
  EXPECT_TRUE(has_error(with("server:\n  max_concurrent_streams: 0\n"), 2, "greater than zero"));
  EXPECT_TRUE(has_error(with("server:\n  max_concurrent_streams: -3\n"), 2, "max_concurrent_streams"));
  auto r = load("upstreams:\n  app:\n    url: \"http://127.0.0.1:9000\"\n    protocol: h3\n" + std::string(health_route));
  EXPECT_TRUE(has_error(r, 4, "not a protocol (http1 or h2)"));
}

}  // namespace
}  // namespace jwtgate::config::testing
