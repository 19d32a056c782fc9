#pragma once
// Gateway metrics. Each event loop owns one thread_metrics and updates it with
// plain (non-atomic) arithmetic; a scrape runs a copy on each loop (posted to
// it) and merges the copies into a metrics_snapshot, so the request path never
// shares a cache line or takes a lock. No Beast here.

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace jwtgate::admin {

// Upper bounds (seconds) of the upstream latency histogram buckets; +Inf is implicit.
inline constexpr std::array<double, 12> latency_buckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                        0.1,   0.25,   0.5,   1,    2.5,   10};

struct histogram {
  std::array<std::uint64_t, latency_buckets.size() + 1> counts{};  // per bucket, last = +Inf
  std::uint64_t count = 0;
  double sum = 0;

  void observe(double seconds) noexcept;
  void merge(const histogram& o) noexcept;
};

// Merged view of every loop, rendered for Prometheus.
struct metrics_snapshot {
  // route ("" = no route) -> status -> count
  std::map<std::string, std::map<unsigned, std::uint64_t>, std::less<>> requests;
  // provider ("" = none) -> reason -> count
  std::map<std::string, std::map<std::string, std::uint64_t, std::less<>>, std::less<>> auth_failures;
  // provider -> result -> count (JWKS fetches; filled by the key fetcher when present)
  std::map<std::string, std::map<std::string, std::uint64_t, std::less<>>, std::less<>> jwks_fetches;
  histogram upstream_latency;
  std::int64_t open_connections = 0;

  // Prometheus text exposition format 0.0.4.
  std::string render_prometheus() const;
};

class thread_metrics {
 public:
  void count_request(std::string_view route, unsigned status);
  void count_auth_failure(std::string_view provider, std::string_view reason);
  void observe_upstream_latency(double seconds) noexcept { data_.upstream_latency.observe(seconds); }
  void connection_opened() noexcept { ++data_.open_connections; }
  void connection_closed() noexcept { --data_.open_connections; }

  // Adds this loop's numbers into `out`; call on the owning loop.
  void merge_into(metrics_snapshot& out) const;

 private:
  metrics_snapshot data_;
};

// Escapes a Prometheus label value (backslash, quote, newline).
std::string escape_label_value(std::string_view v);

}  // namespace jwtgate::admin
