#include "jwtgate/auth/authenticate.h"

#include <algorithm>
#include <optional>
#include <string>

#include "jwtgate/jose/jwt.h"
#include "jwtgate/jose/verify.h"
#include "thread_context_impl.h"

namespace jwtgate::auth {
namespace {

// Higher is more specific (see authenticate.h).
int specificity(jose::status s) noexcept {
  switch (s) {
    case jose::status::alg_not_allowed: return 1;
    case jose::status::keys_unavailable: return 2;
    case jose::status::unknown_kid: return 3;
    case jose::status::bad_signature: return 4;
    default: return 5;  // a claim failure: the signature did verify
  }
}

const std::string* string_claim(const boost::json::object& payload, std::string_view name, std::string& storage) {
  auto it = payload.find(name);
  if (it == payload.end() || !it->value().is_string()) return nullptr;
  storage.assign(it->value().get_string().data(), it->value().get_string().size());
  return &storage;
}

// Signature then claims, for one provider.
jose::status verify_with(const config::provider& p, const jose::jwt& parsed, std::int64_t now_unix) {
  if (!p.keys || p.cfg == nullptr) return jose::status::keys_unavailable;
  std::shared_ptr<const jose::key_set> keys = p.keys->current();
  if (!keys || keys->empty()) return jose::status::keys_unavailable;
  if (p.cfg->require_kid && !parsed.kid) return jose::status::malformed;
  if (jose::status s = jose::verify_signature(parsed, *keys, p.cfg->algorithms); s != jose::status::ok) {
    // The identity provider may have rotated its keys: ask for a refresh (the
    // key store rate-limits it to one per jwks_min_refresh across all threads).
    if (s == jose::status::unknown_kid && p.has_remote_keys) p.keys->request_refresh();
    return s;
  }
  return jose::verify_claims(parsed, p.rules, now_unix);
}

// What a revocation entry can match, taken from the verified payload once so
// that a cached token is checked without touching its JSON.
revocation::token_facts revocation_facts(const boost::json::object& payload) {
  revocation::token_facts f;
  auto text = [&](std::string_view name) -> std::string {
    auto it = payload.find(name);
    if (it == payload.end() || !it->value().is_string()) return {};
    return std::string(it->value().get_string().data(), it->value().get_string().size());
  };
  f.set(revocation::kind::jti, text("jti"));
  f.set(revocation::kind::sub, text("sub"));
  f.set(revocation::kind::sid, text("sid"));
  f.iss = text("iss");
  if (auto it = payload.find("iat"); it != payload.end() && it->value().is_number()) {
    boost::system::error_code ec;
    f.iat = it->value().to_number<double>(ec);
    f.has_iat = !ec;
  }
  return f;
}

std::optional<double> cache_limit(const config::provider& p, const jose::jwt& parsed) {
  if (!parsed.exp) return std::nullopt;
  return *parsed.exp + static_cast<double>(p.rules.clock_skew.count());
}

}  // namespace

std::vector<const config::provider*> judges_for(std::span<const config::provider* const> candidates,
                                                const std::string* iss) {
  std::vector<const config::provider*> out;
  if (iss != nullptr) {
    for (const config::provider* p : candidates)
      if (p->rules.issuer && *p->rules.issuer == *iss) return {p};
  }
  for (const config::provider* p : candidates)
    if (!p->rules.issuer) out.push_back(p);
  return out;
}

authentication authenticate(const config::snapshot& snap, std::span<const config::provider* const> providers,
                            std::string_view token, thread_context& ctx, std::int64_t now_unix) {
  authentication result;
  token_cache& cache = ctx.state().cache;
  std::string iss_storage;

  if (auto hit = cache.find(snap, token, now_unix, providers)) {
    // The cached provider must still be the one the selection rule picks.
    auto judges = judges_for(providers, string_claim(hit->token->payload, "iss", iss_storage));
    if (std::find(judges.begin(), judges.end(), hit->provider) != judges.end()) {
      result.status = jose::status::ok;
      result.provider = hit->provider;
      result.verified = std::move(hit->token);
      return result;
    }
  }

  jose::jwt parsed;
  if (jose::status s = jose::parse(token, parsed); s != jose::status::ok) {
    result.status = s;
    return result;
  }
  const std::string* iss = string_claim(parsed.payload, "iss", iss_storage);
  std::vector<const config::provider*> judges = judges_for(providers, iss);
  if (judges.empty()) {
    // An `iss` of the wrong JSON type is there, just not a match: never missing.
    auto it = parsed.payload.find("iss");
    bool present = it != parsed.payload.end() && !it->value().is_null();
    result.status = iss || present ? jose::status::issuer_mismatch : jose::status::missing_claim;
    result.provider = providers.empty() ? nullptr : providers.front();
    return result;
  }

  int best = -1;
  for (const config::provider* p : judges) {
    verification_stamp stamp = live_stamp(snap, *p);  // taken before verifying: a concurrent
                                                      // publish then only causes a miss later
    jose::status s = verify_with(*p, parsed, now_unix);
    if (s == jose::status::ok) {
      auto verified = std::make_shared<verified_token>();
      verified->payload = std::move(parsed.payload);
      if (auto it = verified->payload.find("sub"); it != verified->payload.end() && it->value().is_string())
        verified->subject.assign(it->value().get_string().data(), it->value().get_string().size());
      verified->revocation = revocation_facts(verified->payload);
      cache.insert(token, std::move(stamp), cache_limit(*p, parsed), verified);
      result.status = jose::status::ok;
      result.provider = p;
      result.verified = std::move(verified);
      return result;
    }
    if (specificity(s) > best) {
      best = specificity(s);
      result.status = s;
      result.provider = p;
    }
  }
  return result;
}

}  // namespace jwtgate::auth
