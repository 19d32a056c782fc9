#pragma once
// Writing HTTP/1.1 message heads and chunked framing as bytes. The proxy
// builds each forwarded head into one reused string and sends it with the
// body in a single gather write: no per-field allocation, one iovec per head.
// No Beast here, so the exact bytes are unit tested.

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace jwtgate::proxy {

inline constexpr std::string_view crlf = "\r\n";
inline constexpr std::string_view last_chunk = "0\r\n\r\n";

// "METHOD target HTTP/1.1\r\n"
void append_request_line(std::string& out, std::string_view method, std::string_view target);

// "HTTP/1.x status reason\r\n"; version is 10 or 11.
void append_status_line(std::string& out, unsigned version, unsigned status, std::string_view reason);

// "name: value\r\n". Callers have checked both for CR, LF and NUL.
void append_field(std::string& out, std::string_view name, std::string_view value);

// The chunk-size line for a chunk of n bytes ("1f40\r\n"), in lower-case hex,
// as a view into `storage`.
using chunk_line_storage = std::array<char, 20>;
std::string_view chunk_size_line(std::size_t n, chunk_line_storage& storage) noexcept;

}  // namespace jwtgate::proxy
