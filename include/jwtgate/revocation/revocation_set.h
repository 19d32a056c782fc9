#pragma once
// The revocation entries as the request path reads them: immutable, shared by
// every event loop through std::shared_ptr<const revocation_set>, replaced as a
// whole. A lookup hashes the token's jti, sub and sid once (when the token is
// verified) and probes an open-addressing table per kind present: no lock, no
// allocation, and one cache line per probe for a token that is not revoked.
//
// A set is a large `base` table plus a small `delta` of recent additions, so
// that one more entry costs a copy of the delta, not of a million entries. The
// registry (registry.h) merges the delta into the base when it grows.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "jwtgate/jose/status.h"
#include "jwtgate/revocation/entry.h"

namespace jwtgate::revocation {

// A fast 64-bit hash of a claim value. Fixed (unseeded): the values hashed come
// from verified tokens and from entries only an operator or the identity
// provider can write, so nobody outside can aim collisions at the table.
std::uint64_t hash_value(std::string_view s) noexcept;

// What the check needs of a verified token, computed once per verification
// (the verified-token cache keeps it).
struct token_facts {
  std::string jti, sub, sid, iss;  // empty: absent or not a string
  bool has_iat = false;
  double iat = 0;
  std::uint64_t jti_hash = 0, sub_hash = 0, sid_hash = 0;

  void set(kind k, std::string value);
};

class table {
 public:
  struct record {
    std::uint32_t value_offset;
    std::uint32_t value_size;
    std::uint32_t iss;  // index into issuers(); 0 is "any issuer"
    kind type;
    std::int64_t before;
    std::int64_t exp;
  };

  class builder {
   public:
    explicit builder(std::size_t expected = 0);
    void add(kind k, std::string_view value, std::string_view iss, std::int64_t before, std::int64_t exp);
    void add(const entry& e) { add(e.type, e.value, e.iss, e.before, e.exp); }
    std::shared_ptr<const table> finish();

   private:
    std::shared_ptr<table> t_;
    std::vector<std::uint64_t> hashes_;
    std::unordered_map<std::string, std::uint32_t> issuer_index_;
  };

  std::size_t size() const noexcept { return records_.size(); }
  std::size_t count(kind k) const noexcept { return counts_[static_cast<std::size_t>(k)]; }
  const std::vector<record>& records() const noexcept { return records_; }
  std::string_view value(const record& r) const noexcept { return {arena_.data() + r.value_offset, r.value_size}; }
  std::string_view issuer(const record& r) const noexcept { return issuers_[r.iss]; }
  entry to_entry(const record& r) const;
  std::size_t memory_bytes() const noexcept;
  std::int64_t earliest_exp() const noexcept { return earliest_exp_; }  // INT64_MAX when empty

  // Calls f(record) for each record of kind k and value `v` (hash h) until f
  // returns true; returns whether one did.
  template <class F>
  bool for_each_match(kind k, std::string_view v, std::uint64_t h, F&& f) const noexcept {
    if (slot_count_ == 0 || counts_[static_cast<std::size_t>(k)] == 0) return false;
    std::uint64_t kh = mix(h, k);
    std::uint32_t tag = static_cast<std::uint32_t>(kh >> 32) | 1u;
    for (std::size_t i = kh & mask_;; i = (i + 1) & mask_) {
      std::uint64_t slot = slots_[i];
      if (slot == 0) return false;
      if (static_cast<std::uint32_t>(slot >> 32) != tag) continue;
      const record& r = records_[static_cast<std::uint32_t>(slot) - 1];
      if (r.type == k && value(r) == v && f(r)) return true;
    }
  }

  // The record with exactly this identity, or nullptr.
  const record* find(kind k, std::string_view v, std::string_view iss) const noexcept;

  static std::uint64_t mix(std::uint64_t h, kind k) noexcept {
    h ^= (static_cast<std::uint64_t>(k) + 1) * 0x9e3779b97f4a7c15ull;
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 29;
    return h;
  }

 private:
  struct free_slots {
    void operator()(std::uint64_t* p) const noexcept;
  };
  // (tag << 32) | (record index + 1); 0: empty. Large tables sit on huge pages:
  // a probe into a million entries then costs a cache miss, not a TLB miss too.
  std::unique_ptr<std::uint64_t[], free_slots> slots_;
  std::size_t slot_count_ = 0;
  std::size_t mask_ = 0;
  std::vector<record> records_;
  std::string arena_;
  std::vector<std::string> issuers_{""};
  std::size_t counts_[kind_count] = {0, 0, 0};
  std::int64_t earliest_exp_ = INT64_MAX;
};

class revocation_set {
 public:
  revocation_set(std::shared_ptr<const table> base, std::shared_ptr<const table> delta, bool unavailable);

  // ok, revoked, or revocation_unavailable (on_store_error: deny while the
  // store is away). Entries past their exp never match.
  jose::status check(const token_facts& t, std::int64_t now) const noexcept;

  std::size_t size() const noexcept;  // entries, shadowed base records excluded
  std::size_t count(kind k) const noexcept;
  bool unavailable() const noexcept { return unavailable_; }
  const std::shared_ptr<const table>& base() const noexcept { return base_; }
  const std::shared_ptr<const table>& delta() const noexcept { return delta_; }

  // Every live entry (delta wins over base for the same identity).
  template <class F>
  void for_each(std::int64_t now, F&& f) const {
    for (const auto* t : {delta_.get(), base_.get()}) {
      if (t == nullptr) continue;
      for (const auto& r : t->records()) {
        if (r.exp <= now) continue;
        if (t == base_.get() && delta_ && delta_->find(r.type, t->value(r), t->issuer(r))) continue;
        f(*t, r);
      }
    }
  }

 private:
  bool matches(kind k, std::string_view v, std::uint64_t h, const token_facts& t, std::int64_t now) const noexcept;

  std::shared_ptr<const table> base_;
  std::shared_ptr<const table> delta_;
  bool unavailable_ = false;
};

}  // namespace jwtgate::revocation
