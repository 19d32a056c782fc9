#include "jwtgate/admin/metrics.h"

#include <gtest/gtest.h>

namespace jwtgate::admin {
namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST(Metrics, SumsEveryLoopAtScrapeTime) {
  thread_metrics a, b;
  a.count_request("default", 200);
  a.count_request("default", 200);
  b.count_request("default", 200);
  b.count_request("admin", 403);
  a.count_auth_failure("corp", "expired");
  b.count_auth_failure("corp", "expired");
  a.connection_opened();
  b.connection_opened();
  b.connection_opened();
  b.connection_closed();

  metrics_snapshot all;
  a.merge_into(all);
  b.merge_into(all);
  auto text = all.render_prometheus();
  EXPECT_TRUE(has_line(text, "jwtgate_requests_total{route=\"default\",status=\"200\"} 3")) << text;
  EXPECT_TRUE(has_line(text, "jwtgate_requests_total{route=\"admin\",status=\"403\"} 1")) << text;
  EXPECT_TRUE(has_line(text, "jwtgate_auth_failures_total{provider=\"corp\",reason=\"expired\"} 2"));
  EXPECT_TRUE(has_line(text, "jwtgate_open_connections 2"));
  EXPECT_TRUE(has_line(text, "# TYPE jwtgate_upstream_latency_seconds histogram"));
}

TEST(Metrics, HistogramBucketsAreCumulative) {
  thread_metrics m;
  m.observe_upstream_latency(0.0005);
  m.observe_upstream_latency(0.2);
  m.observe_upstream_latency(100);
  metrics_snapshot all;
  m.merge_into(all);
  auto text = all.render_prometheus();
  EXPECT_TRUE(has_line(text, "jwtgate_upstream_latency_seconds_bucket{le=\"0.001\"} 1")) << text;
  EXPECT_TRUE(has_line(text, "jwtgate_upstream_latency_seconds_bucket{le=\"0.25\"} 2")) << text;
  EXPECT_TRUE(has_line(text, "jwtgate_upstream_latency_seconds_bucket{le=\"10\"} 2")) << text;
  EXPECT_TRUE(has_line(text, "jwtgate_upstream_latency_seconds_bucket{le=\"+Inf\"} 3")) << text;
  EXPECT_TRUE(has_line(text, "jwtgate_upstream_latency_seconds_count 3"));
  EXPECT_TRUE(has_line(text, "jwtgate_upstream_latency_seconds_bucket{le=\"0.0025\"} 1")) << text;
}

TEST(Metrics, EscapesLabelValues) {
  EXPECT_EQ(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  thread_metrics m;
  m.count_request("we\"ird", 404);
  metrics_snapshot all;
  m.merge_into(all);
  EXPECT_TRUE(has_line(all.render_prometheus(), "jwtgate_requests_total{route=\"we\\\"ird\",status=\"404\"} 1"));
}

}  // namespace
}  // namespace jwtgate::admin
