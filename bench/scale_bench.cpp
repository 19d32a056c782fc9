// Per-request cost as the configuration grows: routes, keys, verified-token
// cache entries; and the load of a large configuration. Every size of one
// dimension is measured in the same run, repetitions interleaved in random
// order, and the table at the end gives the median CPU ns per request and
// its ratio to the smallest size. (Idle connections: bench/scale_idle.py.)
//
// usage: jwtgate_scale_bench [--quick] [--benchmark_* flags]
//
//   routes/N   auth::decide (route match included) for a request that matches
//              the last of N prefix routes, auth none
//   keys/N     auth::decide with an HS256 token whose kid is the last of N keys
//              of one JWKS; the cache is off, so every request verifies
//   nokid/ALG/N  a forged token without kid: one verification per key of ALG
//   require_kid/N  the same forged token with require_kid: true
//   cache/N    auth::decide, cache hit, for a token picked at random among N
//              distinct tokens held by the cache (memory latency included)
//   cache_same/N  the same, one token again and again (the index's own cost)
//   evict/N    token_cache::insert into a full cache of N (one eviction each)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <malloc.h>
#include <unistd.h>

#include <benchmark/benchmark.h>
#include <boost/json.hpp>

#include "jwtgate/auth/decision.h"
#include "jwtgate/auth/header_view.h"
#include "jwtgate/auth/thread_context.h"
#include "jwtgate/auth/token_cache.h"
#include "jwtgate/config/snapshot.h"
#include "jwtgate/jose/keygen.h"
#include "jwtgate/jose/sign.h"

#include "bench_support.h"

namespace {

namespace auth = jwtgate::auth;
namespace config = jwtgate::config;
namespace jose = jwtgate::jose;
using jwtgate::bench::collecting_reporter;

constexpr std::int64_t now = 1'700'000'000;
const std::vector<std::size_t> route_sizes = {1, 10, 100, 1000, 10000};
const std::vector<std::size_t> key_sizes = {1, 10, 100, 1000};
const std::vector<std::size_t> cache_sizes = {10'000, 100'000, 1'000'000};

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "jwtgate_scale_bench: %s\n", message.c_str());
  std::exit(1);
}

