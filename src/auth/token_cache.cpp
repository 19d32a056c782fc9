#include "jwtgate/auth/token_cache.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>

namespace jwtgate::auth {
namespace {

std::uint64_t hash_of(std::string_view token) noexcept {
  std::uint64_t h = std::hash<std::string_view>{}(token);
  // Slot positions come from the low bits, tags from the high ones: mix both.
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

std::uint32_t tag_of(std::uint64_t h) noexcept { return static_cast<std::uint32_t>(h >> 32); }

}  // namespace

void token_cache::clear() noexcept {
  entries_.clear();
  free_.clear();
  slots_.clear();
  size_ = 0;
  newest_ = oldest_ = none;
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

std::size_t token_cache::find_slot(std::string_view token, std::uint64_t hash) const noexcept {
  if (slots_.empty()) return 0;
  const std::size_t mask = slots_.size() - 1;
  const std::uint32_t tag = tag_of(hash);
  for (std::size_t i = hash & mask; slots_[i].entry != none; i = (i + 1) & mask) {
    if (slots_[i].tag != tag) continue;
    const entry& e = entries_[slots_[i].entry];  // the whole token is compared
    if (e.hash == hash && e.bytes() == token) return i;
  }
  return slots_.size();
}

void token_cache::unlink(std::uint32_t e) noexcept {
  entry& x = entries_[e];
  (x.newer == none ? newest_ : entries_[x.newer].older) = x.older;
  (x.older == none ? oldest_ : entries_[x.older].newer) = x.newer;
  x.newer = x.older = none;
}

void token_cache::push_front(std::uint32_t e) noexcept {
  entry& x = entries_[e];
  x.newer = none;
  x.older = newest_;
  if (newest_ != none) entries_[newest_].newer = e;
  newest_ = e;
  if (oldest_ == none) oldest_ = e;
}

void token_cache::place(std::uint32_t e) {
  const std::size_t mask = slots_.size() - 1;
  const std::uint64_t h = entries_[e].hash;
  std::size_t i = h & mask;
  while (slots_[i].entry != none) i = (i + 1) & mask;
  slots_[i] = slot{e, tag_of(h)};
}

void token_cache::grow() {
  std::size_t n = std::max<std::size_t>(slots_.size() * 2, 16);
  slots_.assign(n, slot{});
  for (std::uint32_t e = newest_; e != none; e = entries_[e].older) place(e);
}

void token_cache::remove(std::size_t i) {
  const std::uint32_t e = slots_[i].entry;
  unlink(e);
  entry& x = entries_[e];
  x.token.reset();
  x.keys.reset();
  x.verified.reset();
  free_.push_back(e);
  --size_;
  // Backward-shift deletion: later slots of the same probe run move up, so
  // lookups never need tombstones.
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t j = (i + 1) & mask; slots_[j].entry != none; j = (j + 1) & mask) {
    const std::size_t home = entries_[slots_[j].entry].hash & mask;
    // Slot j may fill the hole at i when its home is not in (i, j] (cyclically).
    const bool stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
    if (stays) continue;
    slots_[i] = slots_[j];
    i = j;
  }
  slots_[i] = slot{};
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
  const std::size_t i = find_slot(token, hash_of(token));
  if (i >= slots_.size()) return std::nullopt;
  const std::uint32_t index = slots_[i].entry;
  const entry& e = entries_[index];
  bool usable = static_cast<double>(now_unix) < e.valid_until;
  // Only a provider of the live snapshot is dereferenced.
  bool candidate = std::find(candidates.begin(), candidates.end(), e.provider) != candidates.end();
  if (usable && candidate) {
    verification_stamp live = live_stamp(snap, *e.provider);
    usable = e.keys != nullptr && live.keys == e.keys && live.generation == e.generation;
  }
  if (!candidate && usable) return std::nullopt;  // another route's provider: keep it for that route
  if (!usable) {
    remove(i);
    return std::nullopt;
  }
  if (newest_ != index) {
    unlink(index);
    push_front(index);
  }
  return hit{e.provider, e.verified};
}

void token_cache::insert(std::string_view token, verification_stamp stamp, std::optional<double> valid_until,
                         std::shared_ptr<const verified_token> verified) {
  if (capacity_ == 0 || token.size() > std::numeric_limits<std::uint32_t>::max()) return;
  if (snap_ != stamp.snap) {
    clear();
    snap_ = stamp.snap;
  }
  const std::uint64_t h = hash_of(token);
  if (std::size_t i = find_slot(token, h); i < slots_.size()) remove(i);
  while (size_ >= capacity_ && oldest_ != none) remove(find_slot(entries_[oldest_].bytes(), entries_[oldest_].hash));
  if (2 * (size_ + 1) > slots_.size()) grow();

  std::uint32_t index;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else {
    index = static_cast<std::uint32_t>(entries_.size());
    entries_.emplace_back();
  }
  entry& e = entries_[index];
  e.token = std::make_unique_for_overwrite<char[]>(token.size());
  std::memcpy(e.token.get(), token.data(), token.size());
  e.token_size = static_cast<std::uint32_t>(token.size());
  e.hash = h;
  e.provider = stamp.provider;
  e.keys = std::move(stamp.keys);
  e.generation = stamp.generation;
  e.valid_until = valid_until ? *valid_until : std::numeric_limits<double>::infinity();
  e.verified = std::move(verified);
  ++size_;
  push_front(index);
  place(index);
}

}  // namespace jwtgate::auth
