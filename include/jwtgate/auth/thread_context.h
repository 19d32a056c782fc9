#pragma once
// Per event loop auth state (the verified-token cache). One per thread, never
// shared, so the request path needs no locks.

#include <cstddef>
#include <cstdint>
#include <memory>

namespace jwtgate::revocation { class revocation_set; }

namespace jwtgate::auth {

class thread_context {
 public:
  explicit thread_context(std::size_t cache_entries);
  ~thread_context();
  thread_context(const thread_context&) = delete;
  thread_context& operator=(const thread_context&) = delete;

  // The verified-token cache's counters, for metrics (read on the owning thread).
  struct cache_counts {
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
  };
  cache_counts token_cache_counts() const noexcept;

  // The revocation entries this loop enforces (nullptr: revocation is off).
  // Replaced on the owning thread when the store publishes a new set.
  void set_revocations(std::shared_ptr<const revocation::revocation_set> set) noexcept;
  const std::shared_ptr<const revocation::revocation_set>& revocations() const noexcept;

  struct impl;
  impl& state() noexcept { return *impl_; }

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace jwtgate::auth