bool equals_ci(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Host and, when set, Authorization; the token can change between requests
// without building a new header list.
class request_headers : public auth::header_view {
 public:
  std::string_view authorization;
  std::size_t count(std::string_view name) const override {
    if (equals_ci(name, "host")) return 1;
    return equals_ci(name, "authorization") && !authorization.empty() ? 1 : 0;
  }
  void for_each(std::string_view name, const std::function<void(std::string_view)>& f) const override {
    if (equals_ci(name, "host")) f("api.example.com");
    else if (equals_ci(name, "authorization") && !authorization.empty()) f(authorization);
  }
};

struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "jwtgate-scale-bench-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) die("cannot create a temporary directory");
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

std::size_t heap_in_use() { return mallinfo2().uordblks; }

std::shared_ptr<const config::snapshot> load(const std::filesystem::path& file, const std::string& yaml) {
  std::ofstream(file) << yaml;
  config::load_result loaded = config::load_file(file.string());
  if (!loaded.snap) {
    std::string message = "the configuration does not load:";
    for (const auto& e : loaded.errors) message += "\n  " + e.to_string();
    die(message);
  }
  return loaded.snap;
}

const std::string upstreams = "upstreams:\n  app:\n    url: http://127.0.0.1:9000\n";

std::string routes_yaml(std::size_t n, const std::string& auth) {
  std::string y = "routes:\n";
  for (std::size_t i = 0; i < n; ++i)
    y += "  - {name: r" + std::to_string(i) + ", path_prefix: /t" + std::to_string(i) + "/api, upstream: app, auth: " +
         auth + "}\n";
  return y;
}

// The JWK object text inside a one-key JWKS, with its kid replaced.
std::string jwk_with_kid(const std::string& jwks, const std::string& kid) {
  boost::json::object k = boost::json::parse(jwks).as_object().at("keys").as_array().at(0).as_object();
  k["kid"] = kid;
  return boost::json::serialize(k);
}

// N keys of `a` in one JWKS file: HS256 keys each with their own secret; RS256
// one RSA key repeated under N kids (the cost of a verification is the same,
// and generating 1,000 RSA keys would take a minute). The signing key is the last.
std::string write_jwks(const std::filesystem::path& file, jose::alg a, std::size_t n, jose::signing_key& last) {
  std::string doc = "{\"keys\":[";
  jose::generated_key shared;
  std::string error;
  if (a != jose::alg::HS256 && !jose::generate_key(a, "k", shared, error)) die(error);
  for (std::size_t i = 0; i < n; ++i) {
    const std::string kid = "k" + std::to_string(i);
    jose::generated_key g;
    if (a == jose::alg::HS256) {
      if (!jose::generate_key(a, kid, g, error)) die(error);
    } else {
      g = shared;
    }
    if (i) doc += ",";
    doc += jwk_with_kid(g.jwks, kid);
    last = g.signing;
  }
  doc += "]}";
  std::ofstream(file) << doc;
  return file.string();
}

std::string provider_yaml(const std::string& name, const std::string& algs, const std::string& jwks_file,
                          bool require_kid) {
  return "  " + name + ":\n    algorithms: [" + algs + "]\n    keys:\n      - {jwks_file: " + jwks_file +
         "}\n    require_claims: []\n    require_kid: " + (require_kid ? "true" : "false") + "\n" +
         "    headers: {X-User-Id: sub}\n";
}

std::string sign(const jose::signing_key& k, std::string_view kid, const boost::json::object& claims) {
  std::string token, error;
  if (!jose::sign_jwt(k, kid, claims, token, error)) die(error);
  return token;
}

boost::json::object claims_of(std::size_t i) {
  return {{"iss", "https://id.example.com"},
          {"sub", "user-" + std::to_string(i)},
          {"aud", "orders-api"},
          {"iat", now - 60},
          {"exp", now + 840},
          {"scope", "openid profile orders:read"},
          {"jti", "5c1f3a0e-3b0f-4f43-" + std::to_string(1'000'000'000 + i)}};
}

// One benchmarked request: a snapshot, a target, a token (or none) and a
// context (its cache), with the outcome it must have.
struct request_case {
  std::shared_ptr<const config::snapshot> snap;
  std::string target;
  std::vector<std::string> bearers;  // "Bearer ..."; one picked at random per request when several
  std::unique_ptr<auth::thread_context> ctx;
  auth::thread_context* ctx_ref = nullptr;  // another case's context, when ctx is empty
  bool expect_forward = true;
  jose::status expect_reason = jose::status::ok;
  auth::thread_context& context() const { return ctx ? *ctx : *ctx_ref; }
};

std::vector<std::unique_ptr<request_case>> cases;
std::map<std::string, double> bytes_per_entry;  // cache/N -> heap bytes per entry
std::vector<std::string> config_notes;

bool as_expected(const request_case& c, const auth::decision& d) {
  if (c.expect_forward) return d.what == auth::decision::action::forward;
  return d.what == auth::decision::action::respond && d.reason == c.expect_reason;
}

void add_case(const std::string& name, std::unique_ptr<request_case> owned, const jwtgate::bench::run_options& o) {
  request_case& c = *owned;
  cases.push_back(std::move(owned));
  request_headers probe;
  if (!c.bearers.empty()) probe.authorization = c.bearers.front();
  const auth::decision d = auth::decide(*c.snap, auth::request_head{"GET", c.target, "api.example.com", &probe},
                                        c.context(), now);
  if (!as_expected(c, d))
    die(name + ": unexpected decision (reason " + std::string(jose::to_string(d.reason)) + ")");
  jwtgate::bench::configure(
      benchmark::RegisterBenchmark(name.c_str(),
                                   [&c](benchmark::State& state) {
                                     request_headers headers;
                                     const auth::request_head req{"GET", c.target, "api.example.com", &headers};
                                     std::minstd_rand rng(42);
                                     const std::size_t n = c.bearers.size();
                                     // The token of a request has just been read from the socket: it
                                     // is in a hot buffer, not in cold bench memory. The next one is
                                     // prefetched while this one is decided, then copied here.
                                     std::string hot;
                                     hot.reserve(16 * 1024);
                                     std::size_t next = n > 1 ? rng() % n : 0;
                                     for (auto _ : state) {
                                       if (n) {
                                         hot.assign(c.bearers[next]);
                                         headers.authorization = hot;
                                         if (n > 1) {
                                           next = rng() % n;
                                           const std::string& b = c.bearers[next];
                                           for (std::size_t i = 0; i < b.size(); i += 64) __builtin_prefetch(b.data() + i);
                                         }
                                       }
                                       auth::decision d = auth::decide(*c.snap, req, c.context(), now);
                                       benchmark::DoNotOptimize(d);
                                       if (!as_expected(c, d)) {
                                         state.SkipWithError("unexpected decision");
                                         break;
                                       }
                                     }
                                   }),
      o);
}

void route_cases(const std::filesystem::path& dir, const jwtgate::bench::run_options& o) {
  for (std::size_t n : route_sizes) {
    auto c = std::make_unique<request_case>();
    c->snap = load(dir / ("routes-" + std::to_string(n) + ".yaml"), upstreams + routes_yaml(n, "none"));
    c->target = "/t" + std::to_string(n - 1) + "/api/orders/42?expand=items";
    c->ctx = std::make_unique<auth::thread_context>(0);
    add_case("routes/" + std::to_string(n), std::move(c), o);
  }
}

void key_cases(const std::filesystem::path& dir, const jwtgate::bench::run_options& o) {
  const std::string route = "routes:\n  - {name: api, path_prefix: /api, upstream: app, auth: {providers: [p]}}\n";
  for (jose::alg a : {jose::alg::HS256, jose::alg::RS256}) {
    const std::string alg_name(jose::to_string(a));
    for (std::size_t n : key_sizes) {
      jose::signing_key last;
      const std::string jwks = write_jwks(dir / (alg_name + "-" + std::to_string(n) + ".json"), a, n, last);
      for (bool require_kid : {false, true}) {
        if (require_kid && a != jose::alg::HS256) continue;
        auto snap = load(dir / ("keys.yaml"),
                         upstreams + "providers:\n" + provider_yaml("p", alg_name, jwks, require_kid) + route);
        auto make = [&](std::string token, bool forward, jose::status reason) {
          auto c = std::make_unique<request_case>();
          c->snap = snap;
          c->target = "/api/orders/42";
          c->bearers = {"Bearer " + token};
          c->ctx = std::make_unique<auth::thread_context>(0);  // every request verifies
          c->expect_forward = forward;
          c->expect_reason = reason;
          return c;
        };
        // A forgery: the right alg, no kid, a genuine signature with one
        // character changed (so an RSA signature stays below the modulus and
        // every key really computes).
        std::string forged = sign(last, "", claims_of(0));
        char& c = forged[forged.rfind('.') + 10];
        c = c == 'A' ? 'B' : 'A';
        const std::string size = std::to_string(n);
        if (require_kid) {
          add_case("require_kid/" + size, make(forged, false, jose::status::malformed), o);
          continue;
        }
        if (a == jose::alg::HS256)
          add_case("keys/" + size, make(sign(last, "k" + std::to_string(n - 1), claims_of(0)), true, jose::status::ok), o);
        add_case("nokid/" + alg_name + "/" + size, make(forged, false, jose::status::bad_signature), o);
      }
    }
  }
}

void cache_cases(const std::filesystem::path& dir, const jwtgate::bench::run_options& o, bool quick) {
  jose::signing_key key;
  const std::string jwks = write_jwks(dir / "cache.json", jose::alg::HS256, 1, key);
  const std::string yaml = upstreams + "providers:\n" + provider_yaml("p", "HS256", jwks, false) +
                           "routes:\n  - {name: api, path_prefix: /api, upstream: app, auth: {providers: [p], "
                           "scopes: [orders:read]}}\n";
  auto snap = load(dir / "cache.yaml", yaml);
  for (std::size_t n : cache_sizes) {
    if (quick) n /= 100;
    auto c = std::make_unique<request_case>();
    c->snap = snap;
    c->target = "/api/orders/42";
    c->bearers.reserve(n);
    for (std::size_t i = 0; i < n; ++i) c->bearers.push_back("Bearer " + sign(key, "k0", claims_of(i)));
    c->ctx = std::make_unique<auth::thread_context>(n);
    // Fill the cache: every token verified once. The heap it takes is what
    // the cache holds per entry (token bytes, payload, index).
    request_headers headers;
    const auth::request_head req{"GET", c->target, "api.example.com", &headers};
    const std::size_t before = heap_in_use();
    for (const std::string& b : c->bearers) {
      headers.authorization = b;
      if (auth::decide(*snap, req, *c->ctx, now).what != auth::decision::action::forward) die("cache fill refused");
    }
    const std::string name = "cache/" + std::to_string(n);
    bytes_per_entry[name] = double(heap_in_use() - before) / double(n);
    // The same cache, one token again and again: the index's own cost, its
    // memory hot.
    auto same = std::make_unique<request_case>();
    same->snap = snap;
    same->target = c->target;
    same->bearers = {c->bearers[n / 2]};
    same->ctx_ref = c->ctx.get();
    add_case(name, std::move(c), o);
    add_case("cache_same/" + std::to_string(n), std::move(same), o);
  }
}

// token_cache::insert into a full cache: each insert evicts the oldest entry.
struct evict_case {
  auth::token_cache cache;
  std::vector<std::string> tokens;
  std::shared_ptr<const auth::verified_token> verified = std::make_shared<auth::verified_token>();
  auth::verification_stamp stamp;
  explicit evict_case(std::size_t n) : cache(n) {}
};
std::vector<std::unique_ptr<evict_case>> evictions;

void evict_cases(const std::filesystem::path& dir, const jwtgate::bench::run_options& o, bool quick) {
  jose::signing_key key;
  const std::string jwks = write_jwks(dir / "evict.json", jose::alg::HS256, 1, key);
  auto snap = load(dir / "evict.yaml", upstreams + "providers:\n" + provider_yaml("p", "HS256", jwks, false) +
                                           "routes:\n  - {name: api, path_prefix: /, upstream: app, auth: none}\n");
  for (std::size_t n : cache_sizes) {
    if (quick) n /= 100;
    auto e = std::make_unique<evict_case>(n);
    e->stamp = auth::live_stamp(*snap, snap->providers.front());
    // Twice as many tokens as entries, inserted round-robin: the cache is
    // always full and every insert is a new token.
    for (std::size_t i = 0; i < 2 * n; ++i) e->tokens.push_back(sign(key, "k0", claims_of(i)));
    for (std::size_t i = 0; i < n; ++i) e->cache.insert(e->tokens[i], e->stamp, double(now + 900), e->verified);
    evict_case& ref = *e;
    evictions.push_back(std::move(e));
    jwtgate::bench::configure(benchmark::RegisterBenchmark(("evict/" + std::to_string(n)).c_str(),
                                                           [&ref, n](benchmark::State& state) {
                                                             std::size_t i = n;
                                                             for (auto _ : state) {
                                                               ref.cache.insert(ref.tokens[i], ref.stamp,
                                                                                double(now + 900), ref.verified);
                                                               i = (i + 1) % ref.tokens.size();
                                                             }
                                                             if (ref.cache.size() != n)
                                                               state.SkipWithError("the cache is not full");
                                                           }),
                              o);
  }
}

// Load + validate + compile of 10,000 routes and 1,000 keys (RS256, one JWKS):
// wall time (median of 5) and the heap the snapshot holds.
void config_load(const std::filesystem::path& dir, bool quick) {
  const std::size_t routes = quick ? 1000 : 10000, keys = quick ? 100 : 1000;
  jose::signing_key last;
  const std::string jwks = write_jwks(dir / "big.json", jose::alg::RS256, keys, last);
  std::string yaml = upstreams + "providers:\n" + provider_yaml("p", "RS256", jwks, false) +
                     routes_yaml(routes, "{providers: [p]}");
  const auto file = dir / "big.yaml";
  std::ofstream(file) << yaml;
  std::vector<double> ms;
  std::size_t held = 0;
  for (int i = 0; i < 5; ++i) {
    const std::size_t before = heap_in_use();
    const auto t0 = std::chrono::steady_clock::now();
    config::load_result r = config::load_file(file.string());
    const auto t1 = std::chrono::steady_clock::now();
    if (!r.snap) die("the large configuration does not load");
    held = heap_in_use() - before;
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  char line[256];
  std::snprintf(line, sizeof line,
                "config with %zu routes and %zu RS256 keys (%zu KiB of YAML): load+validate+compile %.0f ms "
                "(median of 5, min %.0f), snapshot heap %.1f MiB",
                routes, keys, yaml.size() / 1024, ms[2], ms[0], double(held) / (1024.0 * 1024.0));
  config_notes.push_back(line);
}

void print_dimension(const collecting_reporter& r, const char* title, const std::string& prefix,
                     const std::vector<std::size_t>& sizes, std::size_t divide = 1) {
  std::printf("\n%s\n| size | median ns/request | min ns | ratio to smallest |\n|---:|---:|---:|---:|\n", title);
  double base = 0;
  for (std::size_t n : sizes) {
    const std::string name = prefix + std::to_string(n / divide);
    const double med = r.get(name, "median");
    if (med == 0) continue;
    if (base == 0) base = med;
    std::printf("| %zu | %.0f | %.0f | %.2fx |\n", n / divide, med, r.get(name, "min"), med / base);
  }
}

}  // namespace

int main(int argc, char** argv) {
  jwtgate::bench::run_options o;
  o.repetitions = 11;  // a shared machine: many short repetitions, interleaved, and their median
  o.min_time = 0.05;
  if (!jwtgate::bench::initialize(argc, argv, o)) return 1;
  temp_dir dir;
  std::fprintf(stderr, "setting up (1,000,000 tokens are signed and cached; about a minute)...\n");
  route_cases(dir.path, o);
  key_cases(dir.path, o);
  cache_cases(dir.path, o, o.quick);
  evict_cases(dir.path, o, o.quick);
  config_load(dir.path, o.quick);

  collecting_reporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);

  const std::size_t d = o.quick ? 100 : 1;
  print_dimension(reporter, "routes: auth::decide, request matching the last of N prefix routes", "routes/",
                  route_sizes);
  print_dimension(reporter, "keys: auth::decide, HS256 token with the kid of the last of N JWKS keys, no cache",
                  "keys/", key_sizes);
  print_dimension(reporter, "forged HS256 token without kid (one HMAC per key)", "nokid/HS256/", key_sizes);
  print_dimension(reporter, "forged RS256 token without kid (one RSA verification per key)", "nokid/RS256/",
                  key_sizes);
  print_dimension(reporter, "the same forged HS256 token with require_kid: true", "require_kid/", key_sizes);
  print_dimension(reporter, "cache: auth::decide, hit on a random one of N cached tokens", "cache/", cache_sizes, d);
  print_dimension(reporter, "cache: auth::decide, hit on one token again, the cache holding N", "cache_same/",
                  cache_sizes, d);
  print_dimension(reporter, "cache: token_cache::insert into a full cache (one eviction)", "evict/", cache_sizes, d);
  std::printf("\ncache heap per entry (token bytes + payload + index), measured while filling:\n");
  for (const auto& [name, bytes] : bytes_per_entry) std::printf("  %s: %.0f bytes\n", name.c_str(), bytes);
  std::printf("\n");
  for (const auto& note : config_notes) std::printf("%s\n", note.c_str());

  const double r10 = reporter.get("routes/10", "median"), r10k = reporter.get("routes/10000", "median");
  const double k1 = reporter.get("keys/1", "median"), k1k = reporter.get("keys/1000", "median");
  const double c10k = reporter.get("cache/" + std::to_string(10000 / d), "median");
  const double c1m = reporter.get("cache/" + std::to_string(1000000 / d), "median");
  std::printf("\ntargets (medians of this run):\n");
  if (r10 > 0 && r10k > 0)
    std::printf("  routes 10,000 vs 10:   %.2fx (target <= 1.10x) %s\n", r10k / r10, r10k / r10 <= 1.10 ? "met" : "MISSED");
  if (k1 > 0 && k1k > 0)
    std::printf("  keys 1,000 vs 1:       %.2fx (target <= 1.05x) %s\n", k1k / k1, k1k / k1 <= 1.05 ? "met" : "MISSED");
  if (c10k > 0 && c1m > 0)
    std::printf("  cache hit 1M vs 10k:   %.2fx (target <= 1.20x) %s\n", c1m / c10k, c1m / c10k <= 1.20 ? "met" : "MISSED");
  return reporter.failed ? 1 : 0;
}
