#include "jwtgate/proxy/header_rewrite.h"
#include "jwtgate/util/ascii.h"

#include <array>
#include <cstring>

#include <openssl/evp.h>

namespace jwtgate::proxy {

namespace {

constexpr std::array<std::string_view, 10> hop_by_hop_fields{
    "connection",         "keep-alive", "proxy-connection", "te",      "trailer",
    "transfer-encoding",  "upgrade",    "proxy-authenticate", "proxy-authorization",
    "http2-settings",
};

}  // namespace

bool list_has_token(std::string_view list, std::string_view token) noexcept {
  while (!list.empty()) {
    auto comma = list.find(',');
    auto element = util::trim_ows(list.substr(0, comma));
    if (util::iequals(element, token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

bool is_hop_by_hop(std::string_view name) noexcept {
  for (auto f : hop_by_hop_fields)
    if (util::iequals(f, name)) return true;
  return false;
}

bool must_strip_response_field(std::string_view name, std::string_view connection) noexcept {
  return is_hop_by_hop(name) || list_has_token(connection, name);
}

std::string append_forwarded_for(std::optional<std::string_view> existing, std::string_view client_ip) {
  std::string out;
  if (existing) {
    auto prior = util::trim_ows(*existing);
    if (!prior.empty()) {
      out.reserve(prior.size() + 2 + client_ip.size());
      out.append(prior);
      out.append(", ");
    }
  }
  out.append(client_ip);
  return out;
}

bool is_safe_field_value(std::string_view v) noexcept {
  for (char ch : v) {
    auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c == 0x7F) return false;
  }
  return true;
}

bool is_safe_target(std::string_view t) noexcept {
  if (t.empty()) return false;
  for (char ch : t) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7F) return false;
  }
  return true;
}

std::string_view absolute_form_authority(std::string_view target) noexcept {
  std::size_t scheme_end = 0;
  if (target.size() >= 7 && util::iequals(target.substr(0, 7), "http://")) scheme_end = 7;
  else if (target.size() >= 8 && util::iequals(target.substr(0, 8), "https://")) scheme_end = 8;
  else return {};
  auto rest = target.substr(scheme_end);
  auto end = rest.find_first_of("/?#");
  return rest.substr(0, end);
}

namespace {

bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// RFC 3986 authority characters without '@': unreserved, pct-encoded, sub-delims,
// ':' (port) and brackets (IP literals). Anything else would end up verbatim in
// the Host field sent upstream.
bool is_authority_char(char c) noexcept {
  if (is_alpha(c) || is_digit(c)) return true;
  switch (c) {
    case '-': case '.': case '_': case '~': case '%':
    case '!': case '$': case '&': case '\'': case '(': case ')': case '*': case '+':
    case ',': case ';': case '=': case ':': case '[': case ']':
      return true;
    default:
      return false;
  }
}

}  // namespace

target_host classify_target_host(std::string_view target, std::string_view& authority) noexcept {
  authority = {};
  // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"
  if (target.empty() || !is_alpha(target.front())) return target_host::origin;
  std::size_t i = 1;
  while (i < target.size() && (is_alpha(target[i]) || is_digit(target[i]) || target[i] == '+' ||
                               target[i] == '-' || target[i] == '.'))
    ++i;
  if (i == target.size() || target[i] != ':') return target_host::origin;
  auto scheme = target.substr(0, i);
  if (!util::iequals(scheme, "http") && !util::iequals(scheme, "https")) return target_host::invalid;
  auto rest = target.substr(i + 1);
  if (rest.size() < 2 || rest[0] != '/' || rest[1] != '/') return target_host::invalid;
  rest.remove_prefix(2);
  auto host = rest.substr(0, rest.find_first_of("/?#"));
  if (host.empty()) return target_host::invalid;
  // Userinfo is refused rather than skipped: "http://api.example.com@other/"
  // reads as one host to people and as another to parsers.
  for (char c : host)
    if (!is_authority_char(c)) return target_host::invalid;
  authority = host;
  return target_host::absolute;
}

std::string upstream_host_value(std::string_view host, std::uint16_t port, bool https) {
  bool literal6 = host.find(':') != std::string_view::npos && (host.empty() || host.front() != '[');
  std::string out;
  out.reserve(host.size() + 8);
  if (literal6) out.push_back('[');
  out.append(host);
  if (literal6) out.push_back(']');
  if (port != 0 && port != (https ? 443 : 80)) {
    out.push_back(':');
    out.append(std::to_string(port));
  }
  return out;
}

std::array<char, 28> websocket_accept(std::string_view key) noexcept {
  static constexpr std::string_view guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::array<char, 28> out{};
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx != nullptr && EVP_DigestInit_ex(ctx, EVP_sha1(), nullptr) == 1 &&
            EVP_DigestUpdate(ctx, key.data(), key.size()) == 1 &&
            EVP_DigestUpdate(ctx, guid.data(), guid.size()) == 1 &&
            EVP_DigestFinal_ex(ctx, md, &md_len) == 1 && md_len == 20;
  EVP_MD_CTX_free(ctx);
  // A failure yields all-NUL: it never equals a header value, so the handshake fails closed.
  if (!ok) return out;
  unsigned char b64[29];  // 4 * ceil(20 / 3) + NUL
  EVP_EncodeBlock(b64, md, 20);
  std::memcpy(out.data(), b64, out.size());
  return out;
}

}  // namespace jwtgate::proxy
