#pragma once
// Request message framing rules that close request-smuggling holes (SPEC
// section 4). The HTTP parser accepts a few ambiguous forms on its own; these
// checks run on every request head before anything else looks at it.

#include <span>
#include <string_view>

namespace jwtgate::proxy {

enum class framing_error {
  none,
  content_length_and_transfer_encoding,  // both present
  repeated_content_length,               // several fields, or a list "5, 5"
  bad_content_length,                    // not a plain decimal number
  unsupported_transfer_encoding,         // anything other than exactly "chunked"
  transfer_encoding_in_http10,           // HTTP/1.0 has no chunked framing
};

// `content_length` and `transfer_encoding` hold every field value of that name,
// in order. `http10` is true for HTTP/1.0 requests.
framing_error check_request_framing(std::span<const std::string_view> content_length,
                                    std::span<const std::string_view> transfer_encoding,
                                    bool http10) noexcept;

// A sentence for the 400 reply's error_description.
std::string_view describe(framing_error e) noexcept;

}  // namespace jwtgate::proxy
