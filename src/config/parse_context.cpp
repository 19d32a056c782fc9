#include "config/parse_context.h"

#include "config/validators.h"

namespace jwtgate::config {

std::string parse_context::resolve(const std::string& path) const {
  std::filesystem::path p(path);
  if (p.is_absolute() || base_dir.empty()) return p.lexically_normal().string();
  return (base_dir / p).lexically_normal().string();
}

bool parse_context::read_readable_file(const yaml::field_value& v, std::string& out) const {
  std::string path;
  if (!yaml::read_string(v, diag, path)) return false;
  std::string resolved = resolve(path), error;
  if (!is_readable_file(resolved, error)) {
    diag.error(v.where, v.path + ": " + error);
    return false;
  }
  out = std::move(resolved);
  return true;
}

}  // namespace jwtgate::config
