// jwtgate check -c FILE: validates a configuration and prints what it would run.

#include <cstdio>
#include <string>
#include <string_view>

#include "cli/commands.h"
#include "jwtgate/config/snapshot.h"
#include "jwtgate/config/units.h"

namespace jwtgate::cli {
namespace {

constexpr const char* check_usage =
    "usage: jwtgate check -c FILE\n"
    "\n"
    "Validates a configuration file: YAML structure, every value, references between\n"
    "routes, upstreams and providers, and every static key (secrets, PEM files, JWKS\n"
    "files). Prints a summary and exits 0 when it is valid; otherwise prints every\n"
    "problem as FILE:LINE:COL: message on stderr and exits 1.\n"
    "\n"
    "options:\n"
    "  -c, --config FILE   the configuration file\n"
    "  -h, --help          this help\n";

std::string join(const std::vector<std::string>& items, std::string_view separator = ", ") {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

std::string algorithms_text(jose::alg_set set) {
  std::vector<std::string> names;
  set.for_each([&](jose::alg a) { names.emplace_back(jose::to_string(a)); });
  return join(names);
}

std::string_view source_kind(config::key_source::kind k) {
  switch (k) {
    case config::key_source::kind::secret_env: return "secret_env";
    case config::key_source::kind::secret_file: return "secret_file";
    case config::key_source::kind::public_key_file: return "public_key_file";
    case config::key_source::kind::jwks_file: return "jwks_file";
    case config::key_source::kind::jwks_url: return "jwks_url";
  }
  return "?";
}

std::string token_source_text(const config::token_source& t) {
  switch (t.type) {
    case config::token_source::kind::header:
      return "header " + t.name + (t.prefix.empty() ? "" : " (prefix \"" + t.prefix + "\")");
    case config::token_source::kind::cookie: return "cookie " + t.name;
    case config::token_source::kind::query: return "query " + t.name;
  }
  return "?";
}

std::string endpoint(const std::string& address, std::uint16_t port) {
  const bool v6 = address.find(':') != std::string::npos;
  return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

void print_listeners(const config::config& c) {
  std::printf("listeners:\n");
  if (c.listen.tls)
    std::printf("  https %s (cert %s, key %s)\n", endpoint(c.listen.address, c.listen.port).c_str(),
                c.listen.tls->cert_file.c_str(), c.listen.tls->key_file.c_str());
  else
    std::printf("  http  %s\n", endpoint(c.listen.address, c.listen.port).c_str());
  if (!c.listen.http2) std::printf("  http2: off (HTTP/1.x only)\n");
  if (c.admin) std::printf("  admin %s (healthz, readyz, metrics)\n", endpoint(c.admin->address, c.admin->port).c_str());
  else std::printf("  admin: none\n");
  const auto& s = c.server;
  std::printf("server: threads %s, max_header_bytes %zu, max_body_bytes %s, header_timeout %s, idle_timeout %s, "
              "drain_timeout %s, max_connections %zu, access_log %s\n",
              s.threads == 0 ? "auto" : std::to_string(s.threads).c_str(), s.max_header_bytes,
              s.max_body_bytes == 0 ? "unlimited" : std::to_string(s.max_body_bytes).c_str(),
              config::format_duration(s.header_timeout).c_str(), config::format_duration(s.idle_timeout).c_str(),
              config::format_duration(s.drain_timeout).c_str(), s.max_connections, s.access_log.c_str());
}

void print_upstreams(const config::config& c) {
  std::printf("upstreams:\n");
  if (c.upstreams.empty()) std::printf("  (none)\n");
  for (const auto& u : c.upstreams) {
    std::printf("  %s: %s -> %s:%u, connect_timeout %s, timeout %s, max_idle_connections %zu", u.name.c_str(),
                u.url.c_str(), u.host.c_str(), unsigned(u.port), config::format_duration(u.connect_timeout).c_str(),
                config::format_duration(u.timeout).c_str(), u.max_idle_connections);
    if (u.protocol == config::upstream_config::wire::h2) std::printf(", protocol h2");
    if (u.https)
      std::printf(", tls verify %s%s%s", u.tls.verify ? "on" : "OFF",
                  u.tls.ca_file.empty() ? "" : (", ca_file " + u.tls.ca_file).c_str(),
                  u.tls.server_name.empty() ? "" : (", server_name " + u.tls.server_name).c_str());
    std::printf("\n");
  }
}

void print_providers(const config::snapshot& snap) {
  std::printf("providers:\n");
  if (snap.providers.empty()) std::printf("  (none)\n");
  for (const auto& p : snap.providers) {
    const auto& cfg = *p.cfg;
    std::printf("  %s: algorithms %s\n", cfg.name.c_str(), algorithms_text(cfg.algorithms).c_str());
    if (cfg.issuer) std::printf("    issuer %s%s\n", cfg.issuer->c_str(), cfg.discovery ? " (discovery)" : "");
    if (!cfg.audiences.empty()) std::printf("    audiences %s\n", join(cfg.audiences).c_str());
    for (const auto& k : cfg.keys) {
      std::printf("    key %s %s", std::string(source_kind(k.type)).c_str(), k.value.c_str());
      if (k.algorithm) std::printf(" alg %s", std::string(jose::to_string(*k.algorithm)).c_str());
      if (!k.kid.empty()) std::printf(" kid %s", k.kid.c_str());
      std::printf("\n");
    }
    std::printf("    static keys loaded: %zu%s\n", p.keys->current()->keys().size(),
                p.has_remote_keys ? " (plus keys fetched at run time)" : "");
    std::vector<std::string> sources;
    for (const auto& t : cfg.token_from) sources.push_back(token_source_text(t));
    std::printf("    tokens from %s\n", join(sources, "; ").c_str());
    if (!cfg.headers.empty() || !cfg.payload_header.empty()) {
      std::vector<std::string> headers;
      for (const auto& [name, claim] : cfg.headers) headers.push_back(name + "=" + claim);
      if (!cfg.payload_header.empty()) headers.push_back(cfg.payload_header + "=<payload>");
      std::printf("    identity headers %s\n", join(headers).c_str());
    }
    if (!cfg.forward_token) std::printf("    token removed before forwarding\n");
    if (cfg.backchannel_logout)
      std::printf("    back-channel logout at %s (audiences %s)\n", cfg.backchannel_logout->path.c_str(),
                  join(cfg.backchannel_logout->audiences).c_str());
  }
}

void print_revocation(const config::snapshot& snap) {
  if (!snap.source.revocation) return;
  const auto& r = *snap.source.revocation;
  const bool redis = r.store == config::revocation_config::store_kind::redis;
  std::printf("revocation: store %s", redis ? "redis" : "local");
  if (redis) std::printf(" %s (prefix \"%s\")", r.redis.url.c_str(), r.redis.key_prefix.c_str());
  else std::printf(" %s", r.file.empty() ? "(memory only)" : r.file.c_str());
  std::printf(", on_store_error %s, default_ttl %s, admin API %s\n",
              r.on_store_error == config::revocation_config::error_policy::deny ? "deny" : "serve_last",
              config::format_duration(r.default_ttl).c_str(),
              snap.revocation_admin_token.empty() ? ("closed (" + r.admin_token_env + " not set)").c_str()
                                                  : ("token from " + r.admin_token_env).c_str());
}

std::string auth_text(const config::route& r) {
  const auto& auth = r.cfg->auth;
  if (auth.type == config::route_auth::mode::none) return "none";
  std::string out = auth.type == config::route_auth::mode::optional ? "optional" : "required";
  out += " (providers " + join(auth.providers);
  if (!auth.scopes.empty()) out += "; scopes " + join(auth.scopes);
  for (const auto& claim : auth.claims) out += "; claim " + claim.path + " in [" + join(claim.any_of) + "]";
  return out + ")";
}

void print_routes(const config::snapshot& snap) {
  print_revocation(snap);
  if (snap.source.forward_auth) std::printf("forward_auth: %s\n", snap.source.forward_auth->path.c_str());
  std::printf("routes (first match wins):\n");
  for (const auto& r : snap.routes) {
    const auto& cfg = *r.cfg;
    std::string matcher = cfg.path.empty() ? "prefix " + cfg.path_prefix : "path " + cfg.path;
    if (!cfg.methods.empty()) matcher += " methods " + join(cfg.methods, ",");
    if (!cfg.host.empty()) matcher += " host " + cfg.host;
    std::printf("  %s: %s -> %s, auth %s\n", cfg.name.c_str(), matcher.c_str(),
                r.upstream ? r.upstream->name.c_str() : "(decisions only)", auth_text(r).c_str());
    if (r.cors) {
      const auto& c = r.cors->settings();
      std::printf("    cors: origins %s; methods %s%s\n", join(c.allow_origins).c_str(), join(c.allow_methods).c_str(),
                  c.allow_credentials ? "; credentials" : "");
    }
  }
}

void print_warnings(const std::vector<config::load_error>& warnings) {
  for (const auto& w : warnings) {
    config::load_error line = w;
    line.message = "warning: " + line.message;
    std::fprintf(stderr, "%s\n", line.to_string().c_str());
  }
}

}  // namespace

int run_check(int argc, char** argv) {
  std::string file;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(check_usage, stdout);
      return 0;
    }
    if ((arg == "-c" || arg == "--config") && i + 1 < argc && file.empty()) {
      file = argv[++i];
    } else if (arg.starts_with("--config=") && file.empty()) {
      file = std::string(arg.substr(9));
    } else {
      std::fprintf(stderr, "jwtgate check: unexpected argument '%s'\n\n%s", argv[i], check_usage);
      return 2;
    }
  }
  if (file.empty()) {
    std::fprintf(stderr, "jwtgate check: -c FILE is required\n\n%s", check_usage);
    return 2;
  }

  const config::load_result result = config::load_file(file);
  print_warnings(result.warnings);
  if (!result.errors.empty()) {
    for (const auto& e : result.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
    std::fprintf(stderr, "%s: %zu error%s\n", file.c_str(), result.errors.size(), result.errors.size() == 1 ? "" : "s");
    return 1;
  }
  const config::snapshot& snap = *result.snap;
  std::printf("%s: configuration is valid\n", file.c_str());
  print_listeners(snap.source);
  print_upstreams(snap.source);
  print_providers(snap);
  print_routes(snap);
  return 0;
}

}  // namespace jwtgate::cli
