// revocation: {store, file, redis, on_store_error, default_ttl, admin_token_env}
// and a provider's backchannel_logout: {path, audiences} (SPEC section 8).

#include <array>
#include <cstdlib>
#include <optional>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include "config/parse_context.h"
#include "config/url_host.h"
#include "config/validators.h"
#include "jwtgate/config/units.h"

namespace jwtgate::config {
namespace {

bool is_env_name(std::string_view s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  for (char c : s)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

void read_env_name(const yaml::field_value& f, diagnostics& d, std::string& out) {
  std::string name;
  if (!yaml::read_string(f, d, name)) return;
  if (!is_env_name(name))
    return d.error(f.where, f.path + ": '" + name + "' is not an environment variable name");
  out = std::move(name);
}

// redis://HOST[:PORT][/DB] or rediss://...; credentials come from password_env.
void parse_redis_url(const yaml::field_value& v, diagnostics& d, redis_config& out) {
  std::string text;
  if (!yaml::read_string(v, d, text)) return;
  auto fail = [&](const std::string& why) { d.error(v.where, v.path + ": invalid Redis URL '" + text + "': " + why); };
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) return fail("not an absolute URL (" + parsed.error().message() + ")");
  const boost::urls::url_view url = *parsed;
  std::string scheme(url.scheme());
  if (scheme != "redis" && scheme != "rediss") return fail("the scheme must be redis or rediss");
  if (!url.has_authority() || url.encoded_host().empty()) return fail("a host is required");
  if (url.has_userinfo()) return fail("credentials in the URL are not allowed; use password_env");
  if (url.has_query() || url.has_fragment()) return fail("a query or fragment is not allowed");
  std::string host;
  if (auto why = url_host(url, host); !why.empty()) return fail(why);
  std::uint16_t port = 6379;
  if (url.has_port()) {
    std::uint64_t value = 0;
    std::string error;
    std::string_view p(url.port().data(), url.port().size());
    if (p.empty() || !parse_size(p, 65535, value, error) || value == 0) return fail("the port must be from 1 to 65535");
    port = static_cast<std::uint16_t>(value);
  }
  unsigned db = 0;
  std::string_view path(url.encoded_path().data(), url.encoded_path().size());
  if (!path.empty() && path != "/") {
    std::uint64_t value = 0;
    std::string error;
    if (!parse_size(path.substr(1), 1u << 20, value, error))
      return fail("the path must be a database number, such as /0");
    db = static_cast<unsigned>(value);
  }
  out.url = text;
  out.tls = scheme == "rediss";
  out.host = std::move(host);
  out.port = port;
  out.database = db;
}

void parse_redis(const yaml::field_value& v, const parse_context& ctx, redis_config& out) {
  auto& d = ctx.diag;
  std::optional<yaml::field_value> tls_node;
  const std::array<yaml::field, 5> fields{{
      {"url", [&](const yaml::field_value& f) { parse_redis_url(f, d, out); }},
      {"password_env",
       [&](const yaml::field_value& f) {
         read_env_name(f, d, out.password_env);
         const char* value = out.password_env.empty() ? nullptr : std::getenv(out.password_env.c_str());
         if (!out.password_env.empty() && (value == nullptr || *value == '\0'))
           d.error(f.where, f.path + ": the environment variable " + out.password_env + " is not set or empty");
       }},
      {"key_prefix", [&](const yaml::field_value& f) { yaml::read_string(f, d, out.key_prefix, true); }},
      {"timeout",
       [&](const yaml::field_value& f) {
         duration value{};
         if (!yaml::read_duration(f, d, value)) return;
         if (value.count() == 0) return d.error(f.where, f.path + ": must be greater than zero");
         out.timeout = value;
       }},
      {"tls", [&](const yaml::field_value& f) { tls_node = f; parse_upstream_tls(f, ctx, out.tls_options); }},
  }};
  if (!yaml::read_fields(v, fields, d)) return;
  if (tls_node && !out.tls) d.error(tls_node->where, tls_node->path + ": tls is only allowed with a rediss:// url");
}

}  // namespace

void parse_revocation(const yaml::field_value& v, const parse_context& ctx, revocation_config& out) {
  auto& d = ctx.diag;
  std::optional<yaml::field_value> file_node, redis_node;
  const std::array<yaml::field, 6> fields{{
      {"store",
       [&](const yaml::field_value& f) {
         std::string s;
         if (!yaml::read_string(f, d, s)) return;
         if (s == "local") out.store = revocation_config::store_kind::local;
         else if (s == "redis") out.store = revocation_config::store_kind::redis;
         else d.error(f.where, f.path + ": '" + s + "' is not a store (local or redis)");
       }},
      {"file",
       [&](const yaml::field_value& f) {
         file_node = f;
         std::string path;
         if (!yaml::read_string(f, d, path)) return;
         out.file = ctx.resolve(path);
       }},
      {"redis",
       [&](const yaml::field_value& f) {
         redis_node = f;
         out.redis.where = f.where;
         parse_redis(f, ctx, out.redis);
       }},
      {"on_store_error",
       [&](const yaml::field_value& f) {
         std::string s;
         if (!yaml::read_string(f, d, s)) return;
         if (s == "serve_last") out.on_store_error = revocation_config::error_policy::serve_last;
         else if (s == "deny") out.on_store_error = revocation_config::error_policy::deny;
         else d.error(f.where, f.path + ": '" + s + "' is not a policy (serve_last or deny)");
       }},
      {"default_ttl",
       [&](const yaml::field_value& f) {
         duration value{};
         if (!yaml::read_duration(f, d, value)) return;
         if (value < std::chrono::seconds(1)) return d.error(f.where, f.path + ": must be at least 1s");
         out.default_ttl = value;
       }},
      {"admin_token_env", [&](const yaml::field_value& f) { read_env_name(f, d, out.admin_token_env); }},
  }};
  if (!yaml::read_fields(v, fields, d)) return;
  const bool redis = out.store == revocation_config::store_kind::redis;
  if (redis && file_node)
    d.error(file_node->where, file_node->path + ": file applies to store: local only (Redis keeps the entries)");
  if (!redis && redis_node)
    d.error(redis_node->where, redis_node->path + ": redis applies to store: redis only");
}

void parse_backchannel_logout(const yaml::field_value& v, const parse_context& ctx, backchannel_logout_config& out) {
  auto& d = ctx.diag;
  bool has_path = false, has_audiences = false;
  const std::array<yaml::field, 2> fields{{
      {"path",
       [&](const yaml::field_value& f) {
         has_path = true;
         std::string path, why;
         if (!yaml::read_string(f, d, path)) return;
         if (!is_normalized_path(path, why)) return d.error(f.where, f.path + ": '" + path + "' " + why);
         out.path = std::move(path);
       }},
      {"audiences",
       [&](const yaml::field_value& f) {
         has_audiences = true;
         yaml::read_string_list(f, d, out.audiences);
         if (out.audiences.empty()) d.error(f.where, f.path + ": list at least one audience (your client id)");
       }},
  }};
  if (!yaml::read_fields(v, fields, d)) return;
  if (!has_path) d.error(v.where, v.path + ": path is required");
  if (!has_audiences) d.error(v.where, v.path + ": audiences is required (the client ids logout tokens are for)");
}

}  // namespace jwtgate::config
