#include "jwtgate/proxy/framing.h"

#include <vector>

#include <gtest/gtest.h>

namespace jwtgate::proxy {
namespace {

using sv = std::string_view;

framing_error check(std::vector<sv> cl, std::vector<sv> te, bool http10 = false) {
  return check_request_framing(cl, te, http10);
}

TEST(Framing, AcceptsPlainForms) {
  EXPECT_EQ(check({}, {}), framing_error::none);
  EXPECT_EQ(check({"0"}, {}), framing_error::none);
  EXPECT_EQ(check({"12345"}, {}), framing_error::none);
  EXPECT_EQ(check({}, {"chunked"}), framing_error::none);
  EXPECT_EQ(check({}, {"Chunked"}), framing_error::none);
}

TEST(Framing, RefusesSmugglingShapes) {
  EXPECT_EQ(check({"5"}, {"chunked"}), framing_error::content_length_and_transfer_encoding);
  EXPECT_EQ(check({"5", "5"}, {}), framing_error::repeated_content_length);
  EXPECT_EQ(check({"5", "6"}, {}), framing_error::repeated_content_length);
  EXPECT_EQ(check({"5, 5"}, {}), framing_error::repeated_content_length);
  EXPECT_EQ(check({"-1"}, {}), framing_error::bad_content_length);
  EXPECT_EQ(check({"0x10"}, {}), framing_error::bad_content_length);
  EXPECT_EQ(check({""}, {}), framing_error::bad_content_length);
  EXPECT_EQ(check({"99999999999999999999"}, {}), framing_error::bad_content_length);
  EXPECT_EQ(check({}, {"gzip"}), framing_error::unsupported_transfer_encoding);
  EXPECT_EQ(check({}, {"gzip, chunked"}), framing_error::unsupported_transfer_encoding);
  EXPECT_EQ(check({}, {"chunked, chunked"}), framing_error::unsupported_transfer_encoding);
  EXPECT_EQ(check({}, {"chunked", "chunked"}), framing_error::unsupported_transfer_encoding);
  EXPECT_EQ(check({}, {"identity"}), framing_error::unsupported_transfer_encoding);
  EXPECT_EQ(check({}, {"chunked"}, true), framing_error::transfer_encoding_in_http10);
}

TEST(Framing, EveryErrorHasADescription) {
  for (auto e : {framing_error::content_length_and_transfer_encoding, framing_error::repeated_content_length,
                 framing_error::bad_content_length, framing_error::unsupported_transfer_encoding,
                 framing_error::transfer_encoding_in_http10})
    EXPECT_FALSE(describe(e).empty());
}

}  // namespace
}  // namespace jwtgate::proxy
