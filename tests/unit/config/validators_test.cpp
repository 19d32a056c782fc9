#include <gtest/gtest.h>

#include "config/validators.h"

namespace jwtgate::config {
namespace {

bool normalized(std::string_view p) {
  std::string why;
  bool ok = is_normalized_path(p, why);
  EXPECT_EQ(ok, why.empty()) << p;
  return ok;
}

TEST(Validators, NormalizedPaths) {
  for (std::string_view good : {"/", "/healthz", "/admin", "/admin/", "/a/b/c", "/a%20b", "/_auth", "/a.b/..c/d."})
    EXPECT_TRUE(normalized(good)) << good;
  for (std::string_view bad : {"", "admin", "//", "/a//b", "/a/./b", "/a/../b", "/..", "/.", "/a?x", "/a#x",
                               "/a b", "/a\\b", "/%2F", "/%2f", "/%5C", "/%00", "/%41", "/%7E", "/%zz", "/%2",
                               "/a\tb", "/\x80"})
    EXPECT_FALSE(normalized(bad)) << bad;
}

TEST(Validators, HttpTokens) {
  EXPECT_TRUE(is_http_token("X-User-Id"));
  EXPECT_TRUE(is_http_token("GET"));
  EXPECT_FALSE(is_http_token(""));
  EXPECT_FALSE(is_http_token("X User"));
  EXPECT_FALSE(is_http_token("X-User:"));
  EXPECT_FALSE(is_http_token("X-\xc3\xa9"));
}

TEST(Validators, Names) {
  EXPECT_TRUE(is_valid_name("corp-idp_1.v2"));
  EXPECT_FALSE(is_valid_name(""));
  EXPECT_FALSE(is_valid_name("a b"));
  EXPECT_FALSE(is_valid_name("#1"));
  EXPECT_FALSE(is_valid_name("a\"b"));
}

TEST(Validators, AddressesAndHosts) {
  EXPECT_TRUE(is_ip_address("0.0.0.0"));
  EXPECT_TRUE(is_ip_address("::1"));
  EXPECT_FALSE(is_ip_address("localhost"));
  EXPECT_FALSE(is_ip_address("1.2.3.4:80"));
  EXPECT_TRUE(is_valid_host("api.example.com"));
  EXPECT_TRUE(is_valid_host("[::1]"));
  EXPECT_FALSE(is_valid_host("api.example.com:443"));
  EXPECT_FALSE(is_valid_host("http://x"));
  EXPECT_FALSE(is_valid_host(""));
}

TEST(Validators, ReservedIdentityHeaders) {
  for (std::string_view name : {"host", "content-length", "transfer-encoding", "authorization", "cookie",
                                "x-forwarded-for", "connection"})
    EXPECT_TRUE(is_reserved_identity_header(name)) << name;
  EXPECT_FALSE(is_reserved_identity_header("x-user-id"));
}

}  // namespace
}  // namespace jwtgate::config
