#include "jwtgate/admin/metrics.h"

#include <cstdio>

namespace jwtgate::admin {

namespace {

template <class Map, class Key>
auto& entry(Map& m, const Key& key) {
  auto it = m.find(key);
  if (it == m.end()) it = m.emplace(std::string(key), typename Map::mapped_type{}).first;
  return it->second;
}

// Shortest text for bucket bounds ("0.0025", not "0.0025000000000000001").
std::string format_bound(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string format_double(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

void histogram::observe(double seconds) noexcept {
  std::size_t i = 0;
  while (i < latency_buckets.size() && seconds > latency_buckets[i]) ++i;
  ++counts[i];
  ++count;
  sum += seconds;
}

void histogram::merge(const histogram& o) noexcept {
  for (std::size_t i = 0; i < counts.size(); ++i) counts[i] += o.counts[i];
  count += o.count;
  sum += o.sum;
}

void thread_metrics::count_request(std::string_view route, unsigned status) {
  ++entry(data_.requests, route)[status];
}

void thread_metrics::count_auth_failure(std::string_view provider, std::string_view reason) {
  ++entry(entry(data_.auth_failures, provider), reason);
}

void thread_metrics::merge_into(metrics_snapshot& out) const {
  for (const auto& [route, by_status] : data_.requests)
    for (const auto& [status, n] : by_status) entry(out.requests, route)[status] += n;
  for (const auto& [provider, by_reason] : data_.auth_failures)
    for (const auto& [reason, n] : by_reason) entry(entry(out.auth_failures, provider), reason) += n;
  for (const auto& [provider, by_result] : data_.jwks_fetches)
    for (const auto& [result, n] : by_result) entry(entry(out.jwks_fetches, provider), result) += n;
  out.upstream_latency.merge(data_.upstream_latency);
  out.open_connections += data_.open_connections;
}

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out.append("\\\\");
    else if (c == '"') out.append("\\\"");
    else if (c == '\n') out.append("\\n");
    else out.push_back(c);
  }
  return out;
}

std::string metrics_snapshot::render_prometheus() const {
  std::string out;
  out.append("# HELP jwtgate_requests_total Requests answered, by route and status.\n");
  out.append("# TYPE jwtgate_requests_total counter\n");
  for (const auto& [route, by_status] : requests)
    for (const auto& [status, n] : by_status)
      out.append("jwtgate_requests_total{route=\"" + escape_label_value(route) + "\",status=\"" +
                 std::to_string(status) + "\"} " + std::to_string(n) + "\n");

  out.append("# HELP jwtgate_auth_failures_total Requests refused by authentication, by provider and reason.\n");
  out.append("# TYPE jwtgate_auth_failures_total counter\n");
  for (const auto& [provider, by_reason] : auth_failures)
    for (const auto& [reason, n] : by_reason)
      out.append("jwtgate_auth_failures_total{provider=\"" + escape_label_value(provider) +
                 "\",reason=\"" + escape_label_value(reason) + "\"} " + std::to_string(n) + "\n");

  out.append("# HELP jwtgate_jwks_fetches_total JWKS fetches, by provider and result.\n");
  out.append("# TYPE jwtgate_jwks_fetches_total counter\n");
  for (const auto& [provider, by_result] : jwks_fetches)
    for (const auto& [result, n] : by_result)
      out.append("jwtgate_jwks_fetches_total{provider=\"" + escape_label_value(provider) +
                 "\",result=\"" + escape_label_value(result) + "\"} " + std::to_string(n) + "\n");

  out.append("# HELP jwtgate_upstream_latency_seconds Time from sending a request upstream to its response head.\n");
  out.append("# TYPE jwtgate_upstream_latency_seconds histogram\n");
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < latency_buckets.size(); ++i) {
    cumulative += upstream_latency.counts[i];
    out.append("jwtgate_upstream_latency_seconds_bucket{le=\"" + format_bound(latency_buckets[i]) +
               "\"} " + std::to_string(cumulative) + "\n");
  }
  cumulative += upstream_latency.counts.back();
  out.append("jwtgate_upstream_latency_seconds_bucket{le=\"+Inf\"} " + std::to_string(cumulative) + "\n");
  out.append("jwtgate_upstream_latency_seconds_sum " + format_double(upstream_latency.sum) + "\n");
  out.append("jwtgate_upstream_latency_seconds_count " + std::to_string(upstream_latency.count) + "\n");

  out.append("# HELP jwtgate_open_connections Client connections currently open.\n");
  out.append("# TYPE jwtgate_open_connections gauge\n");
  out.append("jwtgate_open_connections " + std::to_string(open_connections) + "\n");
  return out;
}

}  // namespace jwtgate::admin
