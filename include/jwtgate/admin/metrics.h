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
#include <tuple>

namespace jwtgate::admin {

// Upper bounds (seconds) of the histogram buckets; +Inf is implicit.
using bucket_bounds = std::array<double, 12>;
// Upstream latency: from sending a request to its response head.
inline constexpr bucket_bounds latency_buckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                               0.1,   0.25,   0.5,   1,    2.5,   10};
// Auth decision time: microseconds for a cache hit, up to milliseconds for
// ES384/ES512 signatures.
inline constexpr bucket_bounds auth_latency_buckets{0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005,
                                                    0.001,   0.0025,   0.005,   0.01,   0.025,   0.1};

struct histogram {
  explicit histogram(const bucket_bounds& b = latency_buckets) noexcept : bounds(&b) {}

  const bucket_bounds* bounds;
  std::array<std::uint64_t, std::tuple_size_v<bucket_bounds> + 1> counts{};  // per bucket, last = +Inf
  std::uint64_t count = 0;
  double sum = 0;

  void observe(double seconds) noexcept;
  void merge(const histogram& o) noexcept;  // same bounds
};

// One provider's key set, as a scrape sees it.
struct key_set_info {
  double age_seconds = 0;  // since the set was last published (or loaded)
  std::uint64_t keys = 0;  // usable keys (one per key and algorithm)
};

// The revocation store, as a scrape sees it (SPEC 8).
struct revocation_info {
  bool enabled = false;
  std::string store;  // local | redis
  bool up = false;
  double sync_age_seconds = 0;
  std::uint64_t reconnects = 0;
  std::uint64_t jti = 0, sub = 0, sid = 0;  // entries by kind
};

// Merged view of every loop, rendered for Prometheus.
struct metrics_snapshot {
  // route ("" = no route) -> status -> count
  std::map<std::string, std::map<unsigned, std::uint64_t>, std::less<>> requests;
  // provider ("" = none) -> reason -> count
  std::map<std::string, std::map<std::string, std::uint64_t, std::less<>>, std::less<>> auth_failures;
  // provider -> result -> count (JWKS fetches; filled by the key fetcher when present)
  std::map<std::string, std::map<std::string, std::uint64_t, std::less<>>, std::less<>> jwks_fetches;
  histogram upstream_latency{latency_buckets};
  histogram auth_latency{auth_latency_buckets};
  std::uint64_t token_cache_hits = 0;
  std::uint64_t token_cache_misses = 0;
  std::map<std::string, key_set_info, std::less<>> key_sets;  // provider -> key set
  std::int64_t open_connections = 0;
  std::int64_t open_http2_connections = 0;
  std::uint64_t http2_streams = 0;  // client streams begun
  // HTTP/2 protection -> times it ended a connection or refused a stream
  std::map<std::string, std::uint64_t, std::less<>> http2_protections;
  revocation_info revocation;

  // Prometheus text exposition format 0.0.4.
  std::string render_prometheus() const;
};

class thread_metrics {
 public:
  void count_request(std::string_view route, unsigned status);
  void count_auth_failure(std::string_view provider, std::string_view reason);
  void observe_upstream_latency(double seconds) noexcept { data_.upstream_latency.observe(seconds); }
  void observe_auth_latency(double seconds) noexcept { data_.auth_latency.observe(seconds); }
  // The loop's verified-token cache counters, copied in at scrape time.
  void set_token_cache_counts(std::uint64_t hits, std::uint64_t misses) noexcept {
    data_.token_cache_hits = hits;
    data_.token_cache_misses = misses;
  }
  void connection_opened() noexcept { ++data_.open_connections; }
  void connection_closed() noexcept { --data_.open_connections; }
  void http2_connection_opened() noexcept { ++data_.open_http2_connections; }
  void http2_connection_closed() noexcept { --data_.open_http2_connections; }
  void http2_stream_begun() noexcept { ++data_.http2_streams; }
  void count_http2_protection(std::string_view kind);

  // Adds this loop's numbers into `out`; call on the owning loop.
  void merge_into(metrics_snapshot& out) const;

 private:
  metrics_snapshot data_;
};

// Escapes a Prometheus label value (backslash, quote, newline).
std::string escape_label_value(std::string_view v);

}  // namespace jwtgate::admin
