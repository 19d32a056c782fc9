#include "jwtgate/proxy/header_rewrite.h"

#include <array>

namespace jwtgate::proxy {

namespace {

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

constexpr std::array<std::string_view, 10> hop_by_hop_fields{
    "connection",         "keep-alive", "proxy-connection", "te",      "trailer",
    "transfer-encoding",  "upgrade",    "proxy-authenticate", "proxy-authorization",
    "http2-settings",
};

}  // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

bool list_has_token(std::string_view list, std::string_view token) noexcept {
  while (!list.empty()) {
    auto comma = list.find(',');
    auto element = trim(list.substr(0, comma));
    if (iequals(element, token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

bool is_hop_by_hop(std::string_view name) noexcept {
  for (auto f : hop_by_hop_fields)
    if (iequals(f, name)) return true;
  return false;
}

bool must_strip_response_field(std::string_view name, std::string_view connection) noexcept {
  return is_hop_by_hop(name) || list_has_token(connection, name);
}

std::string append_forwarded_for(std::optional<std::string_view> existing, std::string_view client_ip) {
  std::string out;
  if (existing) {
    auto prior = trim(*existing);
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
  if (target.size() >= 7 && iequals(target.substr(0, 7), "http://")) scheme_end = 7;
  else if (target.size() >= 8 && iequals(target.substr(0, 8), "https://")) scheme_end = 8;
  else return {};
  auto rest = target.substr(scheme_end);
  auto end = rest.find_first_of("/?#");
  return rest.substr(0, end);
}

}  // namespace jwtgate::proxy
