#include "jwtgate/auth/token_cache.h"

#include <algorithm>

namespace jwtgate::auth {

void token_cache::clear() noexcept {
  index_.clear();
  lru_.clear();
}

void token_cache::erase(std::unordered_map<std::string_view, entry_list::iterator>::iterator it) {
  entry_list::iterator e = it->second;
  index_.erase(it);  // before the string its key views is destroyed
  lru_.erase(e);
}

verification_stamp live_stamp(const config::snapshot& snap, const config::provider& provider) {
  verification_stamp stamp;
  stamp.snap = &snap;
  stamp.provider = &provider;
  if (provider.keys) {
    stamp.generation = provider.keys->generation();
    stamp.keys = provider.keys->current();
  }
  return stamp;
}

std::optional<token_cache::hit> token_cache::find(const config::snapshot& snap, std::string_view token,
                                                  std::int64_t now_unix,
                                                  std::span<const config::provider* const> candidates) {
  if (capacity_ == 0) return std::nullopt;
  auto found = lookup(snap, token, now_unix, candidates);
  ++(found ? hits_ : misses_);
  return found;
}

std::optional<token_cache::hit> token_cache::lookup(const config::snapshot& snap, std::string_view token,
                                                    std::int64_t now_unix,
                                                    std::span<const config::provider* const> candidates) {
  if (snap_ != &snap) {
    // A reload: nothing verified under the old configuration is reused.
    clear();
    snap_ = &snap;
    return std::nullopt;
  }
  auto it = index_.find(token);  // hashes, then compares the whole token
  if (it == index_.end()) return std::nullopt;
  const entry& e = *it->second;
  bool usable = !e.valid_until || static_cast<double>(now_unix) < *e.valid_until;
  // Only a provider of the live snapshot is dereferenced.
  bool candidate = std::find(candidates.begin(), candidates.end(), e.stamp.provider) != candidates.end();
  if (usable && candidate) {
    verification_stamp live = live_stamp(snap, *e.stamp.provider);
    usable = e.stamp.keys != nullptr && live.keys == e.stamp.keys && live.generation == e.stamp.generation;
  }
  if (!candidate && usable) return std::nullopt;  // another route's provider: keep it for that route
  if (!usable) {
    erase(it);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  return hit{e.stamp.provider, e.verified};
}

void token_cache::insert(std::string_view token, verification_stamp stamp, std::optional<double> valid_until,
                         std::shared_ptr<const verified_token> verified) {
  if (capacity_ == 0) return;
  if (snap_ != stamp.snap) {
    clear();
    snap_ = stamp.snap;
  }
  if (auto it = index_.find(token); it != index_.end()) erase(it);
  while (index_.size() >= capacity_) {
    auto oldest = index_.find(std::string_view(lru_.back().token));
    erase(oldest);
  }
  lru_.push_front(entry{std::string(token), std::move(stamp), valid_until, std::move(verified)});
  index_.emplace(std::string_view(lru_.front().token), lru_.begin());
}

}  // namespace jwtgate::auth
