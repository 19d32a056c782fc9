#include "config/validators.h"

#include <arpa/inet.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace jwtgate::config {
namespace {

bool is_alnum(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_unreserved(unsigned char c) noexcept {
  return is_alnum(static_cast<char>(c)) || c == '-' || c == '.' || c == '_' || c == '~';
}

}  // namespace

bool is_http_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_alnum(c) && std::strchr("!#$%&'*+-.^_`|~", c) == nullptr) return false;
  return true;
}

bool is_valid_name(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_alnum(c) && c != '.' && c != '_' && c != '-') return false;
  return true;
}

bool is_normalized_path(std::string_view path, std::string& why) {
  why.clear();
  if (path.empty() || path.front() != '/') {
    why = "must start with '/'";
    return false;
  }
  std::size_t segment_start = 1;
  for (std::size_t i = 1; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      std::string_view segment = path.substr(segment_start, i - segment_start);
      if (segment == "." || segment == "..") {
        why = "must not contain '.' or '..' segments (requests are matched after removing them)";
        return false;
      }
      if (segment.empty() && i < path.size()) {  // only a trailing slash may end empty
        why = "must not contain '//' (requests are matched after merging repeated slashes)";
        return false;
      }
      segment_start = i + 1;
      continue;
    }
    const auto c = static_cast<unsigned char>(path[i]);
    if (c <= 0x20 || c >= 0x7f || c == '?' || c == '#' || c == '\\') {
      why = "must not contain spaces, control characters, non-ASCII bytes, '?', '#' or '\\'";
      return false;
    }
    if (c == '%') {
      int hi = i + 2 < path.size() ? hex_value(path[i + 1]) : -1;
      int lo = i + 2 < path.size() ? hex_value(path[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        why = "contains an invalid percent escape";
        return false;
      }
      const auto decoded = static_cast<unsigned char>(hi * 16 + lo);
      if (decoded == 0 || decoded == '/' || decoded == '\\' || is_unreserved(decoded)) {
        why = "must not percent-encode '/', '\\', NUL or unreserved characters (requests are matched decoded)";
        return false;
      }
      i += 2;
    }
  }
  return true;
}

bool is_ip_address(const std::string& s) noexcept {
  unsigned char buffer[16];
  return inet_pton(AF_INET, s.c_str(), buffer) == 1 || inet_pton(AF_INET6, s.c_str(), buffer) == 1;
}

bool is_valid_host(std::string_view s) noexcept {
  if (s.empty() || s.size() > 253) return false;
  if (s.front() == '[') {  // IPv6 literal in brackets
    if (s.back() != ']') return false;
    return is_ip_address(std::string(s.substr(1, s.size() - 2)));
  }
  for (char c : s)
    if (!is_alnum(c) && c != '-' && c != '.' && c != '_') return false;
  return true;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool is_readable_file(const std::string& path, std::string& error) {
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) {
    error = "cannot read '" + path + "': no such file";
    return false;
  }
  if (!std::filesystem::is_regular_file(status)) {
    error = "cannot read '" + path + "': not a regular file";
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read '" + path + "': " + std::strerror(errno);
    return false;
  }
  return true;
}

bool read_small_file(const std::string& path, std::size_t max_bytes, std::string& content, std::string& error) {
  if (!is_readable_file(path, error)) return false;
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > max_bytes) {
    error = "cannot read '" + path + "': larger than " + std::to_string(max_bytes) + " bytes";
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  std::string data;
  data.reserve(static_cast<std::size_t>(ec ? 0 : size));
  char chunk[4096];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    data.append(chunk, static_cast<std::size_t>(in.gcount()));
    if (data.size() > max_bytes) {
      error = "cannot read '" + path + "': larger than " + std::to_string(max_bytes) + " bytes";
      return false;
    }
  }
  if (in.bad()) {
    error = "cannot read '" + path + "': read error";
    return false;
  }
  content = std::move(data);
  return true;
}

}  // namespace jwtgate::config

namespace jwtgate::config {

bool is_reserved_identity_header(std::string_view name) noexcept {
  constexpr std::string_view reserved[] = {
      "host", "content-length", "transfer-encoding", "connection", "keep-alive",
      "proxy-connection", "te", "trailer", "upgrade", "expect", "authorization",
      "proxy-authorization", "proxy-authenticate", "cookie", "set-cookie",
      "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-request-id",
      "x-forwarded-method", "x-forwarded-uri", "x-original-method", "x-original-uri", "forwarded",
  };
  for (std::string_view r : reserved)
    if (r == name) return true;
  return false;
}

}  // namespace jwtgate::config
