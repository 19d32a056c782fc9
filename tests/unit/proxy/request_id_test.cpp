#include "jwtgate/proxy/request_id.h"

#include <set>

#include <gtest/gtest.h>

namespace jwtgate::proxy {
namespace {

TEST(RequestId, HasTheShapeOfAVersion4Uuid) {
  request_id_generator gen(42);
  for (int i = 0; i < 1000; ++i) {
    auto id = gen.next();
    ASSERT_TRUE(is_request_id(id)) << id;
  }
}

TEST(RequestId, DoesNotRepeat) {
  request_id_generator gen;
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) seen.insert(gen.next());
  EXPECT_EQ(seen.size(), 10000u);
}

TEST(RequestId, RecognizerRejectsOtherShapes) {
  EXPECT_FALSE(is_request_id(""));
  EXPECT_FALSE(is_request_id("0123456789abcdef0123456789abcdef"));
  EXPECT_FALSE(is_request_id("0123456789ab-cdef-4123-8567-89abcdef0123"));
  EXPECT_FALSE(is_request_id("01234567-89AB-4DEF-8123-456789ABCDEF"));  // upper case
  EXPECT_TRUE(is_request_id("01234567-89ab-4def-8123-456789abcdef"));
}

}  // namespace
}  // namespace jwtgate::proxy
