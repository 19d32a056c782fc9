// Matching: each kind, issuer scoping, sub cut-off by iat, expiry, the delta
// replacing a base record, deny mode, and a large random set against a plain
// reference.

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "jwtgate/revocation/registry.h"

namespace jwtgate::revocation {
namespace {

using jose::status;
constexpr std::int64_t now = 1'700'000'000;

entry make(kind k, std::string v, std::string iss = {}, std::int64_t exp = now + 100, std::int64_t before = 0) {
  entry e;
  e.type = k;
  e.value = std::move(v);
  e.iss = std::move(iss);
  e.exp = exp;
  e.before = before;
  return e;
}

token_facts token(std::string jti, std::string sub, std::string sid = {}, std::string iss = {},
                  std::optional<double> iat = std::nullopt) {
  token_facts t;
  t.set(kind::jti, std::move(jti));
  t.set(kind::sub, std::move(sub));
  t.set(kind::sid, std::move(sid));
  t.iss = std::move(iss);
  if (iat) {
    t.has_iat = true;
    t.iat = *iat;
  }
  return t;
}

TEST(RevocationSet, EmptyMatchesNothing) {
  registry r;
  EXPECT_EQ(r.current()->check(token("j", "s", "x", "i", 1), now), status::ok);
  EXPECT_EQ(r.size(), 0u);
}

TEST(RevocationSet, JtiMatchesOnlyThatToken) {
  registry r;
  r.upsert(make(kind::jti, "j1"));
  EXPECT_EQ(r.current()->check(token("j1", "alice"), now), status::revoked);
  EXPECT_EQ(r.current()->check(token("j2", "alice"), now), status::ok);
  EXPECT_EQ(r.current()->check(token("", "j1"), now), status::ok);  // a sub that equals a revoked jti
  EXPECT_EQ(r.current()->check(token("j1x", "alice"), now), status::ok);
  EXPECT_EQ(r.current()->check(token("J1", "alice"), now), status::ok);
}

TEST(RevocationSet, IssuerScoping) {
  registry r;
  r.upsert(make(kind::jti, "j1", "https://a"));
  r.upsert(make(kind::sid, "s1"));
  EXPECT_EQ(r.current()->check(token("j1", "u", {}, "https://a"), now), status::revoked);
  EXPECT_EQ(r.current()->check(token("j1", "u", {}, "https://b"), now), status::ok);
  EXPECT_EQ(r.current()->check(token("j1", "u", {}, ""), now), status::ok);
  // Without iss, an entry applies to every issuer.
  EXPECT_EQ(r.current()->check(token("x", "u", "s1", "https://b"), now), status::revoked);
  EXPECT_EQ(r.current()->check(token("x", "u", "s1", ""), now), status::revoked);
}

TEST(RevocationSet, SubCutOffByIat) {
  registry r;
  r.upsert(make(kind::sub, "alice", {}, now + 100, now - 50));
  EXPECT_EQ(r.current()->check(token("", "alice", {}, {}, now - 51), now), status::revoked);
  EXPECT_EQ(r.current()->check(token("", "alice", {}, {}, now - 50), now), status::ok);  // issued at the cut-off
  EXPECT_EQ(r.current()->check(token("", "alice", {}, {}, now - 10), now), status::ok);  // logged in again
  EXPECT_EQ(r.current()->check(token("", "alice"), now), status::revoked);              // no iat: before
  EXPECT_EQ(r.current()->check(token("", "bob", {}, {}, now - 100), now), status::ok);
}

TEST(RevocationSet, ExpiredEntriesNeverMatchAndArePurged) {
  registry r;
  r.upsert(make(kind::jti, "j1", {}, now + 10));
  EXPECT_EQ(r.current()->check(token("j1", "u"), now + 9), status::revoked);
  EXPECT_EQ(r.current()->check(token("j1", "u"), now + 10), status::ok);
  EXPECT_FALSE(r.purge(now + 9));
  EXPECT_TRUE(r.purge(now + 10));
  EXPECT_EQ(r.size(), 0u);
}

TEST(RevocationSet, ReplaceAndRemoveAcrossBaseAndDelta) {
  registry r;
  for (int i = 0; i < 3000; ++i) r.upsert(make(kind::jti, "j" + std::to_string(i)));  // forces merges
  ASSERT_TRUE(r.current()->base());
  EXPECT_EQ(r.size(), 3000u);
  // A shorter exp for an entry now in the base: the delta's record wins.
  r.upsert(make(kind::jti, "j5", {}, now + 1));
  EXPECT_EQ(r.size(), 3000u);
  EXPECT_EQ(r.current()->check(token("j5", "u"), now + 2), status::ok);
  EXPECT_EQ(r.current()->check(token("j6", "u"), now + 2), status::revoked);
  EXPECT_TRUE(r.remove(make(kind::jti, "j6")));
  EXPECT_FALSE(r.remove(make(kind::jti, "j6")));
  EXPECT_FALSE(r.remove(make(kind::jti, "j7", "other-iss")));
  EXPECT_EQ(r.current()->check(token("j6", "u"), now), status::ok);
  EXPECT_EQ(r.current()->check(token("j7", "u"), now), status::revoked);
  EXPECT_EQ(r.size(), 2999u);
  std::size_t listed = 0;
  r.current()->for_each(now, [&](const table&, const table::record&) { ++listed; });
  EXPECT_EQ(listed, 2999u);
}

TEST(RevocationSet, DenyModeRefusesEveryToken) {
  registry r;
  r.set_unavailable(true);
  EXPECT_EQ(r.current()->check(token("j", "s"), now), status::revocation_unavailable);
  r.set_unavailable(false);
  EXPECT_EQ(r.current()->check(token("j", "s"), now), status::ok);
}

TEST(RevocationSet, RandomSetsAgreeWithAReference) {
  std::mt19937 rng(7);
  registry r;
  std::set<std::tuple<int, std::string, std::string>> reference;
  auto value = [&] { return std::to_string(rng() % 400); };
  auto issuer = [&] { int i = rng() % 3; return i == 0 ? std::string() : "iss" + std::to_string(i); };
  for (int step = 0; step < 4000; ++step) {
    auto e = make(static_cast<kind>(rng() % 2 == 0 ? 0 : 2), value(), issuer());
    if (rng() % 5 == 0) {
      bool had = reference.erase({int(e.type), e.value, e.iss}) > 0;
      EXPECT_EQ(r.remove(e), had);
    } else {
      reference.insert({int(e.type), e.value, e.iss});
      r.upsert(e);
    }
  }
  EXPECT_EQ(r.size(), reference.size());
  for (int probe = 0; probe < 2000; ++probe) {
    std::string v = value(), iss = issuer();
    int k = rng() % 2 == 0 ? 0 : 2;
    bool expected = reference.count({k, v, ""}) || (!iss.empty() && reference.count({k, v, iss}));
    auto t = k == 0 ? token(v, "none") : token("none", "none", v);
    t.iss = iss;
    EXPECT_EQ(r.current()->check(t, now) == status::revoked, expected) << k << " " << v << " " << iss;
  }
}

TEST(RevocationSet, HashSpreadsShortValues) {
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 100000; ++i) seen.insert(hash_value(std::to_string(i)));
  EXPECT_EQ(seen.size(), 100000u);
  EXPECT_NE(hash_value(""), hash_value(std::string(1, '\0')));
  EXPECT_NE(hash_value(std::string(16, 'a')), hash_value(std::string(17, 'a')));
}

}  // namespace
}  // namespace jwtgate::revocation
