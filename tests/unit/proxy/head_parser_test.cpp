#include "proxy/head_parser.h"

#include <gtest/gtest.h>

#include <array>
#include <string>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>

namespace jwtgate::proxy {
namespace {

namespace http = boost::beast::http;

TEST(FlatHead, KeepsNamesValuesAndReasonAcrossGrowth) {
  flat_head h;
  h.set_reason("OK");
  for (int i = 0; i < 200; ++i) h.add(0, "X-Field-" + std::to_string(i), std::string(i, 'v'));
  ASSERT_EQ(h.entries().size(), 200u);
  EXPECT_EQ(h.reason(), "OK");
  EXPECT_EQ(h.name(h.entries()[150]), "X-Field-150");
  EXPECT_EQ(h.value(h.entries()[150]), std::string(150, 'v'));
  h.clear();
  EXPECT_TRUE(h.entries().empty());
  EXPECT_EQ(h.reason(), "");
}

TEST(FlatHead, GivesBackStorageOnlyAfterALargeHead) {
  flat_head h;
  h.add(0, "X-Small", "v");
  const auto small = h.capacity_bytes();
  h.release_if_larger(4096);
  EXPECT_EQ(h.capacity_bytes(), small) << "a small head's storage is kept for reuse";
  ASSERT_EQ(h.entries().size(), 1u);
  h.clear();
  h.add(0, "X-Large", std::string(64 * 1024, 'v'));
  EXPECT_GT(h.capacity_bytes(), 64u * 1024);
  h.clear();
  h.release_if_larger(4096);
  EXPECT_LE(h.capacity_bytes(), 4096u) << "a large head's storage is given back";
  h.add(0, "X-Next", "w");
  EXPECT_EQ(h.value(h.entries()[0]), "w");
}

TEST(FlatHead, JoinsRepeatedFieldsOnlyWhenRepeated) {
  flat_head h;
  constexpr int connection = static_cast<int>(http::field::connection);
  std::string storage;
  EXPECT_EQ(h.joined(connection, storage), "");
  h.add(connection, "Connection", "keep-alive");
  EXPECT_EQ(h.joined(connection, storage), "keep-alive");
  EXPECT_TRUE(storage.empty());
  h.add(0, "X-Other", "x");
  h.add(connection, "connection", "X-Secret");
  EXPECT_EQ(h.joined(connection, storage), "keep-alive, X-Secret");
  EXPECT_EQ(h.count(connection), 2u);
  EXPECT_EQ(h.first(connection), "keep-alive");
}

// Feeds `wire` to a parser in pieces of `step` bytes, the way reads arrive.
struct parsed {
  flat_head head;
  std::string body;
  bool done = false;
  boost::beast::error_code ec;
};

parsed parse(std::string_view wire, std::size_t step, std::size_t body_room = 7) {
  parsed out;
  response_head_parser p(out.head);
  p.body_limit(boost::none);
  std::string pending;
  std::array<char, 64> room{};
  std::size_t fed = 0;
  while (!p.is_done()) {
    if (fed < wire.size()) {
      auto n = std::min(step, wire.size() - fed);
      pending.append(wire.substr(fed, n));
      fed += n;
    } else if (pending.empty()) {
      break;
    }
    for (;;) {
      p.body_buffer(room.data(), body_room);
      boost::beast::error_code ec;
      auto used = p.put(boost::asio::buffer(pending), ec);
      pending.erase(0, used);
      out.body.append(room.data(), body_room - p.body_room());
      if (ec == http::error::need_buffer) continue;  // room full: hand it on, go on
      if (ec == http::error::need_more) break;
      if (ec) {
        out.ec = ec;
        return out;
      }
      if (p.is_done() || used == 0) break;
    }
  }
  out.done = p.is_done();
  return out;
}

TEST(ResponseHeadParser, ContentLengthBodyInAnyPieces) {
  const std::string wire =
      "HTTP/1.1 201 Created\r\nServer: up\r\nContent-Length: 26\r\nX-A: 1\r\n\r\nabcdefghijklmnopqrstuvwxyz";
  for (std::size_t step : {1u, 3u, 17u, 1000u}) {
    auto r = parse(wire, step);
    ASSERT_FALSE(r.ec) << r.ec.message();
    EXPECT_TRUE(r.done);
    EXPECT_EQ(r.head.status, 201u);
    EXPECT_EQ(r.head.reason(), "Created");
    EXPECT_EQ(r.head.version, 11u);
    ASSERT_EQ(r.head.entries().size(), 3u);
    EXPECT_EQ(r.head.name(r.head.entries()[2]), "X-A");
    EXPECT_EQ(r.head.first(static_cast<int>(http::field::content_length)), "26");
    EXPECT_EQ(r.body, "abcdefghijklmnopqrstuvwxyz") << "step " << step;
  }
}

TEST(ResponseHeadParser, ChunkedBodyIsDecoded) {
  const std::string wire =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n10;ext=1\r\n0123456789abcdef\r\n0\r\nT: x\r\n\r\n";
  for (std::size_t step : {1u, 4u, 1000u}) {
    auto r = parse(wire, step);
    ASSERT_FALSE(r.ec) << r.ec.message();
    EXPECT_TRUE(r.done);
    EXPECT_EQ(r.body, "hello0123456789abcdef") << "step " << step;
  }
}

TEST(ResponseHeadParser, BrokenFramingIsAnError) {
  EXPECT_TRUE(parse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 1000).ec);
  EXPECT_TRUE(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 1000).ec);
  EXPECT_TRUE(parse("HTTP/1.1 2000 OK\r\n\r\n", 1000).ec);
}

