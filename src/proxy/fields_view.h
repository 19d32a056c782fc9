#pragma once
// auth::header_view over a received flat_head: the auth pipeline reads the
// request head without knowing how it was parsed. Lookups are case-insensitive.

#include "jwtgate/auth/decision.h"
#include "jwtgate/proxy/flat_head.h"
#include "jwtgate/util/ascii.h"

namespace jwtgate::proxy {

class fields_view final : public auth::header_view {
 public:
  explicit fields_view(const flat_head& h) noexcept : head_(h) {}

  std::size_t count(std::string_view name) const override { return head_.count(name); }

  void for_each(std::string_view name, const std::function<void(std::string_view)>& f) const override {
    for (const auto& e : head_.entries())
      if (util::iequals(head_.name(e), name)) f(head_.value(e));
  }

 private:
  const flat_head& head_;
};

}  // namespace jwtgate::proxy
