#include "jwtgate/proxy/flat_head.h"

#include "jwtgate/util/ascii.h"

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

std::size_t flat_head::count(std::string_view name) const noexcept {
  std::size_t n = 0;
  for (const auto& e : entries_) n += util::iequals(this->name(e), name);
  return n;
}

std::string_view flat_head::operator[](std::string_view name) const noexcept {
  for (const auto& e : entries_)
    if (util::iequals(this->name(e), name)) return value(e);
  return {};
}

}  // namespace jwtgate::proxy
