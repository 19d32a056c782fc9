#pragma once
// Strict, canonical base64url (RFC 4648 section 5, unpadded, as JWS requires).
// Every byte string has exactly one accepted spelling: padding, '+', '/',
// whitespace, impossible lengths and non-zero trailing bits are all refused, so
// two different texts can never decode to the same token.

#include <cstddef>
#include <string>
#include <string_view>

namespace jwtgate::jose {

// Decodes `text` into `out` (replacing its contents). Returns false, leaving
// `out` unspecified, on any non-canonical input.
bool base64url_decode(std::string_view text, std::string& out);

// Appends the unpadded base64url spelling of `bytes` to `out`.
void base64url_encode_append(std::string_view bytes, std::string& out);

inline std::string base64url_encode(std::string_view bytes) {
  std::string out;
  base64url_encode_append(bytes, out);
  return out;
}

// Length of the decoded form of a canonical text of `text_size` characters.
constexpr std::size_t base64url_decoded_size(std::size_t text_size) noexcept {
  return text_size / 4 * 3 + (text_size % 4 == 0 ? 0 : text_size % 4 - 1);
}

}  // namespace jwtgate::jose
