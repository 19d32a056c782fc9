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
//
// Lookups, inserts and evictions are O(1) whatever the size: the entries sit
// in one array, linked in LRU order by index, found through an open-addressing
// table of (entry, hash tag) slots. An entry costs its token bytes, its share
// of the payload, and about 100 bytes of bookkeeping (see README, Benchmarks).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

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

  std::size_t size() const noexcept { return size_; }
  // Lookups answered from the cache, and lookups that were not (both 0 while disabled).
  std::uint64_t hits() const noexcept { return hits_; }
  std::uint64_t misses() const noexcept { return misses_; }
  std::size_t capacity() const noexcept { return capacity_; }
  void clear() noexcept;

 private:
  static constexpr std::uint32_t none = UINT32_MAX;
  struct entry {
    std::unique_ptr<char[]> token;  // the full token bytes
    std::uint32_t token_size = 0;
    std::uint32_t newer = none;  // LRU neighbours, by index into entries_
    std::uint32_t older = none;
    std::uint64_t hash = 0;
    // The verification stamp, without its snapshot: every entry belongs to snap_.
    const config::provider* provider = nullptr;
    std::shared_ptr<const jose::key_set> keys;
    std::uint64_t generation = 0;
    double valid_until = 0;  // +infinity: the token has no exp
    std::shared_ptr<const verified_token> verified;

    std::string_view bytes() const noexcept { return {token.get(), token_size}; }
  };
  struct slot {
    std::uint32_t entry = none;  // none: empty
    std::uint32_t tag = 0;       // the hash's high half, to skip most entries unread
  };

  std::optional<hit> lookup(const config::snapshot& snap, std::string_view token, std::int64_t now_unix,
                            std::span<const config::provider* const> candidates);
  std::size_t find_slot(std::string_view token, std::uint64_t hash) const noexcept;  // slots_.size(): absent
  void remove(std::size_t slot_index);  // the entry goes to the free list
  void unlink(std::uint32_t e) noexcept;
  void push_front(std::uint32_t e) noexcept;
  void place(std::uint32_t e);
  void grow();

  std::size_t capacity_;
  std::uint64_t hits_ = 0;
  std::uint64_t misses_ = 0;
  const config::snapshot* snap_ = nullptr;  // the snapshot every entry belongs to
  std::vector<entry> entries_;
  std::vector<std::uint32_t> free_;  // indexes of unused entries_
  std::vector<slot> slots_;          // power-of-two size, at most half full
  std::size_t size_ = 0;
  std::uint32_t newest_ = none;
  std::uint32_t oldest_ = none;
};

}  // namespace jwtgate::auth
