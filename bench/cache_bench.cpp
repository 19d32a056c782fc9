// The verified-token cache, through the whole request decision
// (auth::decide: route match, token extraction, verification or cache lookup,
// route scopes, identity headers), for every algorithm: the same token again
// with a cache (hit) and with the cache disabled (a full verification each time).
// After the run it prints alg / uncached ns / cache-hit ns / speed-up, and the
// cache-hit cost of RS256 and ES256 next to HS256's: a repeated token should
// cost about the same whatever signed it.
//
// usage: jwtgate_cache_bench [--quick] [--benchmark_* flags]
//
// The configuration is real: key files written to a temporary directory, a
// YAML file naming them, loaded with config::load_file, one provider and one
// route per algorithm. Times are CPU ns per decision, minimum over repetitions
// (run in random order across benchmarks, see main).
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <unistd.h>

#include <benchmark/benchmark.h>

#include "jwtgate/auth/decision.h"
#include "jwtgate/auth/header_view.h"
#include "jwtgate/auth/thread_context.h"
#include "jwtgate/config/snapshot.h"
#include "jwtgate/jose/keygen.h"
#include "jwtgate/jose/sign.h"

#include "bench_support.h"

namespace {

using jwtgate::bench::collecting_reporter;

namespace auth = jwtgate::auth;
namespace config = jwtgate::config;
namespace jose = jwtgate::jose;

constexpr jose::alg all_algs[] = {
    jose::alg::HS256, jose::alg::HS384, jose::alg::HS512, jose::alg::RS256, jose::alg::RS384,
    jose::alg::RS512, jose::alg::PS256, jose::alg::PS384, jose::alg::PS512, jose::alg::ES256,
    jose::alg::ES384, jose::alg::ES512, jose::alg::EdDSA,
};

constexpr std::int64_t now = 1'700'000'000;
constexpr std::size_t cache_entries = 10000;  // the configuration default

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "jwtgate_cache_bench: %s\n", message.c_str());
  std::exit(1);
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return out;
}

