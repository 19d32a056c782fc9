#include "jwtgate/revocation/admin_api.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <boost/json/serialize.hpp>

#include "jwtgate/util/ascii.h"

namespace jwtgate::revocation {
namespace {

std::string error_json(std::string_view error, std::string_view description) {
  boost::json::object o;
  o["error"] = error;
  o["error_description"] = description;
  return boost::json::serialize(o);
}

api_response error(unsigned status, std::string_view code, std::string_view description) {
  return {status, error_json(code, description), {}};
}

}  // namespace

bool same_secret(std::string_view presented, std::string_view expected) noexcept {
  // Hashing both first makes the comparison independent of the lengths too.
  unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(presented.data()), presented.size(), a);
  SHA256(reinterpret_cast<const unsigned char*>(expected.data()), expected.size(), b);
  return CRYPTO_memcmp(a, b, sizeof a) == 0;
}

void handle_api(service* svc, std::string_view admin_token, const api_request& req,
                std::function<void(api_response)> done) {
  if (svc == nullptr) return done(error(404, "not_found", "revocation is not configured"));
  if (admin_token.empty())
    return done(error(403, "forbidden",
                      "the revocation API is closed: the variable named by revocation.admin_token_env is not set"));
  std::string_view auth = req.authorization;
  constexpr std::string_view bearer = "Bearer ";
  bool authorized = req.authorization_count == 1 && auth.size() > bearer.size() &&
                    util::iequals(auth.substr(0, bearer.size()), bearer) &&
                    same_secret(util::trim_ows(auth.substr(bearer.size())), admin_token);
  if (!authorized) {
    auto r = error(401, "unauthorized", "the revocation API needs Authorization: Bearer <admin token>");
    r.www_authenticate = R"(Bearer realm="jwtgate-admin")";
    return done(std::move(r));
  }

  const auto& cfg = svc->config();
  const auto now = unix_now();
  if (req.method == "GET" || req.method == "HEAD") {
    std::string body = R"({"entries":[)";
    bool first = true;
    svc->entries().current()->for_each(now, [&](const table& t, const table::record& r) {
      if (!first) body.push_back(',');
      first = false;
      body += to_json(t.to_entry(r));
    });
    body += "]}";
    return done({200, std::move(body), {}});
  }
  if (req.method != "POST" && req.method != "DELETE")
    return done(error(405, "method_not_allowed", "/revocations answers GET, POST and DELETE"));

  entry e;
  std::string why;
  parse_defaults defaults{now, std::chrono::duration_cast<std::chrono::seconds>(cfg.default_ttl).count()};
  if (!parse_entry(req.body, defaults, e, why)) return done(error(400, "invalid_entry", why));

  auto status = svc->status();
  if (!status.up)
    return done(error(503, "store_unavailable", "the revocation store is unavailable; the entry was not stored"));

  const bool adding = req.method == "POST";
  auto stored = to_json(e);
  auto finish = [done = std::move(done), adding, stored = std::move(stored)](outcome o, std::string err) {
    switch (o) {
      case outcome::ok: return done({adding ? 201u : 200u, stored, {}});
      case outcome::not_found: return done(error(404, "not_found", "no such entry"));
      case outcome::unavailable:
        return done(error(503, "store_unavailable", "the revocation store is unavailable; nothing was changed"));
      default: return done(error(500, "store_failed", err.empty() ? "the revocation store failed" : err));
    }
  };
  if (adding) svc->add(std::move(e), std::move(finish));
  else svc->remove(std::move(e), std::move(finish));
}

}  // namespace jwtgate::revocation
