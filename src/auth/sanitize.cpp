// must_strip: which incoming header fields never reach the upstream.
//
// Upgrade and Connection are hop-by-hop and are stripped like the others; for
// an authorized WebSocket upgrade the proxy adds "Connection: upgrade" and the
// client's Upgrade value back itself. X-Forwarded-For/-Proto/-Host and
// X-Request-Id are not stripped here: the proxy appends to or sets them.
// Host and Content-Length are never stripped because a Connection header names them.
//
// Names are compared as CGI-style backends (PHP, WSGI, Rack, Go's CGI) read them:
// case-insensitively and with '_' equal to '-', since they map both X-User-Id and
// X_User_Id to HTTP_X_USER_ID. Otherwise a client could spoof an identity header
// by spelling it with underscores.

#include <algorithm>
#include <array>
#include <string_view>

#include "jwtgate/auth/decision.h"
#include "jwtgate/util/ascii.h"

namespace jwtgate::auth {
namespace {

char fold(char c) noexcept { return c == '_' ? '-' : util::ascii_lower(c); }

bool same_header(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return fold(x) == fold(y); });
}

// RFC 9110 section 7.6.1, plus the non-standard Proxy-Connection and Keep-Alive.
constexpr std::array<std::string_view, 9> hop_by_hop = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
    "te",         "trailer",    "transfer-encoding",  "upgrade",
};

// Headers some frameworks (Symfony, IIS URL Rewrite) honour to override the
// request path: the backend must only ever see the path that was authorized.
constexpr std::array<std::string_view, 2> path_overrides = {"x-original-url", "x-rewrite-url"};

// Set by the proxy itself; the hyphenated spellings are appended to or replaced
// there, an underscore spelling would slip past that.
constexpr std::array<std::string_view, 4> proxy_managed = {
    "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-request-id"};

bool listed_in_connection(std::string_view name, std::string_view connection) noexcept {
  while (!connection.empty()) {
    std::size_t comma = connection.find(',');
    std::string_view token = util::trim_ows(connection.substr(0, comma));
    if (!token.empty() && util::iequals(token, name)) return true;
    if (comma == std::string_view::npos) break;
    connection.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

bool must_strip(const config::snapshot& snap, std::string_view name, std::string_view connection) noexcept {
  for (std::string_view h : hop_by_hop)
    if (same_header(name, h)) return true;
  for (const auto& h : snap.identity_headers)
    if (same_header(name, h)) return true;
  for (std::string_view h : path_overrides)
    if (same_header(name, h)) return true;
  if (name.find('_') != std::string_view::npos)
    for (std::string_view h : proxy_managed)
      if (same_header(name, h)) return true;
  // A client may not use Connection to remove the fields that frame or address
  // the message: dropping Content-Length would desynchronize the upstream
  // connection, dropping Host would make the request invalid.
  if (util::iequals(name, "host") || util::iequals(name, "content-length")) return false;
  return listed_in_connection(name, connection);
}

}  // namespace jwtgate::auth
