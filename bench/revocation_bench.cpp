// The revocation check's cost per request with 0, 1,000 and 1,000,000 entries,
// and the memory of 1,000,000 jti entries. With revocation off the request
// path tests one null pointer, so the check's own time is what a request pays
// extra. Each iteration checks another of 1,024 distinct tokens, whose facts
// stay in cache as a token just found in the verified-token cache would,
// while their probes land anywhere in the table as real traffic's do. The
// `cold` rows draw from 65,536 tokens, so the token's own facts miss the
// caches too: an upper bound.

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "bench_support.h"
#include "jwtgate/revocation/registry.h"

namespace {

using namespace jwtgate;
using revocation::kind;

constexpr std::int64_t now = 1'700'000'000;
constexpr std::size_t token_pool = 1024;
constexpr std::size_t cold_pool = 65536;

std::string uuid_like(std::mt19937_64& rng) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string s(36, '-');
  for (std::size_t i = 0; i < s.size(); ++i)
    if (i != 8 && i != 13 && i != 18 && i != 23) s[i] = hex[rng() & 15];
  return s;
}

// Resident set size in bytes, from /proc/self/statm.
std::size_t rss_bytes() {
  std::ifstream in("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  in >> pages >> resident;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

struct fixture {
  std::shared_ptr<const revocation::revocation_set> set;
  std::vector<revocation::token_facts> tokens;  // not revoked
  std::vector<revocation::token_facts> revoked;
  std::vector<revocation::token_facts> cold;  // not revoked, too many to stay in cache
};

// `entries` entries of kind jti (mixed: a third each of jti, sub and sid),
// added through the registry the way the admin API adds them.
fixture build(std::size_t entries, bool mixed) {
  std::mt19937_64 rng(entries * 2 + mixed);
  revocation::registry reg;
  revocation::table::builder b(entries);
  std::vector<std::string> sample;
  for (std::size_t i = 0; i < entries; ++i) {
    kind k = mixed ? static_cast<kind>(i % 3) : kind::jti;
    std::string v = uuid_like(rng);
    b.add(k, v, i % 7 == 0 ? "https://id.example.com" : "", now - 10, now + 3600);
    if (sample.size() < 1024 && k == kind::jti) sample.push_back(v);
  }
  reg.replace_all(b.finish());
  for (int i = 0; i < 100; ++i) {  // and a delta of recent additions, as in production
    revocation::entry e;
    e.value = uuid_like(rng);
    e.exp = now + 3600;
    reg.upsert(e);
  }
  fixture fx;
  fx.set = reg.current();
  auto facts = [&](std::string jti) {
    revocation::token_facts t;
    t.set(kind::jti, std::move(jti));
    t.set(kind::sub, uuid_like(rng));
    if (mixed) t.set(kind::sid, uuid_like(rng));
    t.iss = "https://id.example.com";
    t.has_iat = true;
    t.iat = now - 100;
    return t;
  };
  for (std::size_t i = 0; i < token_pool; ++i) fx.tokens.push_back(facts(uuid_like(rng)));
  for (std::size_t i = 0; i < cold_pool; ++i) fx.cold.push_back(facts(uuid_like(rng)));
  for (const auto& v : sample) fx.revoked.push_back(facts(v));
  return fx;
}

void run_check(benchmark::State& state, const fixture& fx, bool revoked_tokens, bool cold = false) {
  const auto& pool = revoked_tokens ? fx.revoked : cold ? fx.cold : fx.tokens;
  if (pool.empty()) {
    state.SkipWithError("no tokens");
    return;
  }
  std::size_t i = 0, refused = 0;
  for (auto _ : state) {
    auto s = fx.set->check(pool[i], now);
    refused += s == jose::status::revoked;
    benchmark::DoNotOptimize(s);
    i = (i + 1) % pool.size();
  }
  if (revoked_tokens ? refused != state.iterations() : refused != 0) state.SkipWithError("wrong answer");
}

}  // namespace

int main(int argc, char** argv) {
  jwtgate::bench::run_options options;
  if (!jwtgate::bench::initialize(argc, argv, options)) return 2;

  // Memory of one million jti entries, first, in a process that has built
  // nothing else yet: the table's own size, and the RSS it added.
  {
    std::size_t before = rss_bytes();
    std::mt19937_64 rng(99);
    revocation::registry reg;
    revocation::table::builder b(1000000);
    for (int i = 0; i < 1000000; ++i) b.add(kind::jti, uuid_like(rng), "", now, now + 3600);
    reg.replace_all(b.finish());
    std::size_t after = rss_bytes();
    std::printf("1,000,000 jti entries (36-byte ids): table %.1f MiB, RSS growth %.1f MiB\n",
                double(reg.current()->base()->memory_bytes()) / (1 << 20), double(after - before) / (1 << 20));
  }

  std::vector<std::size_t> sizes{0, 1000, 1000000};
  std::vector<fixture> fixtures;
  std::printf("building sets...\n");
  for (auto n : sizes) fixtures.push_back(build(n, false));
  fixture mixed = build(1000000, true);

  for (std::size_t i = 0; i < sizes.size(); ++i) {
    const auto& fx = fixtures[i];
    auto name = "check/jti/" + std::to_string(sizes[i]);
    jwtgate::bench::configure(benchmark::RegisterBenchmark((name + "/not_revoked").c_str(),
                                                           [&fx](benchmark::State& s) { run_check(s, fx, false); }),
                              options);
    jwtgate::bench::configure(benchmark::RegisterBenchmark((name + "/cold").c_str(),
                                                           [&fx](benchmark::State& s) { run_check(s, fx, false, true); }),
                              options);
    if (sizes[i] != 0)
      jwtgate::bench::configure(benchmark::RegisterBenchmark((name + "/revoked").c_str(),
                                                             [&fx](benchmark::State& s) { run_check(s, fx, true); }),
                                options);
  }
  jwtgate::bench::configure(
      benchmark::RegisterBenchmark("check/mixed/1000000/not_revoked",
                                   [&mixed](benchmark::State& s) { run_check(s, mixed, false); }),
      options);

  jwtgate::bench::collecting_reporter reporter(jwtgate::bench::collecting_reporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  if (reporter.failed) return 1;
  fixtures.clear();
  mixed = fixture{};

  std::printf("\nrevocation check, CPU ns per request (minimum over repetitions; revocation off: 0)\n");
  std::printf("| entries   | not revoked ns | revoked ns | not revoked, cold token ns |\n"
              "|----------:|---------------:|-----------:|---------------------------:|\n");
  for (auto n : sizes) {
    auto name = "check/jti/" + std::to_string(n);
    std::printf("| %9zu | %14.1f | %10.1f | %26.1f |\n", n, reporter.get(name + "/not_revoked", "min"),
                reporter.get(name + "/revoked", "min"), reporter.get(name + "/cold", "min"));
  }
  std::printf("| 1M mixed (jti+sub+sid probes) | %.1f | |\n", reporter.get("check/mixed/1000000/not_revoked", "min"));

  return 0;
}
