// must_strip: identity, hop-by-hop and Connection-listed fields never reach
// the upstream.

#include <gtest/gtest.h>

#include "jwtgate/auth/decision.h"
#include "jwtgate/auth/replies.h"
#include "test_support.h"

namespace jwtgate::auth {
namespace {

using namespace testing;

class sanitize_test : public ::testing::Test {
 protected:
  void SetUp() override {
    config::config c;
    auto p = provider_cfg("corp");
    p.headers = {{"X-User-Id", "sub"}};
    p.payload_header = "X-Jwt-Payload";
    c.providers.push_back(p);
    snap = build_snapshot(std::move(c), {hmac_store(secret_a)});
  }
  std::unique_ptr<config::snapshot> snap;
};

TEST_F(sanitize_test, identity_headers_in_any_case) {
  for (const char* name : {"X-User-Id", "x-user-id", "X-USER-ID", "x-jwt-payload", "X-Jwt-Payload"})
    EXPECT_TRUE(must_strip(*snap, name, "")) << name;
  EXPECT_FALSE(must_strip(*snap, "X-User-Idx", ""));
  EXPECT_FALSE(must_strip(*snap, "X-User", ""));
}

TEST_F(sanitize_test, underscore_spellings_of_managed_headers) {
  // CGI-style backends read X_User_Id as X-User-Id.
  for (const char* name : {"X_User_Id", "x_user-id", "X-USER_ID", "x_jwt_payload", "X_Forwarded_For",
                           "x_forwarded_proto", "X_Forwarded_Host", "X_Request_Id", "Transfer_Encoding",
                           "Proxy_Authorization"})
    EXPECT_TRUE(must_strip(*snap, name, "")) << name;
  EXPECT_FALSE(must_strip(*snap, "X_Custom_Header", ""));
  EXPECT_FALSE(must_strip(*snap, "Accept_Language", ""));
}

TEST_F(sanitize_test, path_override_headers) {
  for (const char* name : {"X-Original-URL", "x-original-url", "X_Original_Url", "X-Rewrite-URL", "x-rewrite-url"})
    EXPECT_TRUE(must_strip(*snap, name, "")) << name;
}

TEST_F(sanitize_test, hop_by_hop_headers) {
  for (const char* name : {"Connection", "keep-alive", "Proxy-Authenticate", "Proxy-Authorization",
                           "proxy-connection", "TE", "Trailer", "Transfer-Encoding", "Upgrade"})
    EXPECT_TRUE(must_strip(*snap, name, "")) << name;
}

TEST_F(sanitize_test, end_to_end_headers_are_kept) {
  for (const char* name : {"Host", "Authorization", "Cookie", "Content-Type", "Content-Length", "Accept",
                           "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Request-Id", "Trailers"})
    EXPECT_FALSE(must_strip(*snap, name, "")) << name;
}

TEST_F(sanitize_test, names_listed_in_connection) {
  EXPECT_TRUE(must_strip(*snap, "X-Custom", "keep-alive, x-custom"));
  EXPECT_TRUE(must_strip(*snap, "x-other", "X-Custom ,X-Other"));
  EXPECT_FALSE(must_strip(*snap, "X-Custom", "keep-alive, x-customer"));
  EXPECT_FALSE(must_strip(*snap, "X-Custom", ""));
}

TEST_F(sanitize_test, connection_cannot_remove_host_or_framing) {
  EXPECT_FALSE(must_strip(*snap, "Host", "host"));
  EXPECT_FALSE(must_strip(*snap, "Content-Length", "close, Content-Length"));
}

TEST(replies, error_body_is_json_with_a_name_per_status) {
  EXPECT_EQ(error_body(404, "no route"), R"({"error":"not_found","error_description":"no route"})");
  EXPECT_EQ(error_body(502, "x\"y"), R"({"error":"bad_gateway","error_description":"x\"y"})");
  EXPECT_EQ(error_name(413), "payload_too_large");
  EXPECT_EQ(error_name(431), "request_header_fields_too_large");
  EXPECT_EQ(error_name(503), "service_unavailable");
  EXPECT_EQ(error_name(504), "gateway_timeout");
}

TEST(replies, quoted_string_escapes_and_drops_line_breaks) {
  EXPECT_EQ(quoted_string(R"(a"b\c)"), R"("a\"b\\c")");
  EXPECT_EQ(quoted_string("a\r\nb"), R"("ab")");
}

}  // namespace
}  // namespace jwtgate::auth
