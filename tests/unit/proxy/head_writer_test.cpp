#include "jwtgate/proxy/head_writer.h"

#include <gtest/gtest.h>

namespace jwtgate::proxy {
namespace {

TEST(HeadWriter, RequestHeadBytes) {
  std::string out;
  append_request_line(out, "GET", "/a?b=c");
  append_field(out, "Host", "api.example");
  append_field(out, "X-User-Id", "");
  out.append(crlf);
  EXPECT_EQ(out, "GET /a?b=c HTTP/1.1\r\nHost: api.example\r\nX-User-Id: \r\n\r\n");
}

TEST(HeadWriter, StatusLineKeepsTheClientVersion) {
  std::string out;
  append_status_line(out, 11, 200, "OK");
  append_status_line(out, 10, 404, "Not Found");
  append_status_line(out, 11, 599, "");
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nHTTP/1.0 404 Not Found\r\nHTTP/1.1 599 \r\n");
}

TEST(HeadWriter, ChunkSizeLinesAreLowerCaseHex) {
  chunk_line_storage s;
  EXPECT_EQ(chunk_size_line(0, s), "0\r\n");
  EXPECT_EQ(chunk_size_line(1, s), "1\r\n");
  EXPECT_EQ(chunk_size_line(65536, s), "10000\r\n");
  EXPECT_EQ(chunk_size_line(0xabcdef, s), "abcdef\r\n");
  EXPECT_EQ(chunk_size_line(SIZE_MAX, s), "ffffffffffffffff\r\n");
}

}  // namespace
}  // namespace jwtgate::proxy
