// The top level of the file, and the boundary where yaml-cpp's exceptions stop.

#include <array>
#include <exception>

#include "config/parse_context.h"

namespace jwtgate::config {
namespace {

mark exception_mark(const YAML::Exception& e) {
  if (e.mark.line < 0 || e.mark.column < 0) return {};
  return {e.mark.line + 1, e.mark.column + 1};
}

}  // namespace

void parse_document(std::string_view yaml_text, const parse_context& ctx, config& out) {
  auto& d = ctx.diag;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    d.error(exception_mark(e), "invalid YAML: " + e.msg);
    return;
  }
  if (root.IsNull() || !root.IsDefined()) {
    d.error({}, "the configuration is empty");
    return;
  }
  bool has_routes = false;
  try {
    const std::array<yaml::field, 8> fields{{
        {"listen", [&](const yaml::field_value& f) { parse_listen(f, ctx, out.listen); }},
        {"admin", [&](const yaml::field_value& f) { parse_admin(f, ctx, out.admin.emplace()); }},
        {"server", [&](const yaml::field_value& f) { parse_server(f, ctx, out.server); }},
        {"upstreams", [&](const yaml::field_value& f) { parse_upstreams(f, ctx, out.upstreams); }},
        {"providers", [&](const yaml::field_value& f) { parse_providers(f, ctx, out.providers); }},
        {"forward_auth", [&](const yaml::field_value& f) { parse_forward_auth(f, ctx, out.forward_auth.emplace()); }},
        {"revocation",
         [&](const yaml::field_value& f) {
           auto& r = out.revocation.emplace();
           r.where = f.where;
           parse_revocation(f, ctx, r);
         }},
        {"routes",
         [&](const yaml::field_value& f) {
           has_routes = true;
           parse_routes(f, ctx, out.routes);
         }},
    }};
    const yaml::field_value top{root, "", yaml::mark_of(root, {1, 1})};
    if (!yaml::read_fields(top, fields, d)) return;
    if (!has_routes || out.routes.empty())
      d.error(has_routes ? top.where : mark{}, "routes: at least one route is required");
  } catch (const YAML::Exception& e) {
    // Node access does not throw on the paths above; this is the last line of defence.
    d.error(exception_mark(e), "invalid configuration: " + e.msg);
  } catch (const std::exception& e) {
    d.error({}, std::string("invalid configuration: ") + e.what());
  }
}

}  // namespace jwtgate::config
