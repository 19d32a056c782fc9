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

void render_histogram(std::string& out, std::string_view name, std::string_view help, const histogram& h) {
  std::string n(name);
  out.append("# HELP " + n + " ").append(help).append("\n");
  out.append("# TYPE " + n + " histogram\n");
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < h.bounds->size(); ++i) {
    cumulative += h.counts[i];
    out.append(n + "_bucket{le=\"" + format_bound((*h.bounds)[i]) + "\"} " + std::to_string(cumulative) + "\n");
  }
  cumulative += h.counts.back();
  out.append(n + "_bucket{le=\"+Inf\"} " + std::to_string(cumulative) + "\n");
  out.append(n + "_sum " + format_double(h.sum) + "\n");
  out.append(n + "_count " + std::to_string(h.count) + "\n");
}

}  // namespace

void histogram::observe(double seconds) noexcept {
  std::size_t i = 0;
  while (i < bounds->size() && seconds > (*bounds)[i]) ++i;
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
  out.auth_latency.merge(data_.auth_latency);
  out.token_cache_hits += data_.token_cache_hits;
  out.token_cache_misses += data_.token_cache_misses;
  out.open_connections += data_.open_connections;
  out.open_http2_connections += data_.open_http2_connections;
  out.http2_streams += data_.http2_streams;
  for (const auto& [kind, n] : data_.http2_protections) entry(out.http2_protections, kind) += n;
}

void thread_metrics::count_http2_protection(std::string_view kind) { ++entry(data_.http2_protections, kind); }

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

  render_histogram(out, "jwtgate_upstream_latency_seconds",
                   "Time from sending a request upstream to its response head.", upstream_latency);
  render_histogram(out, "jwtgate_auth_latency_seconds",
                   "Time to decide a request: route, token, verification (or cache), claims.", auth_latency);

  out.append("# HELP jwtgate_token_cache_hits_total Tokens found verified in the per-loop cache.\n");
  out.append("# TYPE jwtgate_token_cache_hits_total counter\n");
  out.append("jwtgate_token_cache_hits_total " + std::to_string(token_cache_hits) + "\n");
  out.append("# HELP jwtgate_token_cache_misses_total Tokens not in the cache (verified in full).\n");
  out.append("# TYPE jwtgate_token_cache_misses_total counter\n");
  out.append("jwtgate_token_cache_misses_total " + std::to_string(token_cache_misses) + "\n");

  out.append("# HELP jwtgate_key_set_age_seconds Seconds since the provider's key set was last published.\n");
  out.append("# TYPE jwtgate_key_set_age_seconds gauge\n");
  for (const auto& [provider, info] : key_sets)
    out.append("jwtgate_key_set_age_seconds{provider=\"" + escape_label_value(provider) + "\"} " +
               format_double(info.age_seconds) + "\n");
  out.append("# HELP jwtgate_key_set_keys Usable keys of the provider (one per key and algorithm).\n");
  out.append("# TYPE jwtgate_key_set_keys gauge\n");
  for (const auto& [provider, info] : key_sets)
    out.append("jwtgate_key_set_keys{provider=\"" + escape_label_value(provider) + "\"} " +
               std::to_string(info.keys) + "\n");

  out.append("# HELP jwtgate_open_connections Client connections currently open.\n");
  out.append("# TYPE jwtgate_open_connections gauge\n");
  out.append("jwtgate_open_connections " + std::to_string(open_connections) + "\n");
  out.append("# HELP jwtgate_http2_connections Client HTTP/2 connections currently open.\n");
  out.append("# TYPE jwtgate_http2_connections gauge\n");
  out.append("jwtgate_http2_connections " + std::to_string(open_http2_connections) + "\n");
  out.append("# HELP jwtgate_http2_streams_total Client HTTP/2 streams begun.\n");
  out.append("# TYPE jwtgate_http2_streams_total counter\n");
  out.append("jwtgate_http2_streams_total " + std::to_string(http2_streams) + "\n");
  out.append("# HELP jwtgate_http2_protection_total HTTP/2 connections ended (GOAWAY) or streams refused by a protection.\n");
  out.append("# TYPE jwtgate_http2_protection_total counter\n");
  for (std::string_view kind : {"rapid_reset", "continuation_flood", "header_list_too_large", "settings_flood",
                                "ping_flood", "stream_limit", "slow_reader", "protocol_error"}) {
    auto it = http2_protections.find(kind);
    out.append("jwtgate_http2_protection_total{kind=\"" + std::string(kind) + "\"} " +
               std::to_string(it == http2_protections.end() ? 0 : it->second) + "\n");
  }

  if (revocation.enabled) {
    const auto& r = revocation;
    out.append("# HELP jwtgate_revocation_entries Revocation entries in force, by kind.\n");
    out.append("# TYPE jwtgate_revocation_entries gauge\n");
    out.append("jwtgate_revocation_entries{kind=\"jti\"} " + std::to_string(r.jti) + "\n");
    out.append("jwtgate_revocation_entries{kind=\"sub\"} " + std::to_string(r.sub) + "\n");
    out.append("jwtgate_revocation_entries{kind=\"sid\"} " + std::to_string(r.sid) + "\n");
    std::uint64_t revoked = 0, unavailable = 0;
    for (const auto& [provider, by_reason] : auth_failures) {
      if (auto it = by_reason.find("revoked"); it != by_reason.end()) revoked += it->second;
      if (auto it = by_reason.find("revocation_unavailable"); it != by_reason.end()) unavailable += it->second;
    }
    out.append("# HELP jwtgate_revocation_refused_total Tokens refused by the revocation check.\n");
    out.append("# TYPE jwtgate_revocation_refused_total counter\n");
    out.append("jwtgate_revocation_refused_total{reason=\"revoked\"} " + std::to_string(revoked) + "\n");
    out.append("jwtgate_revocation_refused_total{reason=\"revocation_unavailable\"} " + std::to_string(unavailable) +
               "\n");
    out.append("# HELP jwtgate_revocation_store_up 1 while the revocation store is reachable and synchronized.\n");
    out.append("# TYPE jwtgate_revocation_store_up gauge\n");
    out.append("jwtgate_revocation_store_up{store=\"" + escape_label_value(r.store) + "\"} " + (r.up ? "1" : "0") +
               "\n");
    out.append("# HELP jwtgate_revocation_sync_age_seconds Seconds since the store was last confirmed in sync.\n");
    out.append("# TYPE jwtgate_revocation_sync_age_seconds gauge\n");
    out.append("jwtgate_revocation_sync_age_seconds " + format_double(r.sync_age_seconds) + "\n");
    out.append("# HELP jwtgate_revocation_reconnects_total Reconnections to the revocation store.\n");
    out.append("# TYPE jwtgate_revocation_reconnects_total counter\n");
    out.append("jwtgate_revocation_reconnects_total " + std::to_string(r.reconnects) + "\n");
  }
  return out;
}

}  // namespace jwtgate::admin
