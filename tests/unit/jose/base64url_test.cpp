#include <gtest/gtest.h>

#include "jwtgate/jose/base64url.h"

namespace {

using jwtgate::jose::base64url_decode;
using jwtgate::jose::base64url_encode;

TEST(Base64url, Rfc4648VectorsRoundTrip) {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""}, {"f", "Zg"}, {"fo", "Zm8"}, {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64url_encode(plain), encoded);
    std::string out;
    ASSERT_TRUE(base64url_decode(encoded, out)) << encoded;
    EXPECT_EQ(out, plain);
  }
}

TEST(Base64url, UsesTheUrlAlphabet) {
  const std::string bytes("\xfb\xff\xbf", 3);
  EXPECT_EQ(base64url_encode(bytes), "-_-_");
  std::string out;
  ASSERT_TRUE(base64url_decode("-_-_", out));
  EXPECT_EQ(out, bytes);
}

TEST(Base64url, EveryByteValueRoundTrips) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (std::size_t len = 0; len <= all.size(); len += 7) {
    std::string out;
    const auto part = all.substr(0, len);
    ASSERT_TRUE(base64url_decode(base64url_encode(part), out));
    EXPECT_EQ(out, part);
  }
}

TEST(Base64url, RefusesPaddingAndTheStandardAlphabet) {
  std::string out;
  EXPECT_FALSE(base64url_decode("Zg==", out));
  EXPECT_FALSE(base64url_decode("Zm8=", out));
  EXPECT_FALSE(base64url_decode("+/+/", out));
  EXPECT_FALSE(base64url_decode("ab+c", out));
  EXPECT_FALSE(base64url_decode("ab/c", out));
}

TEST(Base64url, RefusesWhitespaceAndForeignBytes) {
  std::string out;
  for (const char* bad : {"Zm9v ", " Zm9v", "Zm\n9v", "Zm9\tv", "Zm.v", "Zm9v\x80", "Zm%v"})
    EXPECT_FALSE(base64url_decode(bad, out)) << bad;
  EXPECT_FALSE(base64url_decode(std::string_view("Zm\0v", 4), out));
}

TEST(Base64url, RefusesImpossibleLengths) {
  std::string out;
  EXPECT_FALSE(base64url_decode("Z", out));
  EXPECT_FALSE(base64url_decode("Zm9vY", out));
}

TEST(Base64url, RefusesNonCanonicalTrailingBits) {
  std::string out;
  // "Zg" is the only spelling of "f"; "Zh".."Zv" carry the same byte plus junk bits.
  EXPECT_TRUE(base64url_decode("Zg", out));
  EXPECT_FALSE(base64url_decode("Zh", out));
  EXPECT_FALSE(base64url_decode("Zv", out));
  EXPECT_TRUE(base64url_decode("Zm8", out));
  EXPECT_FALSE(base64url_decode("Zm9", out));
  EXPECT_FALSE(base64url_decode("Zm-", out));
}

}  // namespace
