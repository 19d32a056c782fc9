#pragma once
// Test doubles for the auth pipeline: a header list, an independent HS256
// signer (OpenSSL HMAC, not the gateway's own code) and a hand-built snapshot.

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "jwtgate/auth/decision.h"
#include "jwtgate/config/snapshot.h"
#include "jwtgate/jose/key_set.h"
#include "jwtgate/keys/key_store.h"

namespace jwtgate::auth::testing {

inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }
inline bool equals_ci(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

class fake_headers : public header_view {
 public:
  fake_headers() = default;
  fake_headers(std::initializer_list<std::pair<std::string, std::string>> fields) : fields_(fields) {}
  void add(std::string name, std::string value) { fields_.emplace_back(std::move(name), std::move(value)); }
  std::size_t count(std::string_view name) const override {
    return std::count_if(fields_.begin(), fields_.end(), [&](const auto& f) { return equals_ci(f.first, name); });
  }
  void for_each(std::string_view name, const std::function<void(std::string_view)>& f) const override {
    for (const auto& field : fields_)
      if (equals_ci(field.first, name)) f(field.second);
  }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

inline std::string b64url(std::string_view in) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(in[k]); };
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    for (int s = 18; s >= 0; s -= 6) out.push_back(alphabet[(v >> s) & 63]);
  }
  if (in.size() - i == 1) {
    unsigned v = byte(i) << 16;
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
  } else if (in.size() - i == 2) {
    unsigned v = (byte(i) << 16) | (byte(i + 1) << 8);
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
  }
  return out;
}

inline std::string hs256(std::string_view secret, const boost::json::object& header,
                         const boost::json::object& payload) {
  std::string input = b64url(boost::json::serialize(header)) + "." + b64url(boost::json::serialize(payload));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return input + "." + b64url(std::string_view(reinterpret_cast<const char*>(mac), len));
}

inline std::string hs256(std::string_view secret, const boost::json::object& payload) {
  return hs256(secret, {{"alg", "HS256"}, {"typ", "JWT"}}, payload);
}

inline constexpr std::int64_t now = 1'700'000'000;
inline const std::string secret_a(32, 'a');
inline const std::string secret_b(32, 'b');

inline std::shared_ptr<keys::key_store> hmac_store(const std::string& secret, std::string kid = {}) {
  jose::key k;
  std::string error;
  if (!jose::make_hmac_key(std::move(kid), jose::alg::HS256, secret, k, error)) return nullptr;
  return std::make_shared<keys::key_store>(std::make_shared<const jose::key_set>(std::vector<jose::key>{k}));
}

inline config::provider_config provider_cfg(std::string name, std::optional<std::string> issuer = {}) {
  config::provider_config p;
  p.name = std::move(name);
  p.issuer = std::move(issuer);
  p.algorithms = {jose::alg::HS256};
  return p;
}

inline config::route_config route_cfg(std::string name, std::string prefix, std::vector<std::string> providers,
                                      config::route_auth::mode mode = config::route_auth::mode::required) {
  config::route_config r;
  r.name = std::move(name);
  r.path_prefix = std::move(prefix);
  r.upstream = "app";
  r.auth.type = mode;
  r.auth.providers = std::move(providers);
  return r;
}

// Compiles `source` into a snapshot the way the config loader does, with one
// HMAC key store per provider (secrets[i] for provider i).
inline std::unique_ptr<config::snapshot> build_snapshot(config::config source,
                                                        const std::vector<std::shared_ptr<keys::key_store>>& stores) {
  auto snap = std::make_unique<config::snapshot>();
  snap->source = std::move(source);
  if (snap->source.upstreams.empty()) {
    config::upstream_config up;
    up.name = "app";
    up.url = "http://127.0.0.1:9000";
    snap->source.upstreams.push_back(up);
  }
  for (std::size_t i = 0; i < snap->source.providers.size(); ++i) {
    const auto& pc = snap->source.providers[i];
    config::provider p;
    p.cfg = &pc;
    p.rules.issuer = pc.issuer;
    p.rules.audiences = pc.audiences;
    p.rules.required = pc.require_claims;
    p.rules.clock_skew = std::chrono::duration_cast<std::chrono::seconds>(pc.clock_skew);
    if (pc.max_lifetime) p.rules.max_lifetime = std::chrono::duration_cast<std::chrono::seconds>(*pc.max_lifetime);
    p.rules.claims = pc.claims;
    p.keys = i < stores.size() ? stores[i] : nullptr;
    snap->providers.push_back(std::move(p));
    for (const auto& [h, path] : pc.headers) {
      std::string n;
      for (char c : h) n.push_back(lower(c));
      snap->identity_headers.push_back(n);
    }
    if (!pc.payload_header.empty()) {
      std::string n;
      for (char c : pc.payload_header) n.push_back(lower(c));
      snap->identity_headers.push_back(n);
    }
  }
  std::vector<routing::route_matcher> matchers;
  for (const auto& rc : snap->source.routes) {
    config::route r;
    r.cfg = &rc;
    for (const auto& up : snap->source.upstreams)
      if (up.name == rc.upstream) r.upstream = &up;
    for (const auto& name : rc.auth.providers)
      for (std::size_t i = 0; i < snap->source.providers.size(); ++i)
        if (snap->source.providers[i].name == name) r.providers.push_back(&snap->providers[i]);
    snap->routes.push_back(std::move(r));
    matchers.push_back({rc.path, rc.path_prefix, rc.methods, rc.host});
  }
  snap->table = routing::route_table(std::move(matchers));
  return snap;
}

inline boost::json::object claims(std::string sub = "alice") {
  return {{"sub", sub}, {"exp", now + 3600}, {"iat", now - 10}};
}

}  // namespace jwtgate::auth::testing
