// load_file / load_string: parse, cross-check, load static keys, compile.

#include "jwtgate/config/snapshot.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "config/cross_checks.h"
#include "config/diagnostics.h"
#include "config/key_loading.h"
#include "config/parse_context.h"
#include "config/validators.h"

namespace jwtgate::config {
namespace {

// The route's `cors` block with SPEC 10's defaults filled in.
routing::cors_settings cors_settings_of(const route_config& r) {
  const cors_config& c = *r.cors;
  routing::cors_settings s;
  for (const auto& o : c.allow_origins) {
    routing::origin parsed;
    s.allow_origins.push_back(o != "*" && routing::parse_origin(o, parsed) ? routing::serialize_origin(parsed) : o);
  }
  s.allow_methods = c.allow_methods;
  if (s.allow_methods.empty()) s.allow_methods = r.methods;
  if (s.allow_methods.empty()) s.allow_methods = {"GET", "HEAD", "POST"};
  s.allow_headers = c.allow_headers;
  s.expose_headers = c.expose_headers;
  s.allow_credentials = c.allow_credentials;
  if (c.max_age) s.max_age_seconds = std::chrono::duration_cast<std::chrono::seconds>(*c.max_age).count();
  return s;
}

constexpr std::size_t max_config_bytes = 4 * 1024 * 1024;

jose::claim_rules rules_of(const provider_config& p) {
  jose::claim_rules rules;
  rules.issuer = p.issuer;
  rules.audiences = p.audiences;
  for (const auto& t : p.types) rules.types.push_back(jose::media_type_short_form(t));
  rules.required = p.require_claims;
  rules.clock_skew = std::chrono::duration_cast<std::chrono::seconds>(p.clock_skew);
  if (p.max_lifetime) rules.max_lifetime = std::chrono::duration_cast<std::chrono::seconds>(*p.max_lifetime);
  rules.claims = p.claims;
  return rules;
}

bool has_remote_source(const provider_config& p) {
  if (p.discovery) return true;
  return std::any_of(p.keys.begin(), p.keys.end(),
                     [](const key_source& k) { return k.type == key_source::kind::jwks_url; });
}

std::vector<std::string> identity_headers_of(const config& cfg) {
  std::vector<std::string> names;
  auto add = [&](const std::string& name) {
    std::string lower = to_lower(name);
    if (std::find(names.begin(), names.end(), lower) == names.end()) names.push_back(std::move(lower));
  };
  for (const provider_config& p : cfg.providers) {
    for (const auto& [header, claim] : p.headers) add(header);
    if (!p.payload_header.empty()) add(p.payload_header);
  }
  return names;
}

// Builds the snapshot in place: it points into its own `source`, so it is never
// copied or moved once the pointers are set.
std::shared_ptr<snapshot> compile(config cfg, diagnostics& d) {
  auto snap = std::make_shared<snapshot>();
  snap->source = std::move(cfg);
  const config& src = snap->source;

  snap->providers.reserve(src.providers.size());
  for (const provider_config& p : src.providers) {
    provider& compiled = snap->providers.emplace_back();
    compiled.cfg = &p;
    compiled.rules = rules_of(p);
    compiled.keys = std::make_shared<keys::key_store>(load_static_keys(p, d));
    compiled.has_remote_keys = has_remote_source(p);
  }

  std::vector<routing::route_matcher> matchers;
  snap->routes.reserve(src.routes.size());
  for (const route_config& r : src.routes) {
    route& compiled = snap->routes.emplace_back();
    compiled.cfg = &r;
    compiled.upstream = r.upstream.empty() ? nullptr : snap->find_upstream(r.upstream);
    if (r.auth.type != route_auth::mode::none)
      for (const std::string& name : r.auth.providers)
        if (const provider* p = snap->find_provider(name)) compiled.providers.push_back(p);
    if (r.cors) compiled.cors.emplace(cors_settings_of(r));
    matchers.push_back({r.path, r.path_prefix, r.methods, r.host});
  }
  snap->table = routing::route_table(std::move(matchers));
  snap->identity_headers = identity_headers_of(src);
  if (src.revocation) {
    auto env = [](const std::string& name) {
      const char* v = name.empty() ? nullptr : std::getenv(name.c_str());
      return std::string(v ? v : "");
    };
    snap->revocation_admin_token = env(src.revocation->admin_token_env);
    snap->redis_password = env(src.revocation->redis.password_env);
  }
  for (const provider& p : snap->providers)
    if (p.cfg->backchannel_logout && !p.cfg->backchannel_logout->path.empty())
      snap->backchannel_paths.emplace_back(p.cfg->backchannel_logout->path, &p);
  return snap;
}

}  // namespace

const provider* snapshot::find_provider(std::string_view name) const noexcept {
  for (const provider& p : providers)
    if (p.cfg->name == name) return &p;
  return nullptr;
}

const upstream_config* snapshot::find_upstream(std::string_view name) const noexcept {
  for (const upstream_config& u : source.upstreams)
    if (u.name == name) return &u;
  return nullptr;
}

load_result load_string(std::string_view yaml, const std::string& file_name) {
  diagnostics d(file_name);
  parse_context ctx{d, std::filesystem::path(file_name).parent_path()};
  config cfg;
  cfg.file = file_name;
  parse_document(yaml, ctx, cfg);
  check_cross_references(cfg, d);

  load_result result;
  // Keys are loaded even when the structure has errors, so that every problem
  // (a short secret as much as a typo) is reported in the same run.
  std::shared_ptr<snapshot> snap = compile(std::move(cfg), d);
  result.errors = d.take_errors();
  result.warnings = d.take_warnings();
  if (result.errors.empty()) result.snap = std::move(snap);
  return result;
}

load_result load_file(const std::string& path) {
  std::string text, error;
  if (!read_small_file(path, max_config_bytes, text, error)) {
    load_result result;
    result.errors.push_back({path, 0, 0, error});
    return result;
  }
  return load_string(text, path);
}

}  // namespace jwtgate::config
