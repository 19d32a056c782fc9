// providers: name -> {issuer, audiences, algorithms, keys, token sources,
// claim rules, identity headers}.

#include <array>
#include <optional>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include "config/parse_context.h"
#include "config/validators.h"
#include "jwtgate/jose/alg.h"

namespace jwtgate::config {
namespace {

constexpr std::string_view supported_algs =
    "HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA";

std::optional<jose::alg> read_alg(const yaml::field_value& v, diagnostics& d) {
  std::string name;
  if (!yaml::read_string(v, d, name)) return std::nullopt;
  if (to_lower(name) == "none") {
    d.error(v.where, v.path + ": 'none' is never allowed: unsigned tokens would be accepted");
    return std::nullopt;
  }
  auto a = jose::parse_alg(name);
  if (!a) d.error(v.where, v.path + ": unknown algorithm '" + name + "' (supported: " + std::string(supported_algs) + ")");
  return a;
}

// Returns how many entries were listed, valid or not, so that a list of only
// refused names is not reported a second time as empty.
std::size_t parse_algorithms(const yaml::field_value& v, diagnostics& d, jose::alg_set& out) {
  std::size_t listed = 0;
  yaml::read_list(v, d, [&](const yaml::field_value& item) {
    ++listed;
    if (auto a = read_alg(item, d)) out.insert(*a);
  });
  return listed;
}

bool is_jose_hmac(jose::alg a) { return jose::family(a) == jose::alg_family::hmac; }

// http(s) with a host; the document itself is fetched later by the keys module.
bool check_jwks_url(const yaml::field_value& v, diagnostics& d, const std::string& url, bool& https) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  bool ok = static_cast<bool>(parsed);
  if (ok) {
    const auto scheme = parsed->scheme_id();
    https = scheme == boost::urls::scheme::https;
    ok = (https || scheme == boost::urls::scheme::http) && parsed->has_authority() &&
         !parsed->encoded_host().empty() && !parsed->has_userinfo() && !parsed->has_fragment();
  }
  if (!ok) d.error(v.where, v.path + ": '" + url + "' is not an http:// or https:// URL with a host");
  else if (!https) d.warning(v.where, v.path + ": keys fetched over plain http can be replaced in transit; use https");
  return ok;
}

void parse_key_source(const yaml::field_value& v, const parse_context& ctx, key_source& out) {
  auto& d = ctx.diag;
  int sources = 0;
  bool kid_set = false, value_ok = false, url_https = false;
  std::optional<yaml::field_value> ca_node, kid_node;
  auto source = [&](key_source::kind kind, bool is_file) {
    return [&, kind, is_file](const yaml::field_value& f) {
      if (++sources > 1) {
        d.error(f.where, v.path + ": a key entry takes exactly one of secret_env, secret_file, "
                                  "public_key_file, jwks_file, jwks_url");
        return;
      }
      out.type = kind;
      out.value_where = f.where;
      if (is_file) {
        value_ok = ctx.read_readable_file(f, out.value);
      } else if (yaml::read_string(f, d, out.value)) {
        value_ok = kind != key_source::kind::jwks_url || check_jwks_url(f, d, out.value, url_https);
      }
    };
  };
  const std::array<yaml::field, 8> fields{{
      {"kid", [&](const yaml::field_value& f) { kid_node = f; kid_set = yaml::read_string(f, d, out.kid); }},
      {"alg",
       [&](const yaml::field_value& f) {
         out.alg_where = f.where;
         out.algorithm = read_alg(f, d);
       }},
      {"secret_env", source(key_source::kind::secret_env, false)},
      {"secret_file", source(key_source::kind::secret_file, true)},
      {"public_key_file", source(key_source::kind::public_key_file, true)},
      {"jwks_file", source(key_source::kind::jwks_file, true)},
      {"jwks_url", source(key_source::kind::jwks_url, false)},
      {"ca_file", [&](const yaml::field_value& f) { ca_node = f; ctx.read_readable_file(f, out.ca_file); }},
  }};
  if (!yaml::read_fields(v, fields, d)) return;
  if (sources > 1) out.value.clear();  // refused above; never loaded
  if (sources == 0) {
    d.error(v.where, v.path + ": a key entry needs one of secret_env, secret_file, public_key_file, "
                              "jwks_file, jwks_url");
    return;
  }
  const bool is_jwks = out.type == key_source::kind::jwks_file || out.type == key_source::kind::jwks_url;
  const bool is_secret = out.type == key_source::kind::secret_env || out.type == key_source::kind::secret_file;
  if (is_jwks && kid_node)
    d.error(kid_node->where, kid_node->path + ": kid comes from the JWKS document; it cannot be set on a "
                                              "jwks_file or jwks_url entry");
  if (!is_jwks && !out.alg_where.line)
    d.error(v.where, v.path + ": alg is required for secret_env, secret_file and public_key_file keys");
  if (out.algorithm && is_secret && !is_jose_hmac(*out.algorithm))
    d.error(out.alg_where, v.path + ".alg: " + std::string(jose::to_string(*out.algorithm)) +
                               " needs a public key (public_key_file), not a shared secret");
  if (out.algorithm && out.type == key_source::kind::public_key_file && is_jose_hmac(*out.algorithm))
    d.error(out.alg_where, v.path + ".alg: " + std::string(jose::to_string(*out.algorithm)) +
                               " needs a shared secret (secret_env or secret_file), not a public key");
  if (ca_node && (out.type != key_source::kind::jwks_url || (value_ok && !url_https)))
    d.error(ca_node->where, ca_node->path + ": ca_file is only used with an https:// jwks_url");
}

void parse_token_source(const yaml::field_value& v, diagnostics& d, std::vector<token_source>& out) {
  token_source source;
  int kinds = 0;
  std::optional<yaml::field_value> prefix_node;
  auto name_field = [&](token_source::kind kind) {
    return [&, kind](const yaml::field_value& f) {
      if (++kinds > 1)
        return d.error(f.where, v.path + ": a token source takes exactly one of header, cookie, query");
      source.type = kind;
      if (!yaml::read_string(f, d, source.name)) return;
      if (kind != token_source::kind::query && !is_http_token(source.name))
        d.error(f.where, f.path + ": '" + source.name + "' is not a valid name");
    };
  };
  const std::array<yaml::field, 4> fields{{
      {"header", name_field(token_source::kind::header)},
      {"cookie", name_field(token_source::kind::cookie)},
      {"query", name_field(token_source::kind::query)},
      {"prefix", [&](const yaml::field_value& f) { prefix_node = f; yaml::read_string(f, d, source.prefix, true); }},
  }};
  if (!yaml::read_fields(v, fields, d)) return;
  if (kinds == 0) return d.error(v.where, v.path + ": a token source needs one of header, cookie, query");
  if (prefix_node && source.type != token_source::kind::header)
    return d.error(prefix_node->where, prefix_node->path + ": prefix is only used with header");
  out.push_back(std::move(source));
}

// An identity header name must be a valid field name the gateway does not own.
bool check_identity_header(const yaml::field_value& where, const std::string& name, mark at, diagnostics& d) {
  if (!is_http_token(name)) {
    d.error(at, where.path + ": '" + name + "' is not a valid header name");
    return false;
  }
  if (is_reserved_identity_header(to_lower(name))) {
    d.error(at, where.path + ": '" + name + "' cannot be set from a token (the gateway or HTTP itself owns it)");
    return false;
  }
  return true;
}

void parse_identity_headers(const yaml::field_value& v, diagnostics& d,
                            std::vector<std::pair<std::string, std::string>>& out) {
  std::vector<std::string> seen;
  yaml::read_named_entries(v, d, [&](const std::string& name, mark name_where, const yaml::field_value& value) {
    const bool name_ok = check_identity_header(v, name, name_where, d);
    std::string claim;
    if (!yaml::read_string(value, d, claim) || !name_ok) return;
    const std::string lower = to_lower(name);
    for (const auto& s : seen)
      if (s == lower) return d.error(name_where, v.path + ": header '" + name + "' is listed twice");
    seen.push_back(lower);
    if (claim.front() == '.' || claim.back() == '.' || claim.find("..") != std::string::npos)
      return d.error(value.where, value.path + ": invalid claim path '" + claim + "'");
    out.emplace_back(name, std::move(claim));
  });
}

bool read_whole_seconds(const yaml::field_value& f, diagnostics& d, duration& out) {
  duration value{};
  if (!yaml::read_duration(f, d, value)) return false;
  if (value.count() % 1000 != 0) {
    d.error(f.where, f.path + ": must be a whole number of seconds");
    return false;
  }
  out = value;
  return true;
}

void parse_provider(const yaml::field_value& v, const parse_context& ctx, provider_config& out) {
  auto& d = ctx.diag;
  bool has_algorithms = false;
  bool algorithms_is_list = false;
  std::size_t token_sources_listed = 0, algorithms_listed = 0;
  std::optional<yaml::field_value> discovery_node, token_from_node;
  const std::array<yaml::field, 19> fields{{
      {"issuer",
       [&](const yaml::field_value& f) {
         std::string issuer;
         if (yaml::read_string(f, d, issuer)) out.issuer = std::move(issuer);
       }},
      {"audiences", [&](const yaml::field_value& f) { yaml::read_string_list(f, d, out.audiences); }},
      {"types",
       [&](const yaml::field_value& f) {
         yaml::read_list(f, d, [&](const yaml::field_value& item) {
           std::string type;
           if (!yaml::read_string(item, d, type)) return;
           if (!is_http_token(type) && type.find('/') == std::string::npos)
             return d.error(item.where, item.path + ": '" + type + "' is not a media type (e.g. at+jwt)");
           out.types.push_back(std::move(type));
         });
         if (f.node.IsSequence() && f.node.size() == 0) d.error(f.where, f.path + ": list at least one type");
       }},
      {"algorithms",
       [&](const yaml::field_value& f) {
         has_algorithms = true;
         out.algorithms_where = f.where;
         algorithms_is_list = f.node.IsSequence() || f.node.IsNull();
         algorithms_listed = parse_algorithms(f, d, out.algorithms);
       }},
      {"keys",
       [&](const yaml::field_value& f) {
         yaml::read_list(f, d, [&](const yaml::field_value& item) {
           key_source& k = out.keys.emplace_back();
           k.where = item.where;
           parse_key_source(item, ctx, k);
         });
       }},
      {"discovery", [&](const yaml::field_value& f) { discovery_node = f; yaml::read_bool(f, d, out.discovery); }},
      {"ca_file", [&](const yaml::field_value& f) { ctx.read_readable_file(f, out.ca_file); }},
      {"jwks_refresh",
       [&](const yaml::field_value& f) {
         duration value{};
         if (!yaml::read_duration(f, d, value)) return;
         if (value < std::chrono::seconds(1)) return d.error(f.where, f.path + ": must be at least 1s");
         out.jwks_refresh = value;
       }},
      {"jwks_min_refresh", [&](const yaml::field_value& f) { yaml::read_duration(f, d, out.jwks_min_refresh); }},
      {"require_kid", [&](const yaml::field_value& f) { yaml::read_bool(f, d, out.require_kid); }},
      {"token_from",
       [&](const yaml::field_value& f) {
         token_from_node = f;
         out.token_from.clear();
         yaml::read_list(f, d, [&](const yaml::field_value& item) {
           ++token_sources_listed;
           parse_token_source(item, d, out.token_from);
         });
       }},
      {"clock_skew", [&](const yaml::field_value& f) { read_whole_seconds(f, d, out.clock_skew); }},
      {"max_lifetime",
       [&](const yaml::field_value& f) {
         duration value{};
         if (!read_whole_seconds(f, d, value)) return;
         if (value.count() == 0) return d.error(f.where, f.path + ": must be greater than zero");
         out.max_lifetime = value;
       }},
      {"require_claims", [&](const yaml::field_value& f) { yaml::read_string_list(f, d, out.require_claims); }},
      {"claims", [&](const yaml::field_value& f) { parse_claim_requirements(f, ctx, out.claims); }},
      {"headers", [&](const yaml::field_value& f) { parse_identity_headers(f, d, out.headers); }},
      {"payload_header",
       [&](const yaml::field_value& f) {
         std::string name;
         if (yaml::read_string(f, d, name) && check_identity_header(f, name, f.where, d)) out.payload_header = name;
       }},
      {"forward_token", [&](const yaml::field_value& f) { yaml::read_bool(f, d, out.forward_token); }},
      {"backchannel_logout",
       [&](const yaml::field_value& f) {
         auto& b = out.backchannel_logout.emplace();
         b.where = f.where;
         parse_backchannel_logout(f, ctx, b);
       }},
  }};
  if (!yaml::read_fields(v, fields, d)) return;

  if (!has_algorithms) d.error(out.where, v.path + ": algorithms is required (the pinned list of accepted algorithms)");
  else if (algorithms_listed == 0 && algorithms_is_list)
    d.error(out.algorithms_where, v.path + ".algorithms: list at least one algorithm");
  if (out.discovery && !out.issuer)
    d.error(discovery_node->where, discovery_node->path + ": discovery needs an issuer");
  if (out.keys.empty() && !out.discovery)
    d.error(out.where, v.path + ": no key source: add keys (secret_env, secret_file, public_key_file, jwks_file, "
                              "jwks_url) or discovery: true");
  if (token_from_node && token_sources_listed == 0 && !token_from_node->node.IsScalar() &&
      !token_from_node->node.IsMap())
    d.error(token_from_node->where, token_from_node->path + ": list at least one token source");
  for (const key_source& k : out.keys)
    if (k.algorithm && !out.algorithms.empty() && !out.algorithms.contains(*k.algorithm))
      d.error(k.alg_where, v.path + ": key alg " + std::string(jose::to_string(*k.algorithm)) +
                               " is not in the provider's algorithms");
}

}  // namespace

void parse_providers(const yaml::field_value& v, const parse_context& ctx, std::vector<provider_config>& out) {
  yaml::read_named_entries(v, ctx.diag, [&](const std::string& name, mark name_where, const yaml::field_value& value) {
    if (!is_valid_name(name)) {
      ctx.diag.error(name_where, "invalid provider name '" + name + "': use letters, digits, '.', '_' and '-'");
      return;
    }
    provider_config& p = out.emplace_back();
    p.name = name;
    p.where = name_where;
    parse_provider(value, ctx, p);
  });
}

}  // namespace jwtgate::config
