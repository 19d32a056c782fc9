// Request-target normalization, table-driven (SPEC section 4).

#include <gtest/gtest.h>

#include <string>

#include "jwtgate/routing/path.h"

namespace jwtgate::routing {
namespace {

struct target_case {
  std::string input;
  target_error error;
  std::string path;   // expected when error == none
  std::string query;  // expected when error == none
  bool has_query = false;
};

void PrintTo(const target_case& c, std::ostream* os) { *os << '"' << c.input.substr(0, 80) << '"'; }

class normalize_table : public ::testing::TestWithParam<target_case> {};

TEST_P(normalize_table, gives_expected_path_or_error) {
  const target_case& c = GetParam();
  normalized_target out;
  target_error e = normalize_target(c.input, out);
  ASSERT_EQ(to_string(e), to_string(c.error));
  if (e == target_error::none) {
    EXPECT_EQ(out.path, c.path);
    EXPECT_EQ(out.query, c.query);
    EXPECT_EQ(out.has_query, c.has_query);
  } else {
    EXPECT_TRUE(out.path.empty());
  }
}

constexpr auto ok = target_error::none;
constexpr auto bad_target = target_error::bad_target;
constexpr auto bad_escape = target_error::bad_escape;
constexpr auto nul = target_error::encoded_nul;
constexpr auto slash = target_error::encoded_slash;
constexpr auto too_long = target_error::too_long;

const target_case cases[] = {
    // plain origin-form
    {"/", ok, "/", ""},
    {"/a/b", ok, "/a/b", ""},
    {"/a/b/", ok, "/a/b/", ""},
    {"/a/b?x=1", ok, "/a/b", "x=1", true},
    {"/a?", ok, "/a", "", true},
    // dot-segments, raw
    {"/a/./b", ok, "/a/b", ""},
    {"/a/../b", ok, "/b", ""},
    {"/a/../../b", ok, "/b", ""},
    {"/../../../etc/passwd", ok, "/etc/passwd", ""},
    {"/a/b/..", ok, "/a/", ""},
    {"/a/b/.", ok, "/a/b/", ""},
    {"/..", ok, "/", ""},
    {"/.", ok, "/", ""},
    {"/admin/..", ok, "/", ""},
    {"/public/../admin", ok, "/admin", ""},
    {"/a/.../b", ok, "/a/.../b", ""},
    {"/a/..b/c", ok, "/a/..b/c", ""},
    {"/a/.b", ok, "/a/.b", ""},
    // dot-segments, percent-encoded in every case
    {"/a/%2e%2e/b", ok, "/b", ""},
    {"/a/%2E%2E/b", ok, "/b", ""},
    {"/a/%2e%2E/b", ok, "/b", ""},
    {"/a/.%2e/b", ok, "/b", ""},
    {"/a/%2e./b", ok, "/b", ""},
    {"/a/%2E./b", ok, "/b", ""},
    {"/a/%2e/b", ok, "/a/b", ""},
    {"/public/%2e%2e/admin", ok, "/admin", ""},
    {"/a/%2e%2e", ok, "/", ""},
    {"/%2e%2e/%2e%2e/x", ok, "/x", ""},
    // double slashes
    {"//a", ok, "/a", ""},
    {"/a//b", ok, "/a/b", ""},
    {"/a///b//", ok, "/a/b/", ""},
    {"////", ok, "/", ""},
    {"/a//../b", ok, "/b", ""},
    {"//admin/", ok, "/admin/", ""},
    // encoded slashes and backslashes, every case
    {"/a%2Fb", slash, "", ""},
    {"/a%2fb", slash, "", ""},
    {"/a%5Cb", slash, "", ""},
    {"/a%5cb", slash, "", ""},
    {"/..%2F..%2Fadmin", slash, "", ""},
    {"/a\\b", bad_target, "", ""},
    {"/..\\admin", bad_target, "", ""},
    // NUL
    {"/a%00b", nul, "", ""},
    {"/a%00", nul, "", ""},
    {std::string("/a\0b", 4), bad_target, "", ""},
    // invalid escapes
    {"/a%", bad_escape, "", ""},
    {"/a%G1", bad_escape, "", ""},
    {"/a%1", bad_escape, "", ""},
    {"/a%%", bad_escape, "", ""},
    {"/a%1G/b", bad_escape, "", ""},
    {"/%zz", bad_escape, "", ""},
    // unreserved escapes decoded, others kept upper-cased
    {"/%61%62%63", ok, "/abc", ""},
    {"/%7E%5F%2D%30", ok, "/~_-0", ""},
    {"/a%20b", ok, "/a%20b", ""},
    {"/a%2bb", ok, "/a%2Bb", ""},
    {"/a%25", ok, "/a%25", ""},
    {"/%252e%252e/x", ok, "/%252e%252e/x", ""},
    {"/%C0%AE%C0%AE/admin", ok, "/%C0%AE%C0%AE/admin", ""},
    {"/%c0%ae/x", ok, "/%C0%AE/x", ""},
    {"/caf%C3%A9", ok, "/caf%C3%A9", ""},
    // path parameters: servlet containers strip ";..." per segment before routing
    {"/a;b=c/d", bad_target, "", ""},
    {"/admin;x=1/secret", bad_target, "", ""},
    {"/pub/..;/admin/secret", bad_target, "", ""},
    {"/pub/.;/admin", bad_target, "", ""},
    {"/a%3Bb/c", ok, "/a%3Bb/c", ""},
    {"/a?x=1;y=2", ok, "/a", "x=1;y=2", true},
    // queries are kept byte for byte, even with dot-segments or escapes
    {"/a?x=/../b", ok, "/a", "x=/../b", true},
    {"/a?%2F%00%zz", ok, "/a", "%2F%00%zz", true},
    {"/a?b?c", ok, "/a", "b?c", true},
    {"/a/../b?c=..", ok, "/b", "c=..", true},
    {"/a?x=\\", ok, "/a", "x=\\", true},
    // fragments never belong to a request-target
    {"/a#frag", bad_target, "", ""},
    {"/a?x#y", bad_target, "", ""},
    // absolute-form
    {"http://example.com/a/b?c", ok, "/a/b", "c", true},
    {"https://example.com:8443/x/../y", ok, "/y", ""},
    {"HTTP://Example.com/a", ok, "/a", ""},
    {"http://example.com", ok, "/", ""},
    {"http://example.com?q=1", ok, "/", "q=1", true},
    {"http://[::1]:8080/a", ok, "/a", ""},
    {"http:///a", bad_target, "", ""},
    {"ftp://example.com/a", bad_target, "", ""},
    {"example.com:443", bad_target, "", ""},
    // other forms and junk
    {"", bad_target, "", ""},
    {"*", bad_target, "", ""},
    {"a/b", bad_target, "", ""},
    {"?x", bad_target, "", ""},
    {"/a b", bad_target, "", ""},
    {"/a\tb", bad_target, "", ""},
    {"/a\r\nX: y", bad_target, "", ""},
    {"/a\x7f", bad_target, "", ""},
    {"/caf\xC3\xA9", bad_target, "", ""},
    {"/a?q=\x01", bad_target, "", ""},
    // length
    {"/" + std::string(8191, 'a'), ok, "/" + std::string(8191, 'a'), ""},
    {"/" + std::string(8192, 'a'), too_long, "", ""},
    {"/?" + std::string(9000, 'q'), too_long, "", ""},
};

INSTANTIATE_TEST_SUITE_P(targets, normalize_table, ::testing::ValuesIn(cases));

TEST(normalize, table_has_at_least_sixty_cases) { EXPECT_GE(std::size(cases), 60u); }

TEST(normalize, is_idempotent_on_its_output) {
  for (const auto& c : cases) {
    if (c.error != target_error::none) continue;
    normalized_target once, twice;
    ASSERT_EQ(normalize_target(c.input, once), target_error::none);
    ASSERT_EQ(normalize_target(once.path, twice), target_error::none) << once.path;
    EXPECT_EQ(twice.path, once.path) << c.input;
  }
}

TEST(normalize, output_never_contains_dot_segments_or_double_slashes) {
  for (const auto& c : cases) {
    if (c.error != target_error::none) continue;
    normalized_target out;
    ASSERT_EQ(normalize_target(c.input, out), target_error::none);
    ASSERT_FALSE(out.path.empty());
    EXPECT_EQ(out.path.front(), '/');
    EXPECT_EQ(out.path.find("//"), std::string::npos) << c.input;
    EXPECT_EQ(out.path.find("/../"), std::string::npos) << c.input;
    EXPECT_EQ(out.path.find("/./"), std::string::npos) << c.input;
  }
}

TEST(normalize, every_single_byte_after_a_slash_is_handled) {
  // No byte value crashes the normalizer or sneaks a control character through.
  for (int b = 0; b < 256; ++b) {
    std::string target = "/x";
    target.push_back(static_cast<char>(b));
    normalized_target out;
    target_error e = normalize_target(target, out);
    bool visible = b > 0x20 && b < 0x7F && b != '#' && b != '\\' && b != '%' && b != ';';
    EXPECT_EQ(e == target_error::none, visible) << b;
  }
}

}  // namespace
}  // namespace jwtgate::routing
