#include "jwtgate/routing/path.h"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace jwtgate::routing {
namespace {

// nginx's default large_client_header_buffers line is 8 KiB; a longer target is
// refused before any work is done on it.
constexpr std::size_t max_target_bytes = 8192;

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_unreserved(unsigned char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '.' || c == '_' || c == '~';
}

bool starts_with_ci(std::string_view s, std::string_view prefix) noexcept {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

// Every byte of a request-target must be a visible ASCII character (RFC 9112
// section 3.2). '#' never appears in a request-target: a fragment is the
// client's business, and accepting one would let "/a#/../b" mean different
// things to us and to the backend.
bool has_forbidden_byte(std::string_view target) noexcept {
  for (char ch : target) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x21 || c >= 0x7F || c == '#') return true;
  }
  return false;
}

// Strips "http://authority" or "https://authority" and returns the rest
// (path and query, possibly empty). False when the target is neither form.
bool split_form(std::string_view target, std::string_view& path_and_query) noexcept {
  if (target.front() == '/') {
    path_and_query = target;
    return true;
  }
  std::size_t scheme_len = 0;
  if (starts_with_ci(target, "http://")) scheme_len = 7;
  else if (starts_with_ci(target, "https://")) scheme_len = 8;
  else return false;  // asterisk-form, authority-form, relative paths, other schemes
  std::string_view rest = target.substr(scheme_len);
  std::size_t end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, end);
  if (authority.empty()) return false;
  path_and_query = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
  return true;
}

// Decodes escapes of unreserved characters, keeps every other escape with
// upper-case hex digits, and refuses escapes that would change the path's
// structure once a backend decodes them (%2F, %5C) or truncate it (%00).
// Only one level of decoding happens: "%252e" stays "%252e".
target_error decode_path(std::string_view raw, std::string& out) {
  static constexpr char upper_hex[] = "0123456789ABCDEF";
  out.clear();
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    // A raw backslash is a separator for some backends (IIS, Windows file
    // servers) and not for us: refusing it keeps one meaning for every path.
    if (c == '\\') return target_error::bad_target;
    // Path parameters: Java servlet containers drop ";..." from each segment
    // before routing, so "/admin;x/secret" or "/pub/..;/admin" would reach
    // /admin there while matching another route here. One meaning or none.
    if (c == ';') return target_error::bad_target;
    if (c != '%') {
      out.push_back(c);
      continue;
    }
    if (raw.size() - i < 3) return target_error::bad_escape;  // "%" or "%A" at the end
    int hi = hex_value(raw[i + 1]);
    int lo = hex_value(raw[i + 2]);
    if (hi < 0 || lo < 0) return target_error::bad_escape;
    auto value = static_cast<unsigned char>(hi * 16 + lo);
    if (value == 0) return target_error::encoded_nul;
    if (value == '/' || value == '\\') return target_error::encoded_slash;
    if (is_unreserved(value)) {
      out.push_back(static_cast<char>(value));
    } else {
      // Non-ASCII and reserved bytes stay encoded: "%C0%AE" (an overlong UTF-8
      // '.') is never turned into a dot.
      out.push_back('%');
      out.push_back(upper_hex[value >> 4]);
      out.push_back(upper_hex[value & 0x0F]);
    }
    i += 2;
  }
  return target_error::none;
}

// Merges repeated slashes and removes "." and ".." segments (RFC 3986 5.2.4),
// never climbing above the root. A path ending in "/", "/." or "/.." keeps a
// trailing slash. Slashes are merged first, as nginx's merge_slashes does, so
// "/a//../b" is "/b".
std::string remove_dot_segments(std::string_view path) {
  std::vector<std::string_view> segments;
  bool trailing_slash = false;
  std::size_t pos = 1;  // path[0] == '/'
  while (pos <= path.size()) {
    std::size_t next = path.find('/', pos);
    if (next == std::string_view::npos) next = path.size();
    std::string_view segment = path.substr(pos, next - pos);
    bool last = next == path.size();
    if (segment.empty() || segment == ".") {
      trailing_slash = last;
    } else if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
      trailing_slash = last;
    } else {
      segments.push_back(segment);
      trailing_slash = false;
    }
    pos = next + 1;
  }
  std::string out;
  out.reserve(path.size());
  for (std::string_view s : segments) {
    out.push_back('/');
    out.append(s);
  }
  if (out.empty() || trailing_slash) out.push_back('/');
  return out;
}

}  // namespace

target_error normalize_target(std::string_view target, normalized_target& out) {
  out = normalized_target{};
  if (target.empty()) return target_error::bad_target;
  if (target.size() > max_target_bytes) return target_error::too_long;
  if (has_forbidden_byte(target)) return target_error::bad_target;

  std::string_view path_and_query;
  if (!split_form(target, path_and_query)) return target_error::bad_target;

  std::size_t question = path_and_query.find('?');
  std::string_view raw_path = path_and_query.substr(0, question);
  if (question != std::string_view::npos) {
    out.has_query = true;
    out.query.assign(path_and_query.substr(question + 1));
  }
  // absolute-form with an empty path ("http://h" or "http://h?q") means "/".
  if (raw_path.empty()) raw_path = "/";

  std::string decoded;
  if (target_error e = decode_path(raw_path, decoded); e != target_error::none) {
    out = normalized_target{};
    return e;
  }
  out.path = remove_dot_segments(decoded);
  return target_error::none;
}

std::string_view to_string(target_error e) noexcept {
  switch (e) {
    case target_error::none: return "none";
    case target_error::bad_target: return "bad_target";
    case target_error::bad_escape: return "bad_escape";
    case target_error::encoded_nul: return "encoded_nul";
    case target_error::encoded_slash: return "encoded_slash";
    case target_error::too_long: return "too_long";
  }
  return "unknown";
}

}  // namespace jwtgate::routing
