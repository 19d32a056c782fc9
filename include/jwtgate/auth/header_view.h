#pragma once
// A protocol-neutral, read-only view of a request's header fields, so the auth
// pipeline works the same under HTTP/1.1 (Beast) and later HTTP/2 codecs.

#include <cstddef>
#include <functional>
#include <optional>
#include <string_view>

namespace jwtgate::auth {

// Read access to the request's header fields; names compare case-insensitively.
class header_view {
 public:
  virtual ~header_view() = default;
  virtual std::size_t count(std::string_view name) const = 0;
  // Calls f(value) for each field named `name`, in order.
  virtual void for_each(std::string_view name,
                        const std::function<void(std::string_view)>& f) const = 0;
  std::optional<std::string_view> first(std::string_view name) const;
};

}  // namespace jwtgate::auth
