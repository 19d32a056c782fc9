#pragma once
// X-Request-Id values: random 128-bit ids written like a version-4 UUID. One
// generator per event loop, so no state is shared between threads.

#include <cstdint>
#include <random>
#include <string>

namespace jwtgate::proxy {

class request_id_generator {
 public:
  explicit request_id_generator(std::uint64_t seed) : rng_(seed) {}
  // Seeds from std::random_device.
  request_id_generator();

  // "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", lower-case hex, 36 characters.
  std::string next();
  // The same, written over `out` (whose capacity is reused).
  void next(std::string& out);

 private:
  std::mt19937_64 rng_;
};

// Does `id` have the shape next() produces?
bool is_request_id(std::string_view id) noexcept;

}  // namespace jwtgate::proxy
