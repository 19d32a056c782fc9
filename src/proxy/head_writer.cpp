#include "jwtgate/proxy/head_writer.h"

#include <charconv>

namespace jwtgate::proxy {

void append_request_line(std::string& out, std::string_view method, std::string_view target) {
  out.append(method);
  out.push_back(' ');
  out.append(target);
  out.append(" HTTP/1.1\r\n");
}

void append_status_line(std::string& out, unsigned version, unsigned status, std::string_view reason) {
  out.append(version >= 11 ? "HTTP/1.1 " : "HTTP/1.0 ");
  char digits[3] = {static_cast<char>('0' + status / 100 % 10), static_cast<char>('0' + status / 10 % 10),
                    static_cast<char>('0' + status % 10)};
  out.append(digits, 3);
  out.push_back(' ');
  out.append(reason);
  out.append("\r\n");
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

std::string_view chunk_size_line(std::size_t n, chunk_line_storage& storage) noexcept {
  auto [end, ec] = std::to_chars(storage.data(), storage.data() + storage.size() - 2, n, 16);
  (void)ec;  // 16 hex digits always fit
  *end++ = '\r';
  *end++ = '\n';
  return {storage.data(), static_cast<std::size_t>(end - storage.data())};
}

}  // namespace jwtgate::proxy
