// upstreams: name -> {url, timeouts, pool size, tls}.

#include <array>
#include <optional>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include "config/parse_context.h"
#include "config/url_host.h"
#include "config/validators.h"
#include "jwtgate/config/units.h"

namespace jwtgate::config {
namespace {

// Fills https/host/port from the URL; reports the first thing wrong with it.
bool parse_upstream_url(const yaml::field_value& v, const parse_context& ctx, upstream_config& out) {
  auto& d = ctx.diag;
  std::string text;
  if (!yaml::read_string(v, d, text)) return false;
  auto fail = [&](const std::string& why) {
    d.error(v.where, v.path + ": invalid upstream URL '" + text + "': " + why);
    return false;
  };
  // parse_uri (not parse_absolute_uri) so that a fragment gets its own clear message.
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) return fail("not an absolute URL (" + parsed.error().message() + ")");
  const boost::urls::url_view url = *parsed;
  const auto scheme = url.scheme_id();
  if (scheme != boost::urls::scheme::http && scheme != boost::urls::scheme::https)
    return fail("the scheme must be http or https");
  if (!url.has_authority() || url.encoded_host().empty()) return fail("a host is required");
  if (url.has_userinfo()) return fail("credentials in the URL are not allowed");
  if (url.has_query()) return fail("a query is not allowed");
  if (url.has_fragment()) return fail("a fragment is not allowed");
  if (!url.encoded_path().empty() && url.encoded_path() != "/")
    return fail("a path is not allowed (the request path is forwarded as is)");

  std::string host;
  if (auto why = url_host(url, host); !why.empty()) return fail(why);

  const bool https = scheme == boost::urls::scheme::https;
  std::uint16_t port = https ? 443 : 80;
  if (url.has_port()) {
    std::string_view port_text(url.port().data(), url.port().size());
    std::uint64_t value = 0;
    std::string error;
    if (port_text.empty() || !parse_size(port_text, 65535, value, error) || value == 0)
      return fail("the port must be from 1 to 65535");
    port = static_cast<std::uint16_t>(value);
  }
  out.url = text;
  out.https = https;
  out.host = std::move(host);
  out.port = port;
  return true;
}

}  // namespace

void parse_upstream_tls(const yaml::field_value& v, const parse_context& ctx, upstream_tls& out) {
  auto& d = ctx.diag;
  const std::array<yaml::field, 3> fields{{
      {"ca_file", [&](const yaml::field_value& f) { ctx.read_readable_file(f, out.ca_file); }},
      {"verify",
       [&](const yaml::field_value& f) {
         if (yaml::read_bool(f, d, out.verify) && !out.verify)
           d.warning(f.where, f.path + ": the upstream's certificate is not verified");
       }},
      {"server_name",
       [&](const yaml::field_value& f) {
         std::string name;
         if (!yaml::read_string(f, d, name)) return;
         if (!is_valid_host(name)) return d.error(f.where, f.path + ": '" + name + "' is not a valid host name");
         out.server_name = name;
       }},
  }};
  yaml::read_fields(v, fields, d);
}

namespace {

void parse_upstream(const yaml::field_value& v, const parse_context& ctx, upstream_config& out) {
  auto& d = ctx.diag;
  bool has_url = false, url_ok = false;
  std::optional<yaml::field_value> tls_node;
  auto positive = [&](const yaml::field_value& f, duration& target) {
    duration value{};
    if (!yaml::read_duration(f, d, value)) return;
    if (value.count() == 0) return d.error(f.where, f.path + ": must be greater than zero");
    target = value;
  };
  const std::array<yaml::field, 6> fields{{
      {"url", [&](const yaml::field_value& f) { has_url = true; url_ok = parse_upstream_url(f, ctx, out); }},
      {"connect_timeout", [&](const yaml::field_value& f) { positive(f, out.connect_timeout); }},
      {"timeout", [&](const yaml::field_value& f) { positive(f, out.timeout); }},
      {"max_idle_connections", [&](const yaml::field_value& f) { yaml::read_count(f, d, 100'000, out.max_idle_connections); }},
      {"tls", [&](const yaml::field_value& f) { tls_node = f; parse_upstream_tls(f, ctx, out.tls); }},
      {"protocol",
       [&](const yaml::field_value& f) {
         std::string s;
         if (!yaml::read_string(f, d, s)) return;
         if (s == "http1") out.protocol = upstream_config::wire::http1;
         else if (s == "h2") out.protocol = upstream_config::wire::h2;
         else d.error(f.where, f.path + ": '" + s + "' is not a protocol (http1 or h2)");
       }},
  }};
  if (!yaml::read_fields(v, fields, d)) return;
  if (!has_url) d.error(v.where, v.path + ": url is required");
  if (tls_node && url_ok && !out.https)
    d.error(tls_node->where, tls_node->path + ": tls is only allowed with an https:// url");
}

}  // namespace

void parse_upstreams(const yaml::field_value& v, const parse_context& ctx, std::vector<upstream_config>& out) {
  yaml::read_named_entries(v, ctx.diag, [&](const std::string& name, mark name_where, const yaml::field_value& value) {
    if (!is_valid_name(name)) {
      ctx.diag.error(name_where, "invalid upstream name '" + name + "': use letters, digits, '.', '_' and '-'");
      return;
    }
    upstream_config& u = out.emplace_back();
    u.name = name;
    u.where = name_where;
    parse_upstream(value, ctx, u);
  });
}

}  // namespace jwtgate::config
