#pragma once
// The per-thread verified-token cache (SPEC section 7): a token seen again skips
// parsing, the signature and the claim checks. One per event loop, never shared,
// so it has no locks.
//
// An entry is keyed by the full token bytes (a hash picks the bucket, the whole
// token is compared, so a token differing in one byte never hits). It is only
// used when, at lookup time:
//  - the provider that verified it is the same object,
//  - that provider's current key set is the very set it was verified with (the
//    entry holds a reference to it, so the address cannot be reused by a new
//    set) and the key store's generation has not moved,
//  - the snapshot is the same (a reload drops everything),
//  - `now` is still before the token's exp + clock_skew.
// Eviction is least-recently-used; capacity 0 disables the cache.

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include <boost/json/object.hpp>

#include "jwtgate/config/snapshot.h"
#include "jwtgate/jose/key_set.h"
#include "jwtgate/revocation/revocation_set.h"

namespace jwtgate::auth {

// What the decision needs from a verified token; shared, never modified.
struct verified_token {
  boost::json::object payload;
  std::string subject;  // `sub` when it is a string
  revocation::token_facts revocation;  // jti, sub, sid, iss, iat, hashed once
};

// The identity of the verification an entry stands for.
// The provider's live verification state, for insert().
struct verification_stamp;
verification_stamp live_stamp(const config::snapshot& snap, const config::provider& provider);

struct verification_stamp {
  const config::snapshot* snap = nullptr;
  const config::provider* provider = nullptr;
  std::shared_ptr<const jose::key_set> keys;
  std::uint64_t generation = 0;
};

class token_cache {
 public:
  explicit token_cache(std::size_t capacity) : capacity_(capacity) {}

  struct hit {
    const config::provider* provider;
    std::shared_ptr<const verified_token> token;
  };

  // The entry for `token` when it may be used now: verified by one of
  // `candidates` (the providers allowed to judge this request, all from `snap`),
  // whose key store still publishes the same key set at the same generation,
  // under this same snapshot, and not past exp + skew. A stale entry is dropped.
  std::optional<hit> find(const config::snapshot& snap, std::string_view token, std::int64_t now_unix,
                          std::span<const config::provider* const> candidates);

  // `valid_until`: the entry is used while now < valid_until (exp + skew);
  // nullopt when the token has no exp.
  void insert(std::string_view token, verification_stamp stamp, std::optional<double> valid_until,
              std::shared_ptr<const verified_token> verified);

  std::size_t size() const noexcept { return index_.size(); }
  // Lookups answered from the cache, and lookups that were not (both 0 while disabled).
  std::uint64_t hits() const noexcept { return hits_; }
  std::uint64_t misses() const noexcept { return misses_; }
  std::size_t capacity() const noexcept { return capacity_; }
  void clear() noexcept;

 private:
  struct entry {
    std::string token;
    verification_stamp stamp;
    std::optional<double> valid_until;
    std::shared_ptr<const verified_token> verified;
  };
  using entry_list = std::list<entry>;

  void erase(std::unordered_map<std::string_view, entry_list::iterator>::iterator it);

  std::optional<hit> lookup(const config::snapshot& snap, std::string_view token, std::int64_t now_unix,
                            std::span<const config::provider* const> candidates);

  std::size_t capacity_;
  std::uint64_t hits_ = 0;
  std::uint64_t misses_ = 0;
  const config::snapshot* snap_ = nullptr;  // the snapshot every entry belongs to
  entry_list lru_;  // front: most recently used
  // Keys view the token strings owned by the entries in lru_.
  std::unordered_map<std::string_view, entry_list::iterator> index_;
};

}  // namespace jwtgate::auth
