#pragma once
// Steps of one request's life that every client codec (HTTP/1 client_session,
// HTTP/2 h2_session) takes the same way: which client X-Request-Id is kept,
// how a decision is named in the access log and counted, and how a verified
// back-channel logout is stored on the control loop.

#include <string_view>
#include <utility>

#include <boost/asio/post.hpp>

#include "jwtgate/auth/decision.h"
#include "jwtgate/auth/logout_token.h"
#include "jwtgate/proxy/header_rewrite.h"
#include "jwtgate/revocation/service.h"
#include "loop.h"

namespace jwtgate::proxy {

// nginx's code for "the client closed the connection before the response",
// logged by both codecs.
inline constexpr unsigned status_client_closed = 499;

// A client-supplied X-Request-Id is kept only if it is one usable value.
inline bool acceptable_request_id(std::string_view id) noexcept {
  return !id.empty() && id.size() <= 200 && is_safe_field_value(id);
}

// The access log's `auth` field for a decision.
inline std::string_view auth_result_of(const auth::decision& d) noexcept {
  if (d.preflight) return "preflight";  // answered by the gateway, no token looked at
  if (d.route && d.route->cfg && d.route->cfg->auth.type == config::route_auth::mode::none) return "none";
  if (d.reason != jose::status::ok) return jose::to_string(d.reason);
  if (d.route && d.provider == nullptr) return "anonymous";
  if (d.route) return "ok";
  return "none";
}

// Counts a 401/403 the decision answers in jwtgate_auth_failures_total.
inline void count_auth_failure(admin::thread_metrics& metrics, const auth::decision& d) {
  unsigned st = d.response.status;
  if (d.what != auth::decision::action::respond || (st != 401 && st != 403) || d.reason == jose::status::ok) return;
  // Both arms string_view: a std::string arm would make the whole expression a
  // temporary std::string that dies before the view is used.
  std::string_view provider = d.provider && d.provider->cfg ? std::string_view(d.provider->cfg->name) : std::string_view();
  metrics.count_auth_failure(provider, jose::to_string(d.reason));
}

// Claims the logout token's jti (a replay is refused fleet-wide), then stores
// its entry; `answer(outcome)` runs on the control loop and must post back to
// the caller's own loop.
template <class Answer>
void store_logout(shared_state& shared, auth::logout_request logout, Answer answer) {
  auto* store = shared.revocations;
  boost::asio::post(*shared.control, [store, logout = std::move(logout), answer]() mutable {
    if (!store->status().up) return answer(revocation::outcome::unavailable);
    auto entry = std::move(logout.entry);
    store->claim_logout_jti(std::move(logout.replay_key), logout.replay_until,
                            [store, entry = std::move(entry), answer](revocation::outcome o, std::string) mutable {
                              if (o != revocation::outcome::ok) return answer(o);
                              store->add(std::move(entry), [answer](revocation::outcome added, std::string) {
                                answer(added);
                              });
                            });
  });
}

}  // namespace jwtgate::proxy
