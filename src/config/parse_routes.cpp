// routes (first match wins) and the forward_auth decision endpoint.

#include <array>
#include <map>
#include <optional>

#include "config/parse_context.h"
#include "config/validators.h"
#include "jwtgate/routing/cors.h"

namespace jwtgate::config {
namespace {

std::string to_upper_ascii(std::string s) {
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

void read_route_path(const yaml::field_value& f, diagnostics& d, std::string& out) {
  std::string path, why;
  if (!yaml::read_string(f, d, path)) return;
  if (!is_normalized_path(path, why)) return d.error(f.where, f.path + ": '" + path + "' " + why);
  out = std::move(path);
}

void parse_auth_map(const yaml::field_value& v, const parse_context& ctx, route_config& out) {
  auto& d = ctx.diag;
  route_auth& auth = out.auth;
  const std::array<yaml::field, 4> fields{{
      {"providers",
       [&](const yaml::field_value& f) {
         yaml::read_list(f, d, [&](const yaml::field_value& item) {
           std::string name;
           if (!yaml::read_string(item, d, name)) return;
           auth.providers.push_back(std::move(name));
           out.providers_where.push_back(item.where);
         });
       }},
      {"scopes",
       [&](const yaml::field_value& f) {
         yaml::read_list(f, d, [&](const yaml::field_value& item) {
           std::string scope;
           if (!yaml::read_string(item, d, scope)) return;
           if (scope.find(' ') != std::string::npos)
             return d.error(item.where, item.path + ": a scope cannot contain spaces (list each scope)");
           auth.scopes.push_back(std::move(scope));
         });
       }},
      {"claims", [&](const yaml::field_value& f) { parse_claim_requirements(f, ctx, auth.claims); }},
      {"optional",
       [&](const yaml::field_value& f) {
         bool optional = false;
         if (yaml::read_bool(f, d, optional))
           auth.type = optional ? route_auth::mode::optional : route_auth::mode::required;
       }},
  }};
  if (!yaml::read_fields(v, fields, d)) return;
  if (auth.providers.empty() && out.providers_where.empty())
    d.error(v.where, v.path + ": providers is required (or write `auth: none` for a public route)");
}

void parse_auth(const yaml::field_value& v, const parse_context& ctx, route_config& out) {
  if (v.node.IsScalar()) {
    if (v.node.Scalar() == "none") {
      out.auth.type = route_auth::mode::none;
      return;
    }
    return ctx.diag.error(v.where, v.path + ": expected `none` or a mapping {providers, scopes, claims, optional}, "
                                            "got '" + v.node.Scalar() + "'");
  }
  if (!v.node.IsMap())
    return ctx.diag.error(v.where, v.path + ": expected `none` or a mapping {providers, scopes, claims, optional}");
  parse_auth_map(v, ctx, out);
}

// A list of header names (allow_headers, expose_headers); "*" only where `star_ok`.
void read_header_names(const yaml::field_value& f, diagnostics& d, std::vector<std::string>& out,
                       std::optional<mark>& star) {
  yaml::read_list(f, d, [&](const yaml::field_value& item) {
    std::string name;
    if (!yaml::read_string(item, d, name)) return;
    if (name == "*") {
      star = item.where;
    } else if (!is_http_token(name)) {
      return d.error(item.where, item.path + ": '" + name + "' is not a valid header name");
    }
    out.push_back(std::move(name));
  });
}

// SPEC section 10. Refused: "*" with credentials, origins that are not exactly
// scheme://host[:port], "null", "*" beside other origins.
void parse_cors(const yaml::field_value& v, const parse_context& ctx, cors_config& out) {
  auto& d = ctx.diag;
  out.where = v.where;
  bool has_origins = false;
  std::optional<mark> star_origin, star_header, star_expose;
  mark credentials_where;
  const std::array<yaml::field, 6> fields{{
      {"allow_origins",
       [&](const yaml::field_value& f) {
         has_origins = true;
         yaml::read_list(f, d, [&](const yaml::field_value& item) {
           std::string text, why;
           if (!yaml::read_string(item, d, text)) return;
           if (text == "*") {
             star_origin = item.where;
           } else {
             routing::origin o;
             if (!routing::parse_origin(text, o, why))
               return d.error(item.where, item.path + ": '" + text + "' is not an origin: " + why);
           }
           out.allow_origins.push_back(std::move(text));
         });
         if (f.node.IsSequence() && f.node.size() == 0)
           d.error(f.where, f.path + ": list at least one origin");
       }},
      {"allow_methods",
       [&](const yaml::field_value& f) {
         yaml::read_list(f, d, [&](const yaml::field_value& item) {
           std::string method;
           if (!yaml::read_string(item, d, method)) return;
           if (!is_http_token(method)) return d.error(item.where, item.path + ": '" + method + "' is not a valid method");
           out.allow_methods.push_back(std::move(method));
         });
       }},
      {"allow_headers", [&](const yaml::field_value& f) { read_header_names(f, d, out.allow_headers, star_header); }},
      {"expose_headers", [&](const yaml::field_value& f) { read_header_names(f, d, out.expose_headers, star_expose); }},
      {"allow_credentials",
       [&](const yaml::field_value& f) {
         credentials_where = f.where;
         yaml::read_bool(f, d, out.allow_credentials);
       }},
      {"max_age",
       [&](const yaml::field_value& f) {
         duration age{};
         if (yaml::read_duration(f, d, age)) out.max_age = age;
       }},
  }};
  if (!yaml::read_fields(v, fields, d)) return;
  if (!has_origins) return d.error(v.where, v.path + ": allow_origins is required (exact origins, or \"*\")");
  if (star_origin && out.allow_origins.size() > 1)
    d.error(*star_origin, v.path + ".allow_origins: \"*\" allows every origin; list nothing beside it");
  if (out.allow_credentials) {
    if (star_origin)
      d.error(*star_origin, v.path + ".allow_origins: \"*\" cannot be used with allow_credentials: true "
                                    "(list the exact origins)");
    if (star_header)
      d.error(*star_header, v.path + ".allow_headers: \"*\" cannot be used with allow_credentials: true");
  }
  if (star_header && out.allow_headers.size() > 1)
    d.error(*star_header, v.path + ".allow_headers: \"*\" allows every header; list nothing beside it");
  if (star_expose) d.error(*star_expose, v.path + ".expose_headers: list the header names to expose, not \"*\"");
}

void parse_route(const yaml::field_value& v, const parse_context& ctx, route_config& out, mark& name_where) {
  auto& d = ctx.diag;
  bool has_path = false, has_prefix = false, has_auth = false;
  const std::array<yaml::field, 8> fields{{
      {"name",
       [&](const yaml::field_value& f) {
         std::string name;
         if (!yaml::read_string(f, d, name)) return;
         if (!is_valid_name(name))
           return d.error(f.where, f.path + ": invalid route name '" + name + "': use letters, digits, '.', '_' and '-'");
         out.name = std::move(name);
         name_where = f.where;
       }},
      {"path", [&](const yaml::field_value& f) { has_path = true; read_route_path(f, d, out.path); }},
      {"path_prefix", [&](const yaml::field_value& f) { has_prefix = true; read_route_path(f, d, out.path_prefix); }},
      {"methods",
       [&](const yaml::field_value& f) {
         yaml::read_list(f, d, [&](const yaml::field_value& item) {
           std::string method;
           if (!yaml::read_string(item, d, method)) return;
           if (!is_http_token(method)) return d.error(item.where, item.path + ": '" + method + "' is not a valid method");
           if (to_lower(method) == method && to_upper_ascii(method) != method)
             d.warning(item.where, item.path + ": methods are case-sensitive; '" + method +
                                       "' will not match " + to_upper_ascii(method) + " requests");
           out.methods.push_back(std::move(method));
         });
       }},
      {"host",
       [&](const yaml::field_value& f) {
         std::string host;
         if (!yaml::read_string(f, d, host)) return;
         if (!is_valid_host(host))
           return d.error(f.where, f.path + ": '" + host + "' is not a host name (no port, no scheme)");
         out.host = to_lower(host);
       }},
      {"upstream",
       [&](const yaml::field_value& f) {
         out.upstream_where = f.where;
         yaml::read_string(f, d, out.upstream);
       }},
      {"auth", [&](const yaml::field_value& f) { has_auth = true; parse_auth(f, ctx, out); }},
      {"cors", [&](const yaml::field_value& f) { parse_cors(f, ctx, out.cors.emplace()); }},
  }};
  if (!yaml::read_fields(v, fields, d)) return;
  if (!v.node.IsMap()) return d.error(v.where, v.path + ": expected a mapping, got nothing");
  if (has_path == has_prefix)
    d.error(v.where, v.path + ": a route needs exactly one of path (exact) and path_prefix");
  if (!has_auth) d.error(v.where, v.path + ": auth is required: `none` or {providers: [...]}");
}

}  // namespace

void parse_routes(const yaml::field_value& v, const parse_context& ctx, std::vector<route_config>& out) {
  std::map<std::string, mark> names;
  std::size_t index = 0;
  yaml::read_list(v, ctx.diag, [&](const yaml::field_value& item) {
    route_config& r = out.emplace_back();
    r.where = item.where;
    mark name_where;
    parse_route(item, ctx, r, name_where);
    ++index;
    if (r.name.empty()) {
      // '#' cannot appear in a written name, so the default never collides with one.
      r.name = "#" + std::to_string(index);
      return;
    }
    auto [it, inserted] = names.emplace(r.name, name_where);
    if (!inserted)
      ctx.diag.error(name_where, item.path + ".name: duplicate route name '" + r.name + "' (first used at line " +
                                     std::to_string(it->second.line) + ")");
  });
}

void parse_forward_auth(const yaml::field_value& v, const parse_context& ctx, forward_auth_config& out) {
  bool has_path = false;
  const std::array<yaml::field, 1> fields{{
      {"path", [&](const yaml::field_value& f) { has_path = true; read_route_path(f, ctx.diag, out.path); }},
  }};
  if (!yaml::read_fields(v, fields, ctx.diag)) return;
  if (!has_path) ctx.diag.error(v.where, v.path + ": path is required (e.g. /_auth)");
}

}  // namespace jwtgate::config