TEST(RequestHeadParser, StartLineAndFieldsByIdAndName) {
  flat_head head;
  request_head_parser p(head);
  const std::string wire =
      "POST /a/b?c=d HTTP/1.0\r\nHost: api\r\nx-request-id: one\r\nX-Request-Id: two\r\n"
      "Content-Length: 3\r\n\r\nabc";
  boost::beast::error_code ec;
  auto used = p.put(boost::asio::buffer(wire), ec);
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_TRUE(p.is_header_done());
  EXPECT_EQ(used, wire.size() - 3);  // the head only: the body waits for a buffer
  const auto& h = p.get();
  EXPECT_EQ(h.method_string(), "POST");
  EXPECT_EQ(static_cast<http::verb>(h.method), http::verb::post);
  EXPECT_EQ(h.target(), "/a/b?c=d");
  EXPECT_EQ(h.version, 10u);
  EXPECT_EQ(h.count(http::field::host), 1u);
  EXPECT_EQ(h[http::field::host], "api");
  EXPECT_EQ(h.count("X-REQUEST-ID"), 2u);
  EXPECT_EQ(h["X-Request-Id"], "one");
  EXPECT_EQ(h["X-Missing"], "");
  EXPECT_FALSE(p.keep_alive());

  std::array<char, 2> room{};
  p.body_buffer(room.data(), room.size());
  used = p.put(boost::asio::buffer(wire.data() + wire.size() - 3, 3), ec);
  EXPECT_EQ(ec, http::error::need_buffer);
  EXPECT_EQ(used, 2u);
  EXPECT_EQ(std::string(room.data(), 2), "ab");
}

TEST(RequestHeadParser, SmugglingShapesAreRefusedByTheParser) {
  for (std::string wire : {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                           "GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n",
                           "GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n",
                           "GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n"}) {
    flat_head head;
    request_head_parser p(head);
    boost::beast::error_code ec;
    p.put(boost::asio::buffer(wire), ec);
    EXPECT_TRUE(ec && ec != http::error::need_more) << wire;
  }
}

}  // namespace
}  // namespace jwtgate::proxy
