#pragma once
// The live key set of one provider. Static sources (secrets, PEM files, JWKS
// files) are loaded once; JWKS URLs replace the set over time. Readers take a
// snapshot with current(); writers publish a whole new set atomically, so a
// request never sees a half-updated key set.

#include <atomic>
#include <cstdint>
#include <memory>

#include "jwtgate/jose/key_set.h"

namespace jwtgate::keys {

class key_store {
 public:
  explicit key_store(std::shared_ptr<const jose::key_set> initial)
      : current_(std::move(initial)) {}

  std::shared_ptr<const jose::key_set> current() const noexcept {
    return current_.load(std::memory_order_acquire);
  }

  // Bumps generation() so that per-thread verified-token caches drop entries
  // verified under an older set.
  void publish(std::shared_ptr<const jose::key_set> keys) noexcept {
    current_.store(std::move(keys), std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }

  std::uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }

 private:
  std::atomic<std::shared_ptr<const jose::key_set>> current_;
  std::atomic<std::uint64_t> generation_{0};
};

}  // namespace jwtgate::keys
