#pragma once
// The request pipeline in front of the wire: route -> token -> verification ->
// route requirements -> identity headers. It sees a protocol-neutral view of a
// request head and returns what to do with it; the HTTP/1.1 session (and any
// later HTTP/2 codec) applies the result. No sockets, no Beast here.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jwtgate/auth/header_view.h"
#include "jwtgate/auth/thread_context.h"
#include "jwtgate/config/snapshot.h"
#include "jwtgate/jose/status.h"

namespace jwtgate::auth {

struct request_head {
  std::string_view method;
  std::string_view target;  // the request-target as received
  std::string_view host;    // Host header value (or absolute-form authority)
  const header_view* headers = nullptr;
};

// A reply the gateway writes itself (400, 401, 403, 404, and 200 for forward-auth).
struct reply {
  unsigned status = 0;
  std::string www_authenticate;  // empty: no header
  std::string body;              // small JSON object; empty for forward-auth 200
  std::vector<std::pair<std::string, std::string>> headers;  // forward-auth 200: identity headers
};

struct decision {
  // backchannel_logout: a request to a provider's back-channel logout path;
  // the session reads the form body and calls verify_logout_token().
  enum class action { forward, respond, backchannel_logout };
  action what = action::respond;

  const config::route* route = nullptr;  // nullptr: no route matched
  jose::status reason = jose::status::ok;  // auth outcome, for logs and metrics
  std::string subject;                     // verified `sub`, for the access log
  const config::provider* provider = nullptr;  // the provider that judged the token

  // SPEC section 10: the route's CORS policy when it has one and the request's
  // Origin is allowed; then every response, the gateway's own included, gets
  // its fields. `origin` views the request's Origin header.
  const routing::cors_policy* cors = nullptr;
  std::string_view origin;
  bool preflight = false;  // answered by the gateway, never proxied

  // action::respond
  reply response;

  // action::forward
  std::string target;  // normalized path + ("?" + query, token parameter removed if asked)
  std::vector<std::pair<std::string, std::string>> inject;  // identity headers to set
  // forward_token: false -> the proxy removes these header fields entirely, and
  // replaces Cookie with `cookie_rewrite` when it is set ("" = drop Cookie).
  std::vector<std::string> remove_headers;
  std::optional<std::string> cookie_rewrite;
};

// Decides for a proxied request. `now_unix` is the clock.
decision decide(const config::snapshot& snap, const request_head& req,
                thread_context& ctx, std::int64_t now_unix);

// Decides for a request to forward_auth.path, using X-Forwarded-Method/-Uri
// (or X-Original-Method/-URI). 200 with identity headers, or 401/403/404/400.
decision decide_forward_auth(const config::snapshot& snap, const request_head& req,
                             thread_context& ctx, std::int64_t now_unix);

// Is `path` (normalized) a request for the decision endpoint `endpoint`: the
// endpoint itself, or the endpoint with the original path appended (Envoy
// ext_authz's http_service path_prefix)?
bool is_forward_auth_path(std::string_view endpoint, std::string_view path) noexcept;

// Must the proxy drop this incoming field before forwarding? True for identity
// headers of any provider, hop-by-hop headers, and names listed in `connection`
// (the request's Connection header values, comma-joined).
bool must_strip(const config::snapshot& snap, std::string_view name, std::string_view connection) noexcept;

// The JSON body and headers of a gateway-made error (400, 404, 413, 431, 502,
// 503, 504): {"error": "...", "error_description": "..."}.
std::string error_body(unsigned status, std::string_view description);

}  // namespace jwtgate::auth
