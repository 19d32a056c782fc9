#include "jwtgate/auth/header_view.h"

namespace jwtgate::auth {

std::optional<std::string_view> header_view::first(std::string_view name) const {
  std::optional<std::string_view> out;
  for_each(name, [&](std::string_view value) {
    if (!out) out = value;
  });
  return out;
}

}  // namespace jwtgate::auth
