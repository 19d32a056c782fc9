#include "jwtgate/proxy/h2_heads.h"

#include <charconv>
#include <ostream>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>

#include "jwtgate/proxy/header_rewrite.h"

namespace jwtgate::proxy {

namespace http = boost::beast::http;

int grpc_status_for_http(unsigned http_status) noexcept {
  switch (http_status) {
    case 400: return 13;  // INTERNAL
    case 401: return 16;  // UNAUTHENTICATED
    case 403: return 7;   // PERMISSION_DENIED
    case 404: return 12;  // UNIMPLEMENTED
    case 429: case 502: case 503: case 504: return 14;  // UNAVAILABLE
    default: return 2;    // UNKNOWN
  }
}

bool is_grpc_content_type(std::string_view ct) noexcept {
  constexpr std::string_view grpc = "application/grpc";
  if (ct.size() < grpc.size() || !iequals(ct.substr(0, grpc.size()), grpc)) return false;
  return ct.size() == grpc.size() || ct[grpc.size()] == '+' || ct[grpc.size()] == ';';
}

std::string grpc_percent_encode(std::string_view message) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(message.size());
  for (unsigned char c : message) {
    if (c >= 0x20 && c <= 0x7E && c != '%') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 0xF]);
    }
  }
  return out;
}

bool is_connection_specific(std::string_view name, std::string_view value) noexcept {
  if (iequals(name, "te")) return !iequals(util::trim_ows(value), "trailers");
  return iequals(name, "connection") || iequals(name, "keep-alive") || iequals(name, "proxy-connection") ||
         iequals(name, "transfer-encoding") || iequals(name, "upgrade");
}

namespace {

bool is_token_char(unsigned char c) noexcept {
  if (c >= 'a' && c <= 'z') return true;
  if (c >= '0' && c <= '9') return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

}  // namespace

void h2_request_head::clear() {
  head_.clear();
  arena_.clear();
  fields_.clear();
  method_.clear();
  scheme_.clear();
  authority_.clear();
  path_.clear();
  cookie_.clear();
  saw_field_ = saw_cookie_ = false;
  has_content_length_ = content_length_invalid_ = false;
  content_length_ = 0;
  decoded_bytes_ = 0;
  error_ = error::none;
}

h2_request_head::error h2_request_head::add(std::string_view name, std::string_view value) {
  // RFC 9113 section 4.3: each field counts its name, value and 32 bytes.
  decoded_bytes_ += name.size() + value.size() + 32;
  if (error_ != error::none) return error_;
  for (unsigned char c : value)
    if (c == '\r' || c == '\n' || c == '\0') return fail(error::bad_value);
  if (!name.empty() && name.front() == ':') {
    if (saw_field_) return fail(error::pseudo_after_field);
    std::string* slot = nullptr;
    if (name == ":method") slot = &method_;
    else if (name == ":scheme") slot = &scheme_;
    else if (name == ":authority") slot = &authority_;
    else if (name == ":path") slot = &path_;
    else return fail(error::unknown_pseudo);
    // Empty values are not allowed for these (section 8.3.1), so empty means unseen.
    if (!slot->empty() || value.empty()) return fail(error::repeated_pseudo);
    slot->assign(value);
    return error_;
  }
  saw_field_ = true;
  if (name.empty()) return fail(error::bad_name);
  for (unsigned char c : name)
    if (!is_token_char(c)) return fail(error::bad_name);
  if (is_connection_specific(name, value)) return fail(error::connection_specific);
  if (name == "cookie") {
    // Section 8.2.3: crumbs are joined with "; " before an HTTP/1 hop.
    if (saw_cookie_) cookie_.append("; ");
    cookie_.append(value);
    saw_cookie_ = true;
    return error_;
  }
  if (name == "content-length") {
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || end != value.data() + value.size() || value.empty() ||
        (has_content_length_ && n != content_length_))
      content_length_invalid_ = true;
    has_content_length_ = true;
    content_length_ = n;
  }
  // The head is built in finish(): its request line must be stored first.
  fields_.push_back({arena_.size(), name.size(), value.size()});
  arena_.append(name);
  arena_.append(value);
  return error_;
}

h2_request_head::error h2_request_head::finish() {
  if (error_ != error::none) return error_;
  // CONNECT (section 8.5) is a tunnel this gateway does not offer.
  if (method_.empty() || scheme_.empty() || path_.empty() || method_ == "CONNECT")
    return fail(error::missing_pseudo);
  head_.clear();
  head_.set_request_line(static_cast<int>(http::string_to_verb(method_)), method_, path_);
  head_.version = 20;
  for (const auto& f : fields_) {
    std::string_view name(arena_.data() + f.at, f.name_size);
    std::string_view value(arena_.data() + f.at + f.name_size, f.value_size);
    head_.add(static_cast<int>(http::string_to_field(name)), name, value);
  }
  if (saw_cookie_) head_.add(static_cast<int>(http::field::cookie), "cookie", cookie_);
  return error_;
}

std::string_view h2_request_head::host() const noexcept {
  if (!authority_.empty()) return authority_;
  return head_.first(static_cast<int>(http::field::host));
}

std::string_view describe(h2_request_head::error e) noexcept {
  switch (e) {
    case h2_request_head::error::none: return "no error";
    case h2_request_head::error::unknown_pseudo: return "the request has an unknown pseudo-header";
    case h2_request_head::error::repeated_pseudo: return "the request repeats a pseudo-header or leaves one empty";
    case h2_request_head::error::pseudo_after_field: return "a pseudo-header follows a regular field";
    case h2_request_head::error::connection_specific: return "the request carries a connection-specific field";
    case h2_request_head::error::bad_name: return "a field name is not a lower-case token";
    case h2_request_head::error::bad_value: return "a field value holds CR, LF or NUL";
    case h2_request_head::error::missing_pseudo: return "the request lacks :method, :scheme or :path";
  }
  return "malformed request";
}

bool must_drop_for_http2_response(std::string_view name, std::string_view connection) noexcept {
  return must_strip_response_field(name, connection) || iequals(name, "proxy-connection");
}

}  // namespace jwtgate::proxy
