#pragma once
// The state behind auth::thread_context, visible to the auth module only.

#include "jwtgate/auth/thread_context.h"
#include "jwtgate/auth/token_cache.h"

namespace jwtgate::auth {

struct thread_context::impl {
  explicit impl(std::size_t cache_entries) : cache(cache_entries) {}
  token_cache cache;
  std::shared_ptr<const revocation::revocation_set> revocations;
};

}  // namespace jwtgate::auth
