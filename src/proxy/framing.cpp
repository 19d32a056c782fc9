#include "jwtgate/proxy/framing.h"

#include "jwtgate/proxy/header_rewrite.h"
#include "jwtgate/util/ascii.h"

namespace jwtgate::proxy {

namespace {

bool is_decimal(std::string_view s) noexcept {
  if (s.empty() || s.size() > 19) return false;  // fits in 63 bits
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

framing_error check_request_framing(std::span<const std::string_view> content_length,
                                    std::span<const std::string_view> transfer_encoding,
                                    bool http10) noexcept {
  if (!content_length.empty() && !transfer_encoding.empty())
    return framing_error::content_length_and_transfer_encoding;
  if (content_length.size() > 1) return framing_error::repeated_content_length;
  if (content_length.size() == 1) {
    auto v = util::trim_ows(content_length[0]);
    if (v.find(',') != std::string_view::npos) return framing_error::repeated_content_length;
    if (!is_decimal(v)) return framing_error::bad_content_length;
  }
  if (!transfer_encoding.empty()) {
    if (http10) return framing_error::transfer_encoding_in_http10;
    if (transfer_encoding.size() > 1 || !util::iequals(util::trim_ows(transfer_encoding[0]), "chunked"))
      return framing_error::unsupported_transfer_encoding;
  }
  return framing_error::none;
}

std::string_view describe(framing_error e) noexcept {
  switch (e) {
    case framing_error::none: return "the request framing is valid";
    case framing_error::content_length_and_transfer_encoding:
      return "the request has both Content-Length and Transfer-Encoding";
    case framing_error::repeated_content_length: return "the request repeats Content-Length";
    case framing_error::bad_content_length: return "the request's Content-Length is not a number";
    case framing_error::unsupported_transfer_encoding:
      return "the only Transfer-Encoding accepted is chunked";
    case framing_error::transfer_encoding_in_http10:
      return "HTTP/1.0 requests cannot use Transfer-Encoding";
  }
  return "the request framing is invalid";
}

}  // namespace jwtgate::proxy
