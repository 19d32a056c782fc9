#pragma once
// The header fields a forwarded request carries besides its host, the same
// for every client and upstream protocol: the client's fields minus
// hop-by-hop ones, identity headers of every provider and what the route
// removes; then the gateway's own: the rewritten Cookie, identity headers
// from verified claims, X-Forwarded-For/-Proto/-Host and X-Request-Id.

#include <string>
#include <string_view>

#include <boost/beast/http/field.hpp>

#include "jwtgate/auth/decision.h"
#include "jwtgate/proxy/flat_head.h"
#include "jwtgate/proxy/header_rewrite.h"

namespace jwtgate::proxy {

struct forward_origin {
  std::string_view client_ip;
  bool https = false;
  std::string_view host;  // routed host; empty for an HTTP/1.0 request without one
  std::string_view request_id;
};

// Calls emit(name, value) for each field, in order. `connection` is the
// client's Connection list (empty for HTTP/2). `forwarded_for` is scratch.
template <class Emit>
void for_each_forwarded_field(const config::snapshot& snap, const auth::decision& d, const flat_head& in,
                              std::string_view connection, const forward_origin& origin,
                              std::string& forwarded_for, Emit&& emit) {
  namespace http = boost::beast::http;
  forwarded_for.clear();
  bool has_forwarded_for = false;
  for (const auto& e : in.entries()) {
    auto name = in.name(e);
    if (auth::must_strip(snap, name, connection)) continue;
    bool removed = false;
    for (const auto& r : d.remove_headers)
      if (iequals(r, name)) { removed = true; break; }
    if (removed) continue;
    switch (static_cast<http::field>(e.id)) {
      case http::field::host:  // the caller sends the routed host
        continue;
      case http::field::cookie:
        if (d.cookie_rewrite) continue;
        break;
      case http::field::expect:  // the gateway answers 100-continue itself
      case http::field::transfer_encoding:
        continue;
      default:
        break;
    }
    if (iequals(name, "x-forwarded-for")) {
      if (has_forwarded_for) forwarded_for.append(", ");
      forwarded_for.append(in.value(e));
      has_forwarded_for = true;
      continue;
    }
    // Set by the gateway, never trusted from clients. Every X-Request-Id goes:
    // exactly one, the id in the log, is added below.
    if (iequals(name, "x-forwarded-host") || iequals(name, "x-forwarded-proto") || iequals(name, "x-request-id"))
      continue;
    emit(name, in.value(e));
  }
  // Appended, never merged: every name below was dropped from the client's
  // fields above (identity headers of every provider are in the strip list).
  if (d.cookie_rewrite && !d.cookie_rewrite->empty()) emit(std::string_view("Cookie"), std::string_view(*d.cookie_rewrite));
  for (const auto& [name, value] : d.inject) emit(std::string_view(name), std::string_view(value));
  if (has_forwarded_for) {
    forwarded_for = append_forwarded_for(forwarded_for, origin.client_ip);
    emit(std::string_view("X-Forwarded-For"), std::string_view(forwarded_for));
  } else {
    emit(std::string_view("X-Forwarded-For"), origin.client_ip);
  }
  emit(std::string_view("X-Forwarded-Proto"), std::string_view(origin.https ? "https" : "http"));
  if (!origin.host.empty()) emit(std::string_view("X-Forwarded-Host"), origin.host);
  emit(std::string_view("X-Request-Id"), origin.request_id);
}

// Does the decision promise clean values? A broken promise must not become a
// second request smuggled into an upstream connection.
inline bool forwardable(const auth::decision& d) noexcept {
  bool safe = is_safe_target(d.target);
  for (const auto& [name, value] : d.inject) safe = safe && is_safe_field_value(value);
  if (d.cookie_rewrite) safe = safe && is_safe_field_value(*d.cookie_rewrite);
  return safe;
}

}  // namespace jwtgate::proxy
