// must_strip: which incoming header fields never reach the upstream.
//
// Upgrade and Connection are hop-by-hop and are stripped like the others; for
// an authorized WebSocket upgrade the proxy adds "Connection: upgrade" and the
// client's Upgrade value back itself. X-Forwarded-For/-Proto/-Host and
// X-Request-Id are not stripped here: the proxy appends to or sets them.
// Host and Content-Length are never stripped because a Connection header names them.

#include <algorithm>
#include <array>
#include <string_view>

#include "jwtgate/auth/decision.h"

namespace jwtgate::auth {
namespace {

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equals_ci(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 9110 section 7.6.1, plus the non-standard Proxy-Connection and Keep-Alive.
constexpr std::array<std::string_view, 9> hop_by_hop = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
    "te",         "trailer",    "transfer-encoding",  "upgrade",
};

bool listed_in_connection(std::string_view name, std::string_view connection) noexcept {
  while (!connection.empty()) {
    std::size_t comma = connection.find(',');
    std::string_view token = trim(connection.substr(0, comma));
    if (!token.empty() && equals_ci(token, name)) return true;
    if (comma == std::string_view::npos) break;
    connection.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

bool must_strip(const config::snapshot& snap, std::string_view name, std::string_view connection) noexcept {
  for (std::string_view h : hop_by_hop)
    if (equals_ci(name, h)) return true;
  for (const auto& h : snap.identity_headers)
    if (equals_ci(name, h)) return true;
  // A client may not use Connection to remove the fields that frame or address
  // the message: dropping Content-Length would desynchronize the upstream
  // connection, dropping Host would make the request invalid.
  if (equals_ci(name, "host") || equals_ci(name, "content-length")) return false;
  return listed_in_connection(name, connection);
}

}  // namespace jwtgate::auth
