#pragma once
// Pure helpers for carrying requests and responses between HTTP/2 and HTTP/1
// heads, and gRPC's own terms for the gateway's answers. No nghttp2 and no
// sockets here, so every rule is unit tested on its own.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "jwtgate/proxy/flat_head.h"

namespace jwtgate::proxy {

// gRPC's mapping of an HTTP status the gateway answers with to a gRPC status
// code (grpc/doc/http-grpc-status-mapping.md): 400 -> 13 INTERNAL,
// 401 -> 16 UNAUTHENTICATED, 403 -> 7 PERMISSION_DENIED, 404 -> 12
// UNIMPLEMENTED, 429/502/503/504 -> 14 UNAVAILABLE, anything else -> 2 UNKNOWN.
int grpc_status_for_http(unsigned http_status) noexcept;

// Is this Content-Type a gRPC one ("application/grpc", "application/grpc+proto",
// "application/grpc;..."), case-insensitively?
bool is_grpc_content_type(std::string_view content_type) noexcept;

// grpc-message's percent-encoding: every byte outside 0x20..0x7E, and '%'
// itself, as %XX (the gRPC HTTP/2 protocol document).
std::string grpc_percent_encode(std::string_view message);

// RFC 9113 section 8.2.2: fields an HTTP/2 message must not carry. `te` is
// allowed with the value "trailers" only.
bool is_connection_specific(std::string_view name, std::string_view value) noexcept;

// Collects an HTTP/2 request's header block into an HTTP/1-shaped head the
// request pipeline reads: the request line from :method and :path, Host from
// :authority (RFC 9113 section 8.3.1: it wins over a Host field), and the
// cookie crumbs of section 8.2.3 joined into one Cookie field.
class h2_request_head {
 public:
  enum class error {
    none,
    unknown_pseudo,        // a pseudo-header HTTP/2 requests do not have
    repeated_pseudo,       // a pseudo-header given twice
    pseudo_after_field,    // a pseudo-header after a regular field
    connection_specific,   // section 8.2.2
    bad_name,              // empty, upper case, or not a token
    bad_value,             // CR, LF or NUL in a value
    missing_pseudo,        // no :method, :scheme or :path (or CONNECT)
  };

  void clear();
  // Adds one decoded field; the first error sticks.
  error add(std::string_view name, std::string_view value);
  // After the whole block: checks what must be there and builds `head`.
  error finish();

  const flat_head& head() const noexcept { return head_; }
  std::string_view method() const noexcept { return method_; }
  std::string_view scheme() const noexcept { return scheme_; }
  std::string_view authority() const noexcept { return authority_; }
  std::string_view path() const noexcept { return path_; }
  // The host the request names: :authority, else the Host field.
  std::string_view host() const noexcept;
  std::size_t decoded_bytes() const noexcept { return decoded_bytes_; }
  // The request's declared content-length, if it sent exactly one valid value.
  bool has_content_length() const noexcept { return has_content_length_; }
  std::uint64_t content_length() const noexcept { return content_length_; }
  bool content_length_invalid() const noexcept { return content_length_invalid_; }
  // The memory its buffers hold (kept across clear()).
  std::size_t capacity_bytes() const noexcept {
    return head_.capacity_bytes() + arena_.capacity() + fields_.capacity() * sizeof(field_span) +
           method_.capacity() + scheme_.capacity() + authority_.capacity() + path_.capacity() + cookie_.capacity();
  }

 private:
  error fail(error e) noexcept {
    if (error_ == error::none) error_ = e;
    return error_;
  }

  struct field_span {
    std::size_t at, name_size, value_size;
  };
  flat_head head_;
  std::string arena_;  // names and values as received, until finish()
  std::vector<field_span> fields_;
  std::string method_, scheme_, authority_, path_, cookie_;
  bool saw_field_ = false, saw_cookie_ = false;
  bool has_content_length_ = false, content_length_invalid_ = false;
  std::uint64_t content_length_ = 0;
  std::size_t decoded_bytes_ = 0;
  error error_ = error::none;
};

std::string_view describe(h2_request_head::error e) noexcept;

// Must a field of an HTTP/1 response be dropped before it is sent in an
// HTTP/2 response? Hop-by-hop and connection-specific fields, and those the
// response's Connection names.
bool must_drop_for_http2_response(std::string_view name, std::string_view connection) noexcept;

}  // namespace jwtgate::proxy
