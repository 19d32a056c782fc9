// listen, admin and server sections.

#include <array>

#include "config/parse_context.h"
#include "config/validators.h"

namespace jwtgate::config {
namespace {

void read_address(const yaml::field_value& v, const parse_context& ctx, std::string& out) {
  std::string address;
  if (!yaml::read_string(v, ctx.diag, address)) return;
  if (!is_ip_address(address)) {
    ctx.diag.error(v.where, v.path + ": '" + address + "' is not an IPv4 or IPv6 address");
    return;
  }
  out = address;
}

void parse_tls_files(const yaml::field_value& v, const parse_context& ctx, tls_files& out) {
  bool has_cert = false, has_key = false;
  const std::array<yaml::field, 2> fields{{
      {"cert_file", [&](const yaml::field_value& f) { has_cert = true; ctx.read_readable_file(f, out.cert_file); }},
      {"key_file", [&](const yaml::field_value& f) { has_key = true; ctx.read_readable_file(f, out.key_file); }},
  }};
  if (!yaml::read_fields(v, fields, ctx.diag)) return;
  if (!has_cert) ctx.diag.error(v.where, v.path + ": cert_file is required");
  if (!has_key) ctx.diag.error(v.where, v.path + ": key_file is required");
}

}  // namespace

void parse_listen(const yaml::field_value& v, const parse_context& ctx, listen_config& out) {
  const std::array<yaml::field, 4> fields{{
      {"address", [&](const yaml::field_value& f) { read_address(f, ctx, out.address); }},
      {"port", [&](const yaml::field_value& f) { yaml::read_port(f, ctx.diag, out.port); }},
      {"tls", [&](const yaml::field_value& f) { parse_tls_files(f, ctx, out.tls.emplace()); }},
      {"http2", [&](const yaml::field_value& f) { yaml::read_bool(f, ctx.diag, out.http2); }},
  }};
  yaml::read_fields(v, fields, ctx.diag);
}

void parse_admin(const yaml::field_value& v, const parse_context& ctx, admin_config& out) {
  const std::array<yaml::field, 2> fields{{
      {"address", [&](const yaml::field_value& f) { read_address(f, ctx, out.address); }},
      {"port", [&](const yaml::field_value& f) { yaml::read_port(f, ctx.diag, out.port); }},
  }};
  yaml::read_fields(v, fields, ctx.diag);
}

void parse_server(const yaml::field_value& v, const parse_context& ctx, server_config& out) {
  auto& d = ctx.diag;
  auto positive = [&](const yaml::field_value& f, duration& target) {
    duration value{};
    if (!yaml::read_duration(f, d, value)) return;
    if (value.count() == 0) return d.error(f.where, f.path + ": must be greater than zero");
    target = value;
  };
  const std::array<yaml::field, 11> fields{{
      {"threads", [&](const yaml::field_value& f) { yaml::read_count(f, d, 1024, out.threads); }},
      {"max_header_bytes",
       [&](const yaml::field_value& f) {
         std::uint64_t value = 0;
         if (!yaml::read_unsigned(f, d, 1u << 30, value)) return;
         if (value < 256) return d.error(f.where, f.path + ": must be at least 256 bytes");
         out.max_header_bytes = static_cast<std::size_t>(value);
       }},
      {"max_body_bytes", [&](const yaml::field_value& f) { yaml::read_unsigned(f, d, UINT64_MAX, out.max_body_bytes); }},
      {"header_timeout", [&](const yaml::field_value& f) { positive(f, out.header_timeout); }},
      {"idle_timeout", [&](const yaml::field_value& f) { positive(f, out.idle_timeout); }},
      {"drain_timeout", [&](const yaml::field_value& f) { yaml::read_duration(f, d, out.drain_timeout); }},
      {"max_connections",
       [&](const yaml::field_value& f) {
         std::uint64_t value = 0;
         if (!yaml::read_unsigned(f, d, 10'000'000, value)) return;
         if (value == 0) return d.error(f.where, f.path + ": must be greater than zero");
         out.max_connections = static_cast<std::size_t>(value);
       }},
      {"access_log",
       [&](const yaml::field_value& f) {
         std::string value;
         if (!yaml::read_string(f, d, value)) return;
         out.access_log = (value == "stdout" || value == "off") ? value : ctx.resolve(value);
       }},
      {"token_cache_entries", [&](const yaml::field_value& f) { yaml::read_count(f, d, 10'000'000, out.token_cache_entries); }},
      {"cpu_affinity", [&](const yaml::field_value& f) { yaml::read_bool(f, d, out.cpu_affinity); }},
      {"max_concurrent_streams",
       [&](const yaml::field_value& f) {
         std::uint64_t value = 0;
         if (!yaml::read_unsigned(f, d, 1u << 20, value)) return;
         if (value == 0) return d.error(f.where, f.path + ": must be greater than zero");
         out.max_concurrent_streams = static_cast<std::uint32_t>(value);
       }},
  }};
  yaml::read_fields(v, fields, d);
}

}  // namespace jwtgate::config