bool equals_ci(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// The request's header fields as a small list of pairs, as a codec would hand them.
class header_list : public auth::header_view {
 public:
  explicit header_list(std::vector<std::pair<std::string, std::string>> fields) : fields_(std::move(fields)) {}

  std::size_t count(std::string_view name) const override {
    return static_cast<std::size_t>(
        std::count_if(fields_.begin(), fields_.end(), [&](const auto& f) { return equals_ci(f.first, name); }));
  }
  void for_each(std::string_view name, const std::function<void(std::string_view)>& f) const override {
    for (const auto& field : fields_)
      if (equals_ci(field.first, name)) f(field.second);
  }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

// One provider and route per algorithm, and a request carrying a token for it.
struct fixture {
  std::filesystem::path dir;
  std::shared_ptr<const config::snapshot> snap;
  struct alg_case {
    jose::alg algorithm;
    std::string token;
    std::string target;
    std::unique_ptr<header_list> headers;
  };
  std::vector<alg_case> cases;

  ~fixture() {
    std::error_code ec;
    if (!dir.empty()) std::filesystem::remove_all(dir, ec);
  }
};

void build(fixture& fx) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "jwtgate-cache-bench-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) die("cannot create a temporary directory");
  fx.dir = tmpl;

  const boost::json::object claims{
      {"iss", "https://id.example.com"}, {"sub", "user-1234567890"}, {"aud", "orders-api"},
      {"iat", now - 60},                 {"exp", now + 840},          {"scope", "openid profile orders:read"},
      {"realm_access", {{"roles", {"user", "buyer"}}}}, {"jti", "5c1f3a0e-3b0f-4f43-9b8e-0e6f1c2d7a11"},
  };
  std::string yaml =
      "upstreams:\n"
      "  app:\n"
      "    url: http://127.0.0.1:9000\n"
      "providers:\n";
  std::string routes = "routes:\n";
  for (jose::alg a : all_algs) {
    const std::string name = lower(jose::to_string(a));
    const std::string kid = "key-" + name;
    jose::generated_key key;
    std::string error;
    std::vector<std::string> written;
    const std::string key_dir = (fx.dir / name).string();
    if (!jose::generate_key(a, kid, key, error) || !jose::write_key_files(key, key_dir, written, error)) die(error);
    std::string token;
    if (!jose::sign_jwt(key.signing, kid, claims, token, error)) die(error);

    // HMAC secrets as operators usually give them (a secret file with its
    // alg); public keys as a JWKS file.
    const std::string key_source =
        jose::family(a) == jose::alg_family::hmac
            ? "{kid: " + kid + ", alg: " + std::string(jose::to_string(a)) + ", secret_file: " + key_dir + "/secret}"
            : "{jwks_file: " + key_dir + "/jwks.json}";
    yaml += "  p-" + name + ":\n"
            "    issuer: https://id.example.com\n"
            "    audiences: [orders-api]\n"
            "    algorithms: [" + std::string(jose::to_string(a)) + "]\n"
            "    keys:\n"
            "      - " + key_source + "\n"
            "    max_lifetime: 24h\n"
            "    headers:\n"
            "      X-User-Id: sub\n"
            "      X-User-Roles: realm_access.roles\n";
    routes += "  - name: r-" + name + "\n"
              "    path_prefix: /" + name + "\n"
              "    upstream: app\n"
              "    auth:\n"
              "      providers: [p-" + name + "]\n"
              "      scopes: [orders:read]\n";

    fixture::alg_case c;
    c.algorithm = a;
    c.target = "/" + name + "/orders/42?expand=items";
    c.headers = std::make_unique<header_list>(std::vector<std::pair<std::string, std::string>>{
        {"Host", "api.example.com"},
        {"User-Agent", "bench/1.0"},
        {"Accept", "application/json"},
        {"Authorization", "Bearer " + token},
    });
    c.token = std::move(token);
    fx.cases.push_back(std::move(c));
  }
  yaml += routes;

  const std::string config_path = (fx.dir / "jwtgate.yaml").string();
  std::ofstream(config_path) << yaml;
  config::load_result loaded = config::load_file(config_path);
  if (!loaded.snap) {
    std::string message = "the configuration does not load:";
    for (const auto& e : loaded.errors) message += "\n  " + e.to_string();
    die(message);
  }
  fx.snap = std::move(loaded.snap);
}

auth::request_head head_of(const fixture::alg_case& c) {
  return auth::request_head{"GET", c.target, "api.example.com", c.headers.get()};
}

// The decision must forward with the identity headers; anything else means the
// benchmark measures a refusal.
bool forwarded(const auth::decision& d) {
  return d.what == auth::decision::action::forward && d.reason == jose::status::ok && !d.inject.empty();
}

// Times decide() for `c` with a context of `entries` cache entries. The first
// decision, outside the timing, verifies the token and (with a cache) fills it.
void add(const fixture& fx, const fixture::alg_case& c, const std::string& name, std::size_t entries,
         int repetitions, double min_time) {
  {
    auth::thread_context ctx(entries);
    const auth::decision d = auth::decide(*fx.snap, head_of(c), ctx, now);
    if (!forwarded(d))
      die(name + ": the request is not forwarded (reason " + std::string(jose::to_string(d.reason)) + ")");
  }
  jwtgate::bench::configure(benchmark::RegisterBenchmark(name.c_str(),
                               [&fx, &c, entries](benchmark::State& state) {
                                 auth::thread_context ctx(entries);
                                 const auth::request_head req = head_of(c);
                                 // Primes the cache; with 0 entries a no-op.
                                 if (!forwarded(auth::decide(*fx.snap, req, ctx, now))) {
                                   state.SkipWithError("the request is not forwarded");
                                   return;
                                 }
                                 for (auto _ : state) {
                                   auth::decision d = auth::decide(*fx.snap, req, ctx, now);
                                   benchmark::DoNotOptimize(d);
                                   if (!forwarded(d)) {
                                     state.SkipWithError("the request is not forwarded");
                                     break;
                                   }
                                 }
                               }),
      jwtgate::bench::run_options{false, repetitions, min_time});
}

std::string bench_name(jose::alg a, std::string_view kind) {
  return "decide/" + std::string(jose::to_string(a)) + "/" + std::string(kind);
}

void print_table(const collecting_reporter& r) {
  std::printf("\nauth::decide, CPU ns per request (minimum over repetitions)\n");
  std::printf("| alg   | uncached ns | cache-hit ns | speed-up |\n");
  std::printf("|-------|------------:|-------------:|---------:|\n");
  for (jose::alg a : all_algs) {
    const double uncached = r.get(bench_name(a, "uncached"), "min");
    const double hit = r.get(bench_name(a, "cache_hit"), "min");
    if (uncached == 0 || hit == 0) continue;
    std::printf("| %-5s | %11.0f | %12.0f | %7.1fx |\n", std::string(jose::to_string(a)).c_str(), uncached, hit,
                uncached / hit);
  }
  const double hs = r.get(bench_name(jose::alg::HS256, "cache_hit"), "min");
  if (hs == 0) return;
  std::printf("cache hit vs HS256's (%.0f ns):", hs);
  for (jose::alg a : {jose::alg::RS256, jose::alg::ES256}) {
    const double hit = r.get(bench_name(a, "cache_hit"), "min");
    if (hit > 0) std::printf("  %s %.0f ns = %.2fx", std::string(jose::to_string(a)).c_str(), hit, hit / hs);
  }
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  jwtgate::bench::run_options options;
  if (!jwtgate::bench::initialize(argc, argv, options)) return 2;
  const int repetitions = options.repetitions;
  const double min_time = options.min_time;

  fixture fx;
  build(fx);
  for (const auto& c : fx.cases) {
    // Uncached and cached for the same alg registered together, as in jwtgate_bench.
    add(fx, c, bench_name(c.algorithm, "uncached"), 0, repetitions, min_time);
    add(fx, c, bench_name(c.algorithm, "cache_hit"), cache_entries, repetitions, min_time);
  }

  collecting_reporter reporter(isatty(STDOUT_FILENO) ? benchmark::ConsoleReporter::OO_ColorTabular
                                                     : benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  if (reporter.failed) die("a decision failed during the benchmark");
  print_table(reporter);
  return 0;
}
