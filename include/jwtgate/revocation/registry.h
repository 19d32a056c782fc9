#pragma once
// The authoritative entries of one instance, on the control loop: adds,
// removals, expiry and full replacement (a Redis resync) produce a new
// immutable revocation_set, which the owner publishes to the event loops.

#include <cstdint>
#include <memory>
#include <vector>

#include "jwtgate/revocation/entry.h"
#include "jwtgate/revocation/revocation_set.h"

namespace jwtgate::revocation {

class registry {
 public:
  registry();

  // Adds or replaces the entry with e's identity.
  void upsert(entry e);
  // Removes the entry with e's identity (before/exp ignored); false: none.
  bool remove(const entry& e);
  // Replaces everything (a full read of the store).
  void replace_all(std::shared_ptr<const table> all);
  // Drops expired entries; true when something was dropped.
  bool purge(std::int64_t now);
  // on_store_error: deny while the store is away.
  void set_unavailable(bool unavailable);

  const std::shared_ptr<const revocation_set>& current() const noexcept { return current_; }
  const entry* find_pending(const entry& e) const noexcept;
  std::size_t size() const noexcept { return current_->size(); }

 private:
  void rebuild_delta();
  // Folds the delta into a new base, leaving out expired records and `skip`.
  void merge(std::int64_t now, const entry* skip);
  void publish();

  std::shared_ptr<const table> base_;
  std::vector<entry> pending_;  // the delta, as entries
  std::shared_ptr<const table> delta_;
  bool unavailable_ = false;
  std::shared_ptr<const revocation_set> current_;
};

}  // namespace jwtgate::revocation
