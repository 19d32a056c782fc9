// The compiled route index against the plain first-match-in-order scan it
// replaced, over random route sets and random requests.

#include <gtest/gtest.h>

#include <cstddef>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "jwtgate/routing/route_table.h"

namespace jwtgate::routing {
namespace {

// The reference: every matcher in file order, the first that matches wins.
std::optional<std::size_t> linear_match(const std::vector<route_matcher>& routes, std::string_view method,
                                        std::string_view path, std::string_view host) {
  for (std::size_t i = 0; i < routes.size(); ++i)
    if (routes[i].matches(method, path, host)) return i;
  return std::nullopt;
}

// A small alphabet of segments, some of them prefixes of others ("a", "ab",
// "abc"), so that prefix routes that are substrings of a segment are common.
const std::vector<std::string> segments = {"a", "ab", "abc", "b", "api", "apix", "v1", "v10", "x", "A", ""};
const std::vector<std::string> methods = {"GET", "POST", "PUT", "DELETE", "get", "PATCH"};
const std::vector<std::string> route_hosts = {"api.example.com", "API.example.com", "other.example.com",
                                              "api.example.com:8443", "[::1]", "::1", "a.b.", ":80", "x"};
const std::vector<std::string> request_hosts = {"",  "api.example.com", "Api.Example.Com:80", "other.example.com",
                                                "evil.example.com", "[::1]:8080", "::1", "a.b", "a.b.:1",
                                                "x", "X:9", "[api.example.com", "api.example.com.evil"};

class generator {
 public:
  explicit generator(std::uint32_t seed) : rng_(seed) {}

  std::size_t below(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }
  bool chance(int percent) { return static_cast<int>(below(100)) < percent; }

  // "/a/ab", "/", "//a", "a/b", "/a/", "" ...
  std::string path() {
    switch (below(12)) {
      case 0: return "";
      case 1: return "/";
      case 2: return "//";
      default: break;
    }
    std::string p = chance(95) ? "/" : "";
    const std::size_t n = below(5);
    for (std::size_t i = 0; i < n; ++i) {
      if (i > 0) p += '/';
      p += segments[below(segments.size())];
    }
    if (chance(25)) p += '/';
    if (chance(5)) p += "//";
    return p;
  }

  route_matcher route() {
    route_matcher m;
    switch (below(10)) {
      case 0: break;  // no path rule: every path
      case 1: case 2: case 3: m.path = path(); break;
      case 4: m.path_prefix = chance(50) ? "/" : "///"; break;
      default: m.path_prefix = path(); break;
    }
    if (chance(10)) {  // both: the exact path is what counts
      m.path = path();
      m.path_prefix = path();
    }
    if (chance(30)) {
      const std::size_t n = 1 + below(3);
      for (std::size_t i = 0; i < n; ++i) m.methods.push_back(methods[below(methods.size())]);
    }
    if (chance(35)) m.host = route_hosts[below(route_hosts.size())];
    return m;
  }

 private:
  std::mt19937 rng_;
};

TEST(route_table_property, index_agrees_with_the_linear_scan) {
  std::size_t checked = 0;
  std::size_t matched = 0;
  for (std::uint32_t seed = 1; seed <= 400; ++seed) {
    generator gen(seed);
    std::vector<route_matcher> routes;
    const std::size_t n = gen.below(seed % 10 == 0 ? 200 : 25);
    for (std::size_t i = 0; i < n; ++i) routes.push_back(gen.route());
    const route_table table(routes);
    ASSERT_EQ(table.size(), routes.size());
    for (int q = 0; q < 300; ++q) {
      const std::string method = methods[gen.below(methods.size())];
      // Half the requests use a path some route names, the other half a random one.
      std::string path = gen.path();
      if (!routes.empty() && gen.chance(50)) {
        const route_matcher& r = routes[gen.below(routes.size())];
        path = !r.path.empty() ? r.path : r.path_prefix;
        if (gen.chance(40)) path += gen.chance(50) ? "/" : "/" + segments[gen.below(segments.size())];
        if (gen.chance(10)) path += "x";  // "/api" -> "/apix": a prefix of a segment, not of the path
      }
      const std::string host = request_hosts[gen.below(request_hosts.size())];
      const auto want = linear_match(routes, method, path, host);
      ASSERT_EQ(table.match(method, path, host), want)
          << "seed " << seed << ": " << method << " '" << path << "' host '" << host << "' over " << n << " routes";
      ++checked;
      if (want) ++matched;
    }
  }
  // The generator must reach both outcomes often, or the comparison says little.
  EXPECT_GT(matched, checked / 5);
  EXPECT_LT(matched, checked - checked / 20);
}

TEST(route_table_property, many_routes_of_one_prefix_keep_file_order) {
  // 1,000 routes on the same prefix, told apart by host and method only.
  std::vector<route_matcher> routes;
  for (int i = 0; i < 1000; ++i) {
    route_matcher m;
    m.path_prefix = "/api";
    m.host = "t" + std::to_string(i % 300) + ".example.com";
    if (i % 2) m.methods = {"POST"};
    routes.push_back(m);
  }
  routes.push_back({{}, "/", {}, {}});
  const route_table table(routes);
  for (int i = 0; i < 300; ++i) {
    const std::string host = "T" + std::to_string(i) + ".example.com:443";
    for (const char* method : {"GET", "POST", "PUT"})
      for (const char* path : {"/api", "/api/x", "/apix", "/"})
        ASSERT_EQ(table.match(method, path, host), linear_match(routes, method, path, host))
            << method << " " << path << " " << host;
  }
}

TEST(route_table_property, edge_cases) {
  const std::vector<route_matcher> routes = {
      {"/exact", {}, {}, {}},     {{}, "/a/", {}, {}},  {{}, "/a/b", {"GET"}, {}}, {{}, "//", {}, {}},
      {{}, "a", {}, {}},          {"", "", {}, "h"},   {{}, "/ab", {}, ":80"},     {"/exact/", {}, {}, {}},
      {{}, "/v1//x", {}, {}},
  };
  const route_table table(routes);
  for (const char* path : {"", "/", "//", "///", "/exact", "/exact/", "/exactx", "/a", "/a/", "/a/b", "/a/b/",
                           "/ab", "/abc", "a", "a/", "ab", "/v1//x", "/v1//x/y", "/v1/x"})
    for (const char* host : {"", "h", "H:1", "h.", "other"})
      for (const char* method : {"GET", "POST"})
        EXPECT_EQ(table.match(method, path, host), linear_match(routes, method, path, host))
            << method << " '" << path << "' '" << host << "'";
}

}  // namespace
}  // namespace jwtgate::routing
