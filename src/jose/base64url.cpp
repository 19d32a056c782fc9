#include "jwtgate/jose/base64url.h"

#include <array>
#include <cstdint>

namespace jwtgate::jose {
namespace {

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::uint8_t invalid = 0xff;

constexpr std::array<std::uint8_t, 256> make_decode_table() {
  std::array<std::uint8_t, 256> table{};
  for (auto& v : table) v = invalid;
  for (std::uint8_t i = 0; i < 64; ++i) table[static_cast<unsigned char>(alphabet[i])] = i;
  return table;
}
constexpr auto decode_table = make_decode_table();

}  // namespace

bool base64url_decode(std::string_view text, std::string& out) {
  const std::size_t n = text.size();
  // One leftover character carries only 6 bits: no byte string encodes to that.
  if (n % 4 == 1) return false;
  out.resize(base64url_decoded_size(n));

  const auto* in = reinterpret_cast<const unsigned char*>(text.data());
  char* dst = out.data();
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const std::uint32_t a = decode_table[in[i]], b = decode_table[in[i + 1]],
                        c = decode_table[in[i + 2]], d = decode_table[in[i + 3]];
    if (((a | b | c | d) & 0xc0) != 0) return false;  // invalid entries are 0xff
    const std::uint32_t word = a << 18 | b << 12 | c << 6 | d;
    *dst++ = static_cast<char>(word >> 16);
    *dst++ = static_cast<char>(word >> 8);
    *dst++ = static_cast<char>(word);
  }

  const std::size_t rest = n - i;
  if (rest == 2) {
    const std::uint32_t a = decode_table[in[i]], b = decode_table[in[i + 1]];
    if (((a | b) & 0xc0) != 0) return false;
    // The last character's low 4 bits fall outside the byte: they must be zero.
    if ((b & 0x0f) != 0) return false;
    *dst++ = static_cast<char>(a << 2 | b >> 4);
  } else if (rest == 3) {
    const std::uint32_t a = decode_table[in[i]], b = decode_table[in[i + 1]],
                        c = decode_table[in[i + 2]];
    if (((a | b | c) & 0xc0) != 0) return false;
    if ((c & 0x03) != 0) return false;  // the 2 spare bits must be zero
    const std::uint32_t word = a << 10 | b << 4 | c >> 2;
    *dst++ = static_cast<char>(word >> 8);
    *dst++ = static_cast<char>(word);
  }
  return true;
}

void base64url_encode_append(std::string_view bytes, std::string& out) {
  const auto* in = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();
  out.reserve(out.size() + (n * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const std::uint32_t word = std::uint32_t(in[i]) << 16 | std::uint32_t(in[i + 1]) << 8 | in[i + 2];
    out.push_back(alphabet[word >> 18 & 0x3f]);
    out.push_back(alphabet[word >> 12 & 0x3f]);
    out.push_back(alphabet[word >> 6 & 0x3f]);
    out.push_back(alphabet[word & 0x3f]);
  }
  if (n - i == 1) {
    const std::uint32_t word = std::uint32_t(in[i]) << 16;
    out.push_back(alphabet[word >> 18 & 0x3f]);
    out.push_back(alphabet[word >> 12 & 0x3f]);
  } else if (n - i == 2) {
    const std::uint32_t word = std::uint32_t(in[i]) << 16 | std::uint32_t(in[i + 1]) << 8;
    out.push_back(alphabet[word >> 18 & 0x3f]);
    out.push_back(alphabet[word >> 12 & 0x3f]);
    out.push_back(alphabet[word >> 6 & 0x3f]);
  }
}

}  // namespace jwtgate::jose
