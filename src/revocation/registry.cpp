#include "jwtgate/revocation/registry.h"

#include <algorithm>

namespace jwtgate::revocation {
namespace {

// The delta is copied on every add; past this size it is folded into the
// base. A sixty-fourth of the base keeps both the per-add copy and the
// amortized merge small.
std::size_t delta_limit(std::size_t base_size) noexcept {
  return std::clamp<std::size_t>(base_size / 64, 1024, 65536);
}

}  // namespace

registry::registry() { publish(); }

void registry::publish() { current_ = std::make_shared<const revocation_set>(base_, delta_, unavailable_); }

void registry::rebuild_delta() {
  table::builder b(pending_.size());
  for (const auto& e : pending_) b.add(e);
  delta_ = pending_.empty() ? nullptr : b.finish();
}

const entry* registry::find_pending(const entry& e) const noexcept {
  for (const auto& p : pending_)
    if (p.same_identity(e)) return &p;
  return nullptr;
}

void registry::upsert(entry e) {
  auto it = std::find_if(pending_.begin(), pending_.end(), [&](const entry& p) { return p.same_identity(e); });
  if (it != pending_.end()) *it = std::move(e);
  else pending_.push_back(std::move(e));
  if (pending_.size() > delta_limit(base_ ? base_->size() : 0)) merge(INT64_MIN, nullptr);
  else rebuild_delta();
  publish();
}

void registry::merge(std::int64_t now, const entry* skip) {
  table::builder b((base_ ? base_->size() : 0) + pending_.size());
  for (const auto& e : pending_)
    if (e.exp > now && !(skip && skip->same_identity(e))) b.add(e);
  if (base_) {
    for (const auto& r : base_->records()) {
      if (r.exp <= now) continue;
      auto v = base_->value(r);
      auto iss = base_->issuer(r);
      if (delta_ && delta_->find(r.type, v, iss)) continue;
      if (skip && skip->type == r.type && skip->value == v && skip->iss == iss) continue;
      b.add(r.type, v, iss, r.before, r.exp);
    }
  }
  pending_.clear();
  delta_.reset();
  base_ = b.finish();
}

bool registry::remove(const entry& e) {
  bool in_pending = find_pending(e) != nullptr;
  bool in_base = base_ && base_->find(e.type, e.value, e.iss) != nullptr;
  if (!in_pending && !in_base) return false;
  if (in_base) {
    merge(INT64_MIN, &e);
  } else {
    std::erase_if(pending_, [&](const entry& p) { return p.same_identity(e); });
    rebuild_delta();
  }
  publish();
  return true;
}

void registry::replace_all(std::shared_ptr<const table> all) {
  base_ = std::move(all);
  pending_.clear();
  delta_.reset();
  publish();
}

bool registry::purge(std::int64_t now) {
  std::int64_t earliest = INT64_MAX;
  if (base_) earliest = base_->earliest_exp();
  if (delta_) earliest = std::min(earliest, delta_->earliest_exp());
  if (earliest > now) return false;
  merge(now, nullptr);
  publish();
  return true;
}

void registry::set_unavailable(bool unavailable) {
  if (unavailable == unavailable_) return;
  unavailable_ = unavailable;
  publish();
}

}  // namespace jwtgate::revocation
