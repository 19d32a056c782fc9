#include "jwtgate/proxy/access_log.h"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace jwtgate::proxy {
namespace {

std::string quoted(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

TEST(JsonString, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(quoted("plain"), "\"plain\"");
  EXPECT_EQ(quoted("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(quoted("l1\nl2\r\t"), "\"l1\\nl2\\r\\t\"");
  EXPECT_EQ(quoted(std::string_view("\x01\x00\x7f", 3)), "\"\\u0001\\u0000\\u007f\"");
}

TEST(JsonString, KeepsValidUtf8AndEscapesInvalidBytes) {
  EXPECT_EQ(quoted("caf\xC3\xA9"), "\"caf\xC3\xA9\"");
  EXPECT_EQ(quoted("\xFF\xC3"), "\"\\u00ff\\u00c3\"");
  EXPECT_EQ(quoted("\xED\xA0\x80"), "\"\\u00ed\\u00a0\\u0080\"");  // UTF-16 surrogate
}

TEST(Iso8601, FormatsUtcWithMilliseconds) {
  auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(1700000000123LL));
  EXPECT_EQ(format_iso8601_utc(t), "2023-11-14T22:13:20.123Z");
}

TEST(AccessLine, IsOneValidJsonObjectWithEveryField) {
  access_entry e;
  e.time = std::chrono::system_clock::time_point(std::chrono::seconds(0));
  e.request_id = "id-1";
  e.client = "127.0.0.1";
  e.method = "GET";
  e.path = "/a\"b\n";
  e.route = "default";
  e.status = 401;
  e.auth = "expired";
  e.subject = "";
  e.upstream = "app";
  e.duration_ms = 1.5;
  e.bytes_sent = 42;
  auto line = format_access_line(e);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto v = boost::json::parse(line).as_object();
  EXPECT_EQ(v.at("time").as_string(), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(v.at("request_id").as_string(), "id-1");
  EXPECT_EQ(v.at("method").as_string(), "GET");
  EXPECT_EQ(v.at("path").as_string(), "/a\"b\n");
  EXPECT_EQ(v.at("route").as_string(), "default");
  EXPECT_EQ(v.at("status").as_int64(), 401);
  EXPECT_EQ(v.at("auth").as_string(), "expired");
  EXPECT_EQ(v.at("upstream").as_string(), "app");
  EXPECT_DOUBLE_EQ(v.at("duration_ms").to_number<double>(), 1.5);
  EXPECT_EQ(v.at("bytes_sent").as_int64(), 42);
}

}  // namespace
}  // namespace jwtgate::proxy
