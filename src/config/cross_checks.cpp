#include "config/cross_checks.h"

#include "config/validators.h"

namespace jwtgate::config {
namespace {

template <class Items>
bool has_name(const Items& items, const std::string& name) {
  for (const auto& item : items)
    if (item.name == name) return true;
  return false;
}

void check_routes(const config& cfg, diagnostics& d) {
  for (std::size_t i = 0; i < cfg.routes.size(); ++i) {
    const route_config& r = cfg.routes[i];
    const std::string where = "routes[" + std::to_string(i) + "]";
    if (!r.upstream.empty() && !has_name(cfg.upstreams, r.upstream))
      d.error(r.upstream_where, where + ".upstream: unknown upstream '" + r.upstream + "'");
    if (r.upstream.empty() && !cfg.forward_auth)
      d.warning(r.where, where + ": no upstream and no forward_auth: every request to route '" + r.name +
                             "' gets 404");
    if (r.auth.type == route_auth::mode::none) continue;
    for (std::size_t p = 0; p < r.auth.providers.size(); ++p)
      if (!has_name(cfg.providers, r.auth.providers[p]))
        d.error(p < r.providers_where.size() ? r.providers_where[p] : r.where,
                where + ".auth.providers: unknown provider '" + r.auth.providers[p] + "'");
  }
}

// Identity headers are stripped from every request before the token is read,
// so one provider's injected header must never be another's token source.
void check_identity_headers(const config& cfg, diagnostics& d) {
  for (const provider_config& injecting : cfg.providers) {
    std::vector<std::string> names;
    for (const auto& [header, claim] : injecting.headers) names.push_back(to_lower(header));
    if (!injecting.payload_header.empty()) names.push_back(to_lower(injecting.payload_header));
    for (const provider_config& reading : cfg.providers)
      for (const token_source& source : reading.token_from)
        if (source.type == token_source::kind::header)
          for (const std::string& name : names)
            if (name == to_lower(source.name))
              d.error(injecting.where, "providers." + injecting.name + ": identity header '" + name +
                                           "' is also where provider '" + reading.name + "' reads tokens");
  }
}

// Back-channel logout adds revocation entries, and its paths are answered by
// the gateway itself: each must be distinct and outside forward_auth's.
void check_backchannel_logout(const config& cfg, diagnostics& d) {
  for (std::size_t i = 0; i < cfg.providers.size(); ++i) {
    const provider_config& p = cfg.providers[i];
    if (!p.backchannel_logout) continue;
    const auto& b = *p.backchannel_logout;
    const std::string where = "providers." + p.name + ".backchannel_logout";
    if (!cfg.revocation)
      d.error(b.where, where + ": needs a revocation section (logouts are stored as revocation entries)");
    if (cfg.forward_auth && !b.path.empty() && b.path == cfg.forward_auth->path)
      d.error(b.where, where + ".path: '" + b.path + "' is also the forward_auth path");
    for (std::size_t j = 0; j < i; ++j) {
      const auto& other = cfg.providers[j].backchannel_logout;
      if (other && !b.path.empty() && other->path == b.path)
        d.error(b.where, where + ".path: '" + b.path + "' is also provider '" + cfg.providers[j].name +
                             "''s back-channel logout path");
    }
  }
}

}  // namespace

void check_cross_references(const config& cfg, diagnostics& d) {
  check_routes(cfg, d);
  check_identity_headers(cfg, d);
  check_backchannel_logout(cfg, d);
}

}  // namespace jwtgate::config
