// The request pipeline: target -> route -> token -> provider -> route
// requirements -> identity headers. Every exit that is not a forward is a
// reply built by replies.cpp; nothing here throws or reads a clock.

#include "jwtgate/auth/decision.h"

#include <optional>
#include <string>
#include <vector>

#include "jwtgate/auth/authenticate.h"
#include "jwtgate/auth/extract.h"
#include "jwtgate/auth/identity.h"
#include "jwtgate/auth/replies.h"
#include "jwtgate/auth/scopes.h"
#include "jwtgate/revocation/revocation_set.h"
#include "jwtgate/routing/path.h"

namespace jwtgate::auth {
namespace {

using jose::status;

void respond(decision& d, reply r, status reason = status::ok) {
  d.what = decision::action::respond;
  d.response = std::move(r);
  d.reason = reason;
}

std::string_view describe(routing::target_error e) noexcept {
  switch (e) {
    case routing::target_error::none: return "ok";
    case routing::target_error::bad_target: return "the request target is not a valid origin-form or absolute-form URI";
    case routing::target_error::bad_escape: return "the request path contains an invalid percent escape";
    case routing::target_error::encoded_nul: return "the request path contains an encoded NUL";
    case routing::target_error::encoded_slash: return "the request path contains an encoded slash or backslash";
    case routing::target_error::too_long: return "the request target is too long";
  }
  return "the request target is invalid";
}

// A CORS preflight (SPEC section 10) is matched by the method it asks for.
// On a route with `cors` the gateway answers it: 204 with the policy's fields,
// or 403 without any Access-Control-Allow-* field. False: not a preflight the
// gateway answers (the request is handled as usual).
bool answer_preflight(const config::snapshot& snap, const request_head& req, std::string_view path, decision& d) {
  if (req.method != "OPTIONS") return false;
  auto origin = req.headers->first("Origin");
  auto method = req.headers->first("Access-Control-Request-Method");
  if (!origin || !method) return false;
  std::optional<std::size_t> index = snap.table.match(*method, path, req.host);
  if (!index || *index >= snap.routes.size() || !snap.routes[*index].cors) return false;
  const config::route& route = snap.routes[*index];
  const routing::cors_policy& policy = *route.cors;
  d.route = &route;
  d.preflight = true;
  std::string requested_headers;
  req.headers->for_each("Access-Control-Request-Headers", [&](std::string_view v) {
    if (!requested_headers.empty()) requested_headers.push_back(',');
    requested_headers.append(v);
  });
  reply r;
  switch (policy.check_preflight(*origin, *method, requested_headers)) {
    case routing::preflight_result::allowed: {
      r.status = 204;
      routing::cors_fields fields;
      std::size_t n = policy.preflight_fields(*origin, fields);
      for (std::size_t i = 0; i < n; ++i) r.headers.emplace_back(fields[i].name, fields[i].value);
      break;
    }
    case routing::preflight_result::origin_not_allowed:
      r = forbidden_reply("CORS preflight refused: the origin is not allowed on this route");
      break;
    case routing::preflight_result::method_not_allowed:
      r = forbidden_reply("CORS preflight refused: the requested method is not allowed");
      break;
    case routing::preflight_result::header_not_allowed:
      r = forbidden_reply("CORS preflight refused: a requested header is not allowed");
      break;
  }
  if (r.status != 204) r.headers.emplace_back("Vary", "Origin");  // 204: among the policy's fields
  respond(d, std::move(r));
  return true;
}

// The token sources of every provider of the route, in provider then source
// order, each once.
std::vector<const config::token_source*> route_sources(const config::route& route) {
  std::vector<const config::token_source*> out;
  for (const config::provider* p : route.providers) {
    if (p == nullptr || p->cfg == nullptr) continue;
    for (const auto& src : p->cfg->token_from) {
      bool seen = false;
      for (const auto* s : out) seen = seen || same_source(*s, src);
      if (!seen) out.push_back(&src);
    }
  }
  return out;
}

bool accepts_source(const config::provider& p, const config::token_source& source) {
  if (p.cfg == nullptr) return false;
  for (const auto& src : p.cfg->token_from)
    if (same_source(src, source)) return true;
  return false;
}

// The payload part of "header.payload.signature", as received.
std::string_view payload_part(std::string_view token) {
  std::size_t first = token.find('.');
  if (first == std::string_view::npos) return {};
  std::size_t second = token.find('.', first + 1);
  return token.substr(first + 1, second == std::string_view::npos ? std::string_view::npos : second - first - 1);
}

// Applies the route's auth to the request. On success `d` is a forward with the
// identity headers in `d.inject`; `query_params_to_remove` gets the names a
// `forward_token: false` provider asks to remove from the target.
void authorize(const config::snapshot& snap, const config::route& route, const request_head& req,
               std::string_view query, thread_context& ctx, std::int64_t now_unix, decision& d,
               std::vector<std::string>& query_params_to_remove) {
  d.route = &route;
  const config::route_auth& rule = route.cfg->auth;
  if (rule.type == config::route_auth::mode::none) {
    d.what = decision::action::forward;
    return;
  }

  extraction ex;
  for (const config::token_source* src : route_sources(route)) {
    ex = extract_from(*src, *req.headers, query);
    if (ex.result != extraction::outcome::none) break;
  }
  if (ex.result == extraction::outcome::ambiguous) {
    respond(d, bad_request_reply("the request carries more than one candidate token", "malformed"),
            status::malformed);
    return;
  }
  if (ex.result == extraction::outcome::none) {
    if (rule.type == config::route_auth::mode::optional) {
      d.what = decision::action::forward;  // anonymous
      return;
    }
    respond(d, missing_token_reply(), status::missing_token);
    return;
  }

  std::vector<const config::provider*> eligible;
  for (const config::provider* p : route.providers)
    if (p != nullptr && accepts_source(*p, *ex.source)) eligible.push_back(p);

  authentication a = authenticate(snap, eligible, ex.token, ctx, now_unix);
  d.provider = a.provider;
  if (a.status != status::ok) {
    respond(d, invalid_token_reply(a.status), a.status);
    return;
  }
  d.subject = a.verified->subject;

  // After signature and claims, for cached tokens too (SPEC 8).
  if (const auto& revoked = ctx.revocations()) {
    if (status r = revoked->check(a.verified->revocation, now_unix); r != status::ok) {
      respond(d, invalid_token_reply(r), r);
      return;
    }
  }

  if (!route_requirements_met(rule, a.verified->payload)) {
    respond(d, insufficient_scope_reply(rule.scopes), status::insufficient_scope);
    return;
  }

  header_list inject;
  if (identity_headers(*a.provider, a.verified->payload, payload_part(ex.token), inject) != status::ok) {
    respond(d, invalid_token_reply(status::claim_mismatch), status::claim_mismatch);
    return;
  }
  d.inject = std::move(inject);

  if (!a.provider->cfg->forward_token) {
    std::vector<std::string> cookies;
    for (const auto& src : a.provider->cfg->token_from) {
      switch (src.type) {
        case config::token_source::kind::header: d.remove_headers.push_back(src.name); break;
        case config::token_source::kind::cookie: cookies.push_back(src.name); break;
        case config::token_source::kind::query: query_params_to_remove.push_back(src.name); break;
      }
    }
    if (!cookies.empty()) d.cookie_rewrite = remove_cookies(*req.headers, cookies);
  }
  d.what = decision::action::forward;
  d.reason = status::ok;
}

// Exactly one field, or none; nullopt (with `repeated` set) when repeated.
std::optional<std::string_view> single(const header_view& h, std::string_view name, bool& repeated) {
  std::size_t n = h.count(name);
  if (n > 1) repeated = true;
  if (n != 1) return std::nullopt;
  return h.first(name);
}

}  // namespace

bool is_forward_auth_path(std::string_view endpoint, std::string_view path) noexcept {
  if (endpoint.empty() || !path.starts_with(endpoint)) return false;
  return path.size() == endpoint.size() || path[endpoint.size()] == '/';
}

decision decide(const config::snapshot& snap, const request_head& req, thread_context& ctx,
                std::int64_t now_unix) {
  decision d;
  routing::normalized_target target;
  if (routing::target_error e = routing::normalize_target(req.target, target); e != routing::target_error::none) {
    respond(d, bad_request_reply(describe(e)));
    return d;
  }
  // A decision endpoint request is never proxied, whoever calls decide().
  if (snap.source.forward_auth && is_forward_auth_path(snap.source.forward_auth->path, target.path))
    return decide_forward_auth(snap, req, ctx, now_unix);
  // So is a back-channel logout.
  if (const config::provider* p = snap.backchannel_provider(target.path)) {
    d.what = decision::action::backchannel_logout;
    d.provider = p;
    return d;
  }

  if (req.headers == nullptr) {
    respond(d, bad_request_reply("the request has no header fields"));
    return d;
  }
  if (req.headers->count("Authorization") > 1) {
    respond(d, bad_request_reply("the request carries more than one Authorization header", "malformed"),
            status::malformed);
    return d;
  }

  if (answer_preflight(snap, req, target.path, d)) return d;

  std::optional<std::size_t> index = snap.table.match(req.method, target.path, req.host);
  if (!index || *index >= snap.routes.size() || snap.routes[*index].cfg == nullptr) {
    respond(d, not_found_reply());
    return d;
  }
  const config::route& route = snap.routes[*index];
  d.route = &route;
  if (route.cors) {
    auto origin = req.headers->first("Origin");
    if (origin && route.cors->allows_origin(*origin)) {
      d.cors = &*route.cors;
      d.origin = *origin;
    }
  }
  if (route.upstream == nullptr) {  // a decision-only route
    respond(d, not_found_reply());
    return d;
  }

  std::vector<std::string> remove_params;
  authorize(snap, route, req, target.query, ctx, now_unix, d, remove_params);
  if (d.what != decision::action::forward) return d;

  d.target = std::move(target.path);
  if (target.has_query) {
    std::string query = remove_params.empty() ? std::move(target.query) : remove_query_params(target.query, remove_params);
    // "?" alone is kept as received; a query emptied by token removal is dropped.
    if (!query.empty() || remove_params.empty()) {
      d.target.push_back('?');
      d.target.append(query);
    }
  }
  return d;
}

decision decide_forward_auth(const config::snapshot& snap, const request_head& req, thread_context& ctx,
                             std::int64_t now_unix) {
  decision d;
  if (req.headers == nullptr) {
    respond(d, bad_request_reply("the request has no header fields"));
    return d;
  }
  const header_view& h = *req.headers;
  bool repeated = false;
  auto method = single(h, "X-Forwarded-Method", repeated);
  auto uri = single(h, "X-Forwarded-Uri", repeated);
  if (!method) method = single(h, "X-Original-Method", repeated);
  if (!uri) uri = single(h, "X-Original-URI", repeated);
  routing::normalized_target target;
  if (!uri && !method && !repeated && snap.source.forward_auth) {
    // Envoy ext_authz over HTTP: the check request carries the original method
    // and has the original path appended to the endpoint ("/_auth/orders/1").
    routing::normalized_target own;
    const std::string& endpoint = snap.source.forward_auth->path;
    if (routing::normalize_target(req.target, own) == routing::target_error::none &&
        own.path.size() > endpoint.size() && is_forward_auth_path(endpoint, own.path)) {
      target.path = own.path.substr(endpoint.size());
      target.query = std::move(own.query);
      target.has_query = own.has_query;
      method = req.method;
    }
  }
  if (target.path.empty()) {
    if (repeated || !method || !uri || method->empty()) {
      respond(d, bad_request_reply(
                     "a decision request needs one X-Forwarded-Method and one X-Forwarded-Uri "
                     "(or X-Original-Method and X-Original-URI), or the original path appended "
                     "to the endpoint"));
      return d;
    }
    if (routing::target_error e = routing::normalize_target(*uri, target); e != routing::target_error::none) {
      respond(d, bad_request_reply(describe(e)));
      return d;
    }
  }
  if (h.count("Authorization") > 1) {
    respond(d, bad_request_reply("the request carries more than one Authorization header", "malformed"),
            status::malformed);
    return d;
  }
  std::string_view host = req.host;
  bool host_repeated = false;
  if (auto forwarded_host = single(h, "X-Forwarded-Host", host_repeated)) host = *forwarded_host;
  if (host_repeated) {
    respond(d, bad_request_reply("the request carries more than one X-Forwarded-Host header"));
    return d;
  }

  std::optional<std::size_t> index = snap.table.match(*method, target.path, host);
  if (!index || *index >= snap.routes.size() || snap.routes[*index].cfg == nullptr) {
    respond(d, not_found_reply());
    return d;
  }
  std::vector<std::string> unused_params;  // nothing is forwarded by a decision
  authorize(snap, snap.routes[*index], req, target.query, ctx, now_unix, d, unused_params);
  if (d.what != decision::action::forward) return d;

  d.what = decision::action::respond;
  d.response.status = 200;
  d.response.headers = std::move(d.inject);
  d.inject.clear();
  d.remove_headers.clear();
  d.cookie_rewrite.reset();
  return d;
}

}  // namespace jwtgate::auth
