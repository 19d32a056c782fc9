#pragma once
// What every section parser shares: the diagnostics sink and the directory that
// relative file paths are resolved against.

#include <filesystem>
#include <string>

#include "config/diagnostics.h"
#include "config/yaml_fields.h"

namespace jwtgate::config {

struct parse_context {
  diagnostics& diag;
  std::filesystem::path base_dir;  // the config file's directory

  // Relative paths are taken from the config file's directory, not the cwd.
  std::string resolve(const std::string& path) const;

  // Reads a path field, resolves it and checks that the file can be read.
  bool read_readable_file(const yaml::field_value& v, std::string& out) const;
};

// One parser per section of the file; each reports into ctx.diag and fills `out`
// as far as it can.
void parse_listen(const yaml::field_value& v, const parse_context& ctx, listen_config& out);
void parse_admin(const yaml::field_value& v, const parse_context& ctx, admin_config& out);
void parse_server(const yaml::field_value& v, const parse_context& ctx, server_config& out);
void parse_upstreams(const yaml::field_value& v, const parse_context& ctx, std::vector<upstream_config>& out);
void parse_providers(const yaml::field_value& v, const parse_context& ctx, std::vector<provider_config>& out);
void parse_forward_auth(const yaml::field_value& v, const parse_context& ctx, forward_auth_config& out);
void parse_routes(const yaml::field_value& v, const parse_context& ctx, std::vector<route_config>& out);
void parse_revocation(const yaml::field_value& v, const parse_context& ctx, revocation_config& out);
void parse_backchannel_logout(const yaml::field_value& v, const parse_context& ctx, backchannel_logout_config& out);
// `tls:` of an upstream (and of a rediss:// revocation store).
void parse_upstream_tls(const yaml::field_value& v, const parse_context& ctx, upstream_tls& out);

// `claims:` of a provider or a route: dotted path -> scalar or list of scalars.
void parse_claim_requirements(const yaml::field_value& v, const parse_context& ctx,
                              std::vector<jose::claim_requirement>& out);

// The whole document. Never throws: YAML syntax errors become diagnostics.
void parse_document(std::string_view yaml_text, const parse_context& ctx, config& out);

}  // namespace jwtgate::config
