#include "jwtgate/revocation/revocation_set.h"

#include <bit>
#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <unordered_map>

namespace jwtgate::revocation {
namespace {

std::uint64_t load64(const char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

std::uint64_t fold(std::uint64_t a, std::uint64_t b) noexcept {
  unsigned __int128 m = static_cast<unsigned __int128>(a) * b;
  return static_cast<std::uint64_t>(m) ^ static_cast<std::uint64_t>(m >> 64);
}

constexpr std::size_t huge_page = 2u << 20;

}  // namespace

void table::free_slots::operator()(std::uint64_t* p) const noexcept { std::free(p); }

std::uint64_t hash_value(std::string_view s) noexcept {
  constexpr std::uint64_t k0 = 0xa0761d6478bd642full, k1 = 0xe7037ed1a0b428dbull, k2 = 0x8ebc6af09c88c6e3ull;
  const char* p = s.data();
  std::size_t n = s.size();
  std::uint64_t h = k0 ^ (n * k1);
  while (n >= 16) {
    h = fold(load64(p) ^ k1, load64(p + 8) ^ h);
    p += 16;
    n -= 16;
  }
  std::uint64_t a = 0, b = 0;
  if (n >= 8) {
    a = load64(p);
    b = load64(p + n - 8);
  } else if (n > 0) {
    std::memcpy(&a, p, n);
  }
  return fold(h ^ k2, fold(a ^ k1, b ^ k0 ^ h));
}

void token_facts::set(kind k, std::string v) {
  std::uint64_t h = hash_value(v);
  switch (k) {
    case kind::jti: jti = std::move(v); jti_hash = h; break;
    case kind::sub: sub = std::move(v); sub_hash = h; break;
    case kind::sid: sid = std::move(v); sid_hash = h; break;
  }
}

table::builder::builder(std::size_t expected) : t_(std::make_shared<table>()) {
  t_->records_.reserve(expected);
  hashes_.reserve(expected);
}

void table::builder::add(kind k, std::string_view value, std::string_view iss, std::int64_t before,
                         std::int64_t exp) {
  std::uint32_t iss_index = 0;
  if (!iss.empty()) {
    auto [it, added] = issuer_index_.try_emplace(std::string(iss), static_cast<std::uint32_t>(t_->issuers_.size()));
    if (added) t_->issuers_.emplace_back(iss);
    iss_index = it->second;
  }
  record r{static_cast<std::uint32_t>(t_->arena_.size()), static_cast<std::uint32_t>(value.size()), iss_index, k,
           before, exp};
  t_->arena_.append(value);
  t_->records_.push_back(r);
  hashes_.push_back(hash_value(value));
  ++t_->counts_[static_cast<std::size_t>(k)];
  t_->earliest_exp_ = std::min(t_->earliest_exp_, exp);
}

std::shared_ptr<const table> table::builder::finish() {
  auto t = std::move(t_);
  std::size_t n = t->records_.size();
  std::size_t slots = std::bit_ceil(std::max<std::size_t>(16, n * 2));
  std::size_t bytes = slots * sizeof(std::uint64_t);
  void* mem = bytes >= huge_page ? std::aligned_alloc(huge_page, bytes) : std::malloc(bytes);
  if (mem == nullptr) throw std::bad_alloc();
  if (bytes >= huge_page) ::madvise(mem, bytes, MADV_HUGEPAGE);  // advice only: fine if refused
  std::memset(mem, 0, bytes);
  t->slots_.reset(static_cast<std::uint64_t*>(mem));
  t->slot_count_ = slots;
  t->mask_ = slots - 1;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint64_t kh = mix(hashes_[i], t->records_[i].type);
    std::uint64_t tag = (kh >> 32) | 1u;
    std::size_t at = kh & t->mask_;
    while (t->slots_[at] != 0) at = (at + 1) & t->mask_;
    t->slots_[at] = (tag << 32) | (i + 1);
  }
  t->arena_.shrink_to_fit();
  t->records_.shrink_to_fit();
  hashes_.clear();
  hashes_.shrink_to_fit();
  issuer_index_.clear();
  t_ = std::make_shared<table>();
  return t;
}

entry table::to_entry(const record& r) const {
  entry e;
  e.type = r.type;
  e.value = value(r);
  e.iss = issuer(r);
  e.before = r.before;
  e.exp = r.exp;
  return e;
}

std::size_t table::memory_bytes() const noexcept {
  std::size_t n = slot_count_ * sizeof(std::uint64_t) + records_.capacity() * sizeof(record) + arena_.capacity();
  for (const auto& s : issuers_) n += sizeof(std::string) + s.capacity();
  return n;
}

const table::record* table::find(kind k, std::string_view v, std::string_view iss) const noexcept {
  const record* found = nullptr;
  for_each_match(k, v, hash_value(v), [&](const record& r) {
    if (issuer(r) != iss) return false;
    found = &r;
    return true;
  });
  return found;
}

revocation_set::revocation_set(std::shared_ptr<const table> base, std::shared_ptr<const table> delta, bool unavailable)
    : base_(std::move(base)), delta_(std::move(delta)), unavailable_(unavailable) {
  if (base_ && base_->size() == 0) base_.reset();
  if (delta_ && delta_->size() == 0) delta_.reset();
}

bool revocation_set::matches(kind k, std::string_view v, std::uint64_t h, const token_facts& t,
                             std::int64_t now) const noexcept {
  auto applies = [&](const table& tab, const table::record& r) {
    if (r.exp <= now) return false;
    if (r.iss != 0 && tab.issuer(r) != t.iss) return false;
    // A token without iat counts as issued before (SPEC 8).
    if (k == kind::sub && t.has_iat && t.iat >= static_cast<double>(r.before)) return false;
    return true;
  };
  if (delta_ && delta_->for_each_match(k, v, h, [&](const table::record& r) { return applies(*delta_, r); }))
    return true;
  if (base_ && base_->for_each_match(k, v, h, [&](const table::record& r) {
        if (!applies(*base_, r)) return false;
        // A newer entry with the same identity in the delta replaces this one.
        return !(delta_ && delta_->find(k, v, base_->issuer(r)));
      }))
    return true;
  return false;
}

jose::status revocation_set::check(const token_facts& t, std::int64_t now) const noexcept {
  if (unavailable_) return jose::status::revocation_unavailable;
  if (!t.jti.empty() && matches(kind::jti, t.jti, t.jti_hash, t, now)) return jose::status::revoked;
  if (!t.sub.empty() && matches(kind::sub, t.sub, t.sub_hash, t, now)) return jose::status::revoked;
  if (!t.sid.empty() && matches(kind::sid, t.sid, t.sid_hash, t, now)) return jose::status::revoked;
  return jose::status::ok;
}

std::size_t revocation_set::count(kind k) const noexcept {
  std::size_t n = delta_ ? delta_->count(k) : 0;
  if (!base_) return n;
  n += base_->count(k);
  if (delta_)
    for (const auto& r : delta_->records())
      if (r.type == k && base_->find(k, delta_->value(r), delta_->issuer(r))) --n;
  return n;
}

std::size_t revocation_set::size() const noexcept {
  return count(kind::jti) + count(kind::sub) + count(kind::sid);
}

}  // namespace jwtgate::revocation
