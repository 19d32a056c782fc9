#include "jwtgate/auth/thread_context.h"

#include "thread_context_impl.h"

namespace jwtgate::auth {

thread_context::thread_context(std::size_t cache_entries) : impl_(std::make_unique<impl>(cache_entries)) {}

thread_context::~thread_context() = default;

thread_context::cache_counts thread_context::token_cache_counts() const noexcept {
  return {impl_->cache.hits(), impl_->cache.misses()};
}

void thread_context::set_revocations(std::shared_ptr<const revocation::revocation_set> set) noexcept {
  impl_->revocations = std::move(set);
}

const std::shared_ptr<const revocation::revocation_set>& thread_context::revocations() const noexcept {
  return impl_->revocations;
}

}  // namespace jwtgate::auth
