#pragma once
// auth::header_view over Beast's http::fields: the auth pipeline reads the
// request head without knowing Beast. Lookups are case-insensitive, as
// http::fields already is.

#include <boost/beast/http/fields.hpp>

#include "jwtgate/auth/decision.h"

namespace jwtgate::proxy {

class fields_view final : public auth::header_view {
 public:
  explicit fields_view(const boost::beast::http::fields& f) noexcept : fields_(f) {}

  std::size_t count(std::string_view name) const override { return fields_.count(name); }

  void for_each(std::string_view name, const std::function<void(std::string_view)>& f) const override {
    auto range = fields_.equal_range(name);
    for (auto it = range.first; it != range.second; ++it) f(it->value());
  }

 private:
  const boost::beast::http::fields& fields_;
};

}  // namespace jwtgate::proxy
