#pragma once
// The live key set of one provider. Static sources (secrets, PEM files, JWKS
// files) are loaded once; JWKS URLs replace the set over time. Readers take a
// snapshot with current(); writers publish a whole new set atomically, so a
// request never sees a half-updated key set.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>

#include "jwtgate/jose/key_set.h"

namespace jwtgate::keys {

class key_store;

// Whoever fetches a provider's remote keys (the JWKS fetcher). Called from any
// event loop thread; must only hand the work over (post), never block.
class refresh_listener {
 public:
  virtual ~refresh_listener() = default;
  virtual void refresh_requested(key_store& store) noexcept = 0;
};

class key_store {
 public:
  explicit key_store(std::shared_ptr<const jose::key_set> initial)
      : current_(std::move(initial)), published_at_ms_(now_ms()) {}

  // The pointer is copied under a mutex, not through std::atomic<std::shared_ptr>:
  // libstdc++ 12's atomic<shared_ptr>::load() releases its internal lock bit
  // with memory_order_relaxed, so its read of the stored pointer is not ordered
  // before the next store()'s write of it (a data race in the C++ memory model,
  // reported by ThreadSanitizer; see README, Proof under faults). The critical
  // section is one reference count increment, as in that lock.
  std::shared_ptr<const jose::key_set> current() const noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    return current_;
  }

  // Bumps generation() so that per-thread verified-token caches drop entries
  // verified under an older set.
  void publish(std::shared_ptr<const jose::key_set> keys) noexcept {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      current_.swap(keys);
      generation_.fetch_add(1, std::memory_order_acq_rel);
    }
    published_at_ms_.store(now_ms(), std::memory_order_release);
    // `keys` now holds the previous set: it is released here, outside the lock.
  }

  std::uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }

  // steady_clock milliseconds of the last publish(), or of construction (the
  // keys loaded with the config); now_ms() - published_at_ms() is the set's age.
  std::int64_t published_at_ms() const noexcept { return published_at_ms_.load(std::memory_order_acquire); }

  // A token named a kid this store does not hold. At most one request per
  // `min_gap` reaches the listener, whatever the number of threads asking at
  // once (jwks_min_refresh: a flood of unknown kids causes one fetch).
  void request_refresh() noexcept {
    refresh_listener* l = listener_.load(std::memory_order_acquire);
    if (l == nullptr) return;
    std::int64_t now = now_ms();
    std::int64_t last = last_request_ms_.load(std::memory_order_relaxed);
    if (last != 0 && now - last < min_gap_ms_.load(std::memory_order_relaxed)) return;
    if (!last_request_ms_.compare_exchange_strong(last, now, std::memory_order_acq_rel)) return;
    l->refresh_requested(*this);
  }

  // Set by the fetcher before the snapshot holding this store is published;
  // nullptr detaches it (the fetcher stops before it goes away).
  void set_refresh_listener(refresh_listener* l, std::chrono::milliseconds min_gap) noexcept {
    min_gap_ms_.store(min_gap.count(), std::memory_order_relaxed);
    listener_.store(l, std::memory_order_release);
  }

  // The fetcher marks a successful fetch, so that an unknown kid right after a
  // periodic refresh does not cause another one within min_gap.
  void note_fetched() noexcept { last_request_ms_.store(now_ms(), std::memory_order_release); }

 static std::int64_t now_ms() noexcept {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

 private:

  mutable std::mutex mutex_;
  std::shared_ptr<const jose::key_set> current_;  // under mutex_
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<std::int64_t> published_at_ms_{0};
  std::atomic<refresh_listener*> listener_{nullptr};
  std::atomic<std::int64_t> min_gap_ms_{30000};
  std::atomic<std::int64_t> last_request_ms_{0};
};

}  // namespace jwtgate::keys
