// `claims:` requirements, shared by providers and routes.

#include "config/parse_context.h"

namespace jwtgate::config {
namespace {

bool is_valid_claim_path(const std::string& path) {
  if (path.empty() || path.front() == '.' || path.back() == '.') return false;
  return path.find("..") == std::string::npos;
}

}  // namespace

void parse_claim_requirements(const yaml::field_value& v, const parse_context& ctx,
                              std::vector<jose::claim_requirement>& out) {
  auto& d = ctx.diag;
  yaml::read_named_entries(v, d, [&](const std::string& path, mark name_where, const yaml::field_value& value) {
    if (!is_valid_claim_path(path)) {
      d.error(name_where, v.path + ": invalid claim path '" + path + "' (dotted names, e.g. realm_access.roles)");
      return;
    }
    jose::claim_requirement req{path, {}};
    if (value.node.IsSequence()) {
      if (!yaml::read_string_list(value, d, req.any_of)) return;
      if (req.any_of.empty()) {
        d.error(value.where, value.path + ": an empty list can never match; list at least one value");
        return;
      }
    } else {
      // Scalars keep their YAML text: `true` and `3` match the JSON values true and 3.
      std::string scalar;
      if (!yaml::read_string(value, d, scalar, /*allow_empty=*/true)) return;
      req.any_of.push_back(std::move(scalar));
    }
    out.push_back(std::move(req));
  });
}

}  // namespace jwtgate::config
