#include "jwtgate/proxy/request_id.h"

#include <string_view>

namespace jwtgate::proxy {

namespace {
constexpr char hex_digits[] = "0123456789abcdef";
bool is_hex(char c) noexcept { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
}  // namespace

request_id_generator::request_id_generator() {
  std::random_device rd;
  std::seed_seq seq{rd(), rd(), rd(), rd()};
  rng_.seed(seq);
}

std::string request_id_generator::next() {
  std::string id;
  next(id);
  return id;
}

void request_id_generator::next(std::string& id) {
  std::uint64_t hi = rng_(), lo = rng_();
  // Version 4, variant 10xx (RFC 9562 section 5.4).
  hi = (hi & ~std::uint64_t{0xF000}) | 0x4000;
  lo = (lo & ~(std::uint64_t{0xC} << 60)) | (std::uint64_t{0x8} << 60);
  id.assign(36, '-');
  std::size_t pos = 0;
  auto put = [&](std::uint64_t v, int nibbles) {
    for (int i = nibbles - 1; i >= 0; --i) {
      if (id[pos] == '-' && (pos == 8 || pos == 13 || pos == 18 || pos == 23)) ++pos;
      id[pos++] = hex_digits[(v >> (i * 4)) & 0xF];
    }
  };
  put(hi, 16);
  put(lo, 16);
}

bool is_request_id(std::string_view id) noexcept {
  if (id.size() != 36) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? id[i] != '-' : !is_hex(id[i])) return false;
  }
  return id[14] == '4' && (id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b');
}

}  // namespace jwtgate::proxy
