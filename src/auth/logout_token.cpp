#include "jwtgate/auth/logout_token.h"

#include <boost/url/decode_view.hpp>
#include <boost/url/pct_string_view.hpp>

#include "jwtgate/jose/jwt.h"
#include "jwtgate/jose/verify.h"

namespace jwtgate::auth {
namespace {

constexpr std::string_view logout_event = "http://schemas.openid.net/event/backchannel-logout";

const boost::json::string* string_claim(const boost::json::object& o, std::string_view name) {
  auto it = o.find(name);
  if (it == o.end() || !it->value().is_string() || it->value().get_string().empty()) return nullptr;
  return &it->value().get_string();
}

bool audience_ok(const boost::json::object& payload, const std::vector<std::string>& accepted) {
  auto it = payload.find("aud");
  if (it == payload.end()) return false;
  auto match = [&](const boost::json::value& v) {
    if (!v.is_string()) return false;
    for (const auto& a : accepted)
      if (v.get_string() == a) return true;
    return false;
  };
  if (it->value().is_string()) return match(it->value());
  if (!it->value().is_array()) return false;
  for (const auto& v : it->value().get_array())
    if (match(v)) return true;
  return false;
}

}  // namespace

bool logout_token_from_form(std::string_view body, std::string& token, std::string& error) {
  // Pairs are split here; Boost.URL checks and decodes each escape. (Its
  // parse_query iterator reads past the end of a view that is not followed by
  // a NUL, and request bodies sit in reused buffers.)
  int found = 0;
  std::size_t pos = 0;
  while (pos <= body.size()) {
    std::size_t amp = body.find('&', pos);
    if (amp == std::string_view::npos) amp = body.size();
    std::string_view pair = body.substr(pos, amp - pos);
    pos = amp + 1;
    std::size_t eq = pair.find('=');
    auto key = boost::urls::make_pct_string_view(pair.substr(0, eq));
    if (!key) {
      error = "the body is not application/x-www-form-urlencoded";
      return false;
    }
    if (!(boost::urls::decode_view(*key) == "logout_token")) continue;
    if (++found > 1) {
      error = "the body has more than one logout_token";
      return false;
    }
    if (eq == std::string_view::npos) continue;
    auto value = boost::urls::make_pct_string_view(pair.substr(eq + 1));
    if (!value) {
      error = "the logout_token is not correctly percent-encoded";
      return false;
    }
    // Form encoding writes a space as '+'; a JWT has neither.
    boost::urls::decode_view decoded(*value);
    token.assign(decoded.begin(), decoded.end());
  }
  if (found == 0 || token.empty()) {
    error = "the body has no logout_token";
    return false;
  }
  return true;
}

bool verify_logout_token(const config::provider& provider, std::string_view token, std::int64_t now,
                         std::int64_t default_ttl, logout_request& out, std::string& error) {
  if (provider.cfg == nullptr || !provider.cfg->backchannel_logout) {
    error = "this provider has no back-channel logout";
    return false;
  }
  const auto& cfg = *provider.cfg;
  jose::jwt parsed;
  if (jose::status s = jose::parse(token, parsed); s != jose::status::ok) {
    error = "the logout token is not a valid JWT (" + std::string(jose::to_string(s)) + ")";
    return false;
  }
  auto keys = provider.keys ? provider.keys->current() : nullptr;
  if (!keys || keys->empty()) {
    error = "the provider has no keys yet";
    return false;
  }
  if (jose::status s = jose::verify_signature(parsed, *keys, cfg.algorithms); s != jose::status::ok) {
    if (s == jose::status::unknown_kid && provider.has_remote_keys) provider.keys->request_refresh();
    error = "the logout token's signature is not accepted (" + std::string(jose::to_string(s)) + ")";
    return false;
  }
  const auto& payload = parsed.payload;
  const auto skew = std::chrono::duration_cast<std::chrono::seconds>(cfg.clock_skew).count();

  const auto* iss = string_claim(payload, "iss");
  if (iss == nullptr) {
    error = "the logout token has no iss";
    return false;
  }
  if (cfg.issuer && *iss != *cfg.issuer) {
    error = "the logout token's iss is not the provider's issuer";
    return false;
  }
  if (!audience_ok(payload, cfg.backchannel_logout->audiences)) {
    error = "the logout token's aud is not one of backchannel_logout.audiences";
    return false;
  }
  if (!parsed.iat) {
    error = "the logout token has no iat";
    return false;
  }
  if (*parsed.iat > static_cast<double>(now + skew)) {
    error = "the logout token's iat is in the future";
    return false;
  }
  if (*parsed.iat < static_cast<double>(now - logout_token_max_age)) {
    error = "the logout token is older than 5 minutes";
    return false;
  }
  if (parsed.exp && static_cast<double>(now) >= *parsed.exp + static_cast<double>(skew)) {
    error = "the logout token has expired";
    return false;
  }
  auto events = payload.find("events");
  if (events == payload.end() || !events->value().is_object()) {
    error = "the logout token has no events object";
    return false;
  }
  auto event = events->value().get_object().find(logout_event);
  if (event == events->value().get_object().end() || !event->value().is_object()) {
    error = "the logout token's events lack the back-channel logout event";
    return false;
  }
  if (payload.contains("nonce")) {
    error = "a logout token must not carry a nonce";
    return false;
  }
  const auto* jti = string_claim(payload, "jti");
  if (jti == nullptr) {
    error = "the logout token has no jti";
    return false;
  }
  const auto* sid = string_claim(payload, "sid");
  const auto* sub = string_claim(payload, "sub");
  if (sid == nullptr && sub == nullptr) {
    error = "the logout token has neither sub nor sid";
    return false;
  }
  const boost::json::string* value = sid != nullptr ? sid : sub;
  if (value->size() > revocation::max_value_bytes || iss->size() > revocation::max_value_bytes ||
      jti->size() > revocation::max_value_bytes) {
    error = "a claim of the logout token is longer than an entry may be";
    return false;
  }

  revocation::entry e;
  e.type = sid != nullptr ? revocation::kind::sid : revocation::kind::sub;
  e.value.assign(value->data(), value->size());
  e.iss.assign(iss->data(), iss->size());
  if (e.type == revocation::kind::sub) e.before = now;
  e.exp = now + default_ttl;
  out.entry = std::move(e);
  out.replay_key.assign(iss->data(), iss->size());
  out.replay_key.push_back('\n');
  out.replay_key.append(jti->data(), jti->size());
  out.replay_until = now + logout_token_max_age + skew + 1;
  return true;
}

}  // namespace jwtgate::auth
