#include "jwtgate/proxy/flat_head.h"

namespace jwtgate::proxy {

std::string_view flat_head::joined(int id, std::string& storage) const {
  const entry* single = nullptr;
  std::size_t n = 0;
  for (const auto& e : entries_) {
    if (e.id != id) continue;
    if (n++ == 0) single = &e;
  }
  if (n == 0) return {};
  if (n == 1) return value(*single);
  storage.clear();
  for (const auto& e : entries_) {
    if (e.id != id) continue;
    if (!storage.empty()) storage.append(", ");
    storage.append(value(e));
  }
  return storage;
}

}  // namespace jwtgate::proxy
