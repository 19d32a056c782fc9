#include "jwtgate/proxy/h2_heads.h"

#include <gtest/gtest.h>

namespace jwtgate::proxy {
namespace {

using error = h2_request_head::error;

error build(h2_request_head& h, std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
  h.clear();
  for (const auto& [name, value] : fields)
    if (auto e = h.add(name, value); e != error::none) return e;
  return h.finish();
}

TEST(GrpcStatus, FollowsGrpcsHttpMapping) {
  EXPECT_EQ(grpc_status_for_http(400), 13);
  EXPECT_EQ(grpc_status_for_http(401), 16);
  EXPECT_EQ(grpc_status_for_http(403), 7);
  EXPECT_EQ(grpc_status_for_http(404), 12);
  for (unsigned s : {429u, 502u, 503u, 504u}) EXPECT_EQ(grpc_status_for_http(s), 14) << s;
  for (unsigned s : {405u, 413u, 431u, 500u, 200u}) EXPECT_EQ(grpc_status_for_http(s), 2) << s;
}

TEST(GrpcContentType, MatchesGrpcAndItsSubtypesOnly) {
  EXPECT_TRUE(is_grpc_content_type("application/grpc"));
  EXPECT_TRUE(is_grpc_content_type("application/grpc+proto"));
  EXPECT_TRUE(is_grpc_content_type("Application/GRPC;charset=utf-8"));
  EXPECT_FALSE(is_grpc_content_type("application/grpc-web"));
  EXPECT_FALSE(is_grpc_content_type("application/grpcx"));
  EXPECT_FALSE(is_grpc_content_type("application/json"));
  EXPECT_FALSE(is_grpc_content_type(""));
}

TEST(GrpcMessage, PercentEncodesOutsidePrintableAsciiAndPercent) {
  EXPECT_EQ(grpc_percent_encode("token expired"), "token expired");
  EXPECT_EQ(grpc_percent_encode("100% sure"), "100%25 sure");
  EXPECT_EQ(grpc_percent_encode("a\nb"), "a%0Ab");
  EXPECT_EQ(grpc_percent_encode("caf\xc3\xa9"), "caf%C3%A9");
}

TEST(ConnectionSpecific, RefusesRfc9113Section822Fields) {
  for (auto name : {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"})
    EXPECT_TRUE(is_connection_specific(name, "x")) << name;
  EXPECT_FALSE(is_connection_specific("te", "trailers"));
  EXPECT_FALSE(is_connection_specific("te", " trailers "));
  EXPECT_TRUE(is_connection_specific("te", "gzip"));
  EXPECT_FALSE(is_connection_specific("content-type", "text/plain"));
}

TEST(H2RequestHead, BuildsAnHttp1ShapedHead) {
  h2_request_head h;
  ASSERT_EQ(build(h, {{":method", "POST"}, {":scheme", "https"}, {":authority", "api.example.com"},
                      {":path", "/orders?x=1"}, {"content-type", "application/json"}, {"x-a", "1"}}),
            error::none);
  EXPECT_EQ(h.method(), "POST");
  EXPECT_EQ(h.scheme(), "https");
  EXPECT_EQ(h.path(), "/orders?x=1");
  EXPECT_EQ(h.host(), "api.example.com");
  EXPECT_EQ(h.head().method_string(), "POST");
  EXPECT_EQ(h.head().target(), "/orders?x=1");
  EXPECT_EQ(h.head()["content-type"], "application/json");
  EXPECT_EQ(h.head()["x-a"], "1");
  EXPECT_EQ(h.head().entries().size(), 2u);
}

TEST(H2RequestHead, AuthorityWinsOverHostAndHostIsTheFallback) {
  h2_request_head h;
  ASSERT_EQ(build(h, {{":method", "GET"}, {":scheme", "http"}, {":authority", "a.example"}, {":path", "/"},
                      {"host", "b.example"}}),
            error::none);
  EXPECT_EQ(h.host(), "a.example");
  ASSERT_EQ(build(h, {{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {"host", "b.example"}}), error::none);
  EXPECT_EQ(h.host(), "b.example");
}

TEST(H2RequestHead, JoinsCookieCrumbsWithSemicolons) {
  h2_request_head h;
  ASSERT_EQ(build(h, {{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {"cookie", "a=1"}, {"x", "y"},
                      {"cookie", "b=2"}, {"cookie", "access_token=t"}}),
            error::none);
  EXPECT_EQ(h.head().count(std::string_view("cookie")), 1u);
  EXPECT_EQ(h.head()["cookie"], "a=1; b=2; access_token=t");
}

TEST(H2RequestHead, RefusesMalformedBlocks) {
  h2_request_head h;
  EXPECT_EQ(build(h, {{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {"connection", "close"}}),
            error::connection_specific);
  EXPECT_EQ(build(h, {{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {"te", "gzip"}}),
            error::connection_specific);
  EXPECT_EQ(build(h, {{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {"te", "trailers"}}), error::none);
  EXPECT_EQ(build(h, {{":method", "GET"}, {":method", "GET"}, {":scheme", "http"}, {":path", "/"}}),
            error::repeated_pseudo);
  EXPECT_EQ(build(h, {{":method", "GET"}, {"x", "1"}, {":scheme", "http"}, {":path", "/"}}),
            error::pseudo_after_field);
  EXPECT_EQ(build(h, {{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {":status", "200"}}),
            error::unknown_pseudo);
  EXPECT_EQ(build(h, {{":method", "GET"}, {":scheme", "http"}}), error::missing_pseudo);
  EXPECT_EQ(build(h, {{":method", "CONNECT"}, {":authority", "a:443"}}), error::missing_pseudo);
  EXPECT_EQ(build(h, {{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {"X-Upper", "1"}}), error::bad_name);
  EXPECT_EQ(build(h, {{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {"x", "a\r\nb: c"}}),
            error::bad_value);
  EXPECT_EQ(build(h, {{":method", "GET"}, {":scheme", "http"}, {":path", ""}}), error::repeated_pseudo);
  EXPECT_NE(describe(error::bad_value), describe(error::bad_name));
}

TEST(H2RequestHead, ChecksContentLength) {
  h2_request_head h;
  ASSERT_EQ(build(h, {{":method", "POST"}, {":scheme", "http"}, {":path", "/"}, {"content-length", "12"}}),
            error::none);
  EXPECT_TRUE(h.has_content_length());
  EXPECT_EQ(h.content_length(), 12u);
  EXPECT_FALSE(h.content_length_invalid());
  build(h, {{":method", "POST"}, {":scheme", "http"}, {":path", "/"}, {"content-length", "12"},
            {"content-length", "13"}});
  EXPECT_TRUE(h.content_length_invalid());
  build(h, {{":method", "POST"}, {":scheme", "http"}, {":path", "/"}, {"content-length", "-1"}});
  EXPECT_TRUE(h.content_length_invalid());
}

TEST(H2RequestHead, CountsDecodedBytesAsRfc9113Does) {
  h2_request_head h;
  build(h, {{":method", "GET"}, {":scheme", "http"}, {":path", "/"}});
  EXPECT_EQ(h.decoded_bytes(), (7 + 3 + 32) + (7 + 4 + 32) + (5 + 1 + 32));
}

TEST(H2Response, DropsFieldsHttp2CannotCarry) {
  for (auto name : {"Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade", "Proxy-Connection", "TE", "Trailer"})
    EXPECT_TRUE(must_drop_for_http2_response(name, "")) << name;
  EXPECT_TRUE(must_drop_for_http2_response("X-Hop", "close, x-hop"));
  EXPECT_FALSE(must_drop_for_http2_response("Content-Type", ""));
  EXPECT_FALSE(must_drop_for_http2_response("grpc-status", ""));
}

}  // namespace
}  // namespace jwtgate::proxy
