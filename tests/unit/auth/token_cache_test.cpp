// The per-thread verified-token cache: hits, misses and everything that must
// invalidate an entry.

#include <gtest/gtest.h>

#include <algorithm>
#include <list>
#include <random>

#include "jwtgate/auth/token_cache.h"
#include "test_support.h"

namespace jwtgate::auth {
namespace {

using namespace testing;

class token_cache_test : public ::testing::Test {
 protected:
  void SetUp() override {
    config::config c;
    c.providers.push_back(provider_cfg("one"));
    c.providers.push_back(provider_cfg("two"));
    store = hmac_store(secret_a);
    snap = build_snapshot(std::move(c), {store, hmac_store(secret_b)});
    one = &snap->providers[0];
    two = &snap->providers[1];
  }

  std::shared_ptr<const verified_token> payload(std::string sub) {
    auto v = std::make_shared<verified_token>();
    v->subject = std::move(sub);
    v->payload["sub"] = v->subject;
    return v;
  }

  void put(token_cache& cache, std::string_view token, std::optional<double> until = now + 100.0) {
    cache.insert(token, live_stamp(*snap, *one), until, payload(std::string(token)));
  }

  std::vector<const config::provider*> both() const { return {one, two}; }

  std::shared_ptr<keys::key_store> store;
  std::unique_ptr<config::snapshot> snap;
  const config::provider* one = nullptr;
  const config::provider* two = nullptr;
};

TEST_F(token_cache_test, hit_returns_the_verified_payload_and_provider) {
  token_cache cache(4);
  auto cands = both();
  ASSERT_FALSE(cache.find(*snap, "t1", now, cands));  // first use binds the snapshot
  put(cache, "t1");
  auto hit = cache.find(*snap, "t1", now, cands);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->provider, one);
  EXPECT_EQ(hit->token->subject, "t1");
}

TEST_F(token_cache_test, one_changed_byte_misses) {
  token_cache cache(4);
  auto cands = both();
  cache.find(*snap, "", now, cands);
  std::string token = hs256(secret_a, claims());
  put(cache, token);
  for (std::size_t i : {std::size_t{0}, token.size() / 2, token.size() - 1}) {
    std::string changed = token;
    changed[i] = changed[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(cache.find(*snap, changed, now, cands)) << i;
  }
  EXPECT_FALSE(cache.find(*snap, token.substr(0, token.size() - 1), now, cands));
  EXPECT_TRUE(cache.find(*snap, token, now, cands));
}

TEST_F(token_cache_test, entry_expires_at_its_limit) {
  token_cache cache(4);
  auto cands = both();
  cache.find(*snap, "", now, cands);
  put(cache, "t", now + 10.0);
  EXPECT_TRUE(cache.find(*snap, "t", now + 9, cands));
  EXPECT_FALSE(cache.find(*snap, "t", now + 10, cands));
  EXPECT_EQ(cache.size(), 0u);  // dropped, not kept around
}

TEST_F(token_cache_test, token_without_exp_never_expires_by_time) {
  token_cache cache(4);
  auto cands = both();
  cache.find(*snap, "", now, cands);
  put(cache, "t", std::nullopt);
  EXPECT_TRUE(cache.find(*snap, "t", now + 1'000'000, cands));
}

TEST_F(token_cache_test, key_set_publication_invalidates) {
  token_cache cache(4);
  auto cands = both();
  cache.find(*snap, "", now, cands);
  put(cache, "t");
  store->publish(store->current());  // same keys, new generation
  EXPECT_FALSE(cache.find(*snap, "t", now, cands));
  put(cache, "t");
  jose::key k;
  std::string error;
  ASSERT_TRUE(jose::make_hmac_key({}, jose::alg::HS256, secret_b, k, error));
  store->publish(std::make_shared<const jose::key_set>(std::vector<jose::key>{k}));
  EXPECT_FALSE(cache.find(*snap, "t", now, cands));
}

TEST_F(token_cache_test, another_snapshot_drops_everything) {
  token_cache cache(4);
  auto cands = both();
  cache.find(*snap, "", now, cands);
  put(cache, "t");
  config::config c;
  c.providers.push_back(provider_cfg("one"));
  auto reloaded = build_snapshot(std::move(c), {store});
  std::vector<const config::provider*> new_cands{&reloaded->providers[0]};
  EXPECT_FALSE(cache.find(*reloaded, "t", now, new_cands));
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(token_cache_test, entry_of_a_provider_not_allowed_here_is_not_used) {
  token_cache cache(4);
  std::vector<const config::provider*> only_two{two};
  cache.find(*snap, "", now, only_two);
  put(cache, "t");  // verified by `one`
  EXPECT_FALSE(cache.find(*snap, "t", now, only_two));
  auto cands = both();
  EXPECT_TRUE(cache.find(*snap, "t", now, cands));  // kept for routes where `one` judges
}

TEST_F(token_cache_test, capacity_is_a_bound_and_eviction_is_lru) {
  token_cache cache(3);
  auto cands = both();
  cache.find(*snap, "", now, cands);
  put(cache, "a");
  put(cache, "b");
  put(cache, "c");
  EXPECT_TRUE(cache.find(*snap, "a", now, cands));  // a is now the most recent
  put(cache, "d");                                  // evicts b
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(cache.find(*snap, "b", now, cands));
  EXPECT_TRUE(cache.find(*snap, "a", now, cands));
  EXPECT_TRUE(cache.find(*snap, "c", now, cands));
  EXPECT_TRUE(cache.find(*snap, "d", now, cands));
  for (int i = 0; i < 100; ++i) put(cache, "x" + std::to_string(i));
  EXPECT_EQ(cache.size(), 3u);
}

TEST_F(token_cache_test, capacity_zero_disables) {
  token_cache cache(0);
  auto cands = both();
  cache.find(*snap, "", now, cands);
  put(cache, "t");
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_FALSE(cache.find(*snap, "t", now, cands));
}

TEST_F(token_cache_test, reinserting_a_token_replaces_its_entry) {
  token_cache cache(2);
  auto cands = both();
  cache.find(*snap, "", now, cands);
  put(cache, "t", now + 5.0);
  put(cache, "t", now + 50.0);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_TRUE(cache.find(*snap, "t", now + 20, cands));
}

// Random inserts, hits and expiries against a plain LRU model (a list in
// use order): the same tokens are present, in the same eviction order.
TEST_F(token_cache_test, agrees_with_a_plain_lru_model) {
  std::mt19937 rng(11);
  auto below = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
  for (std::size_t capacity : {1u, 7u, 64u}) {
    token_cache cache(capacity);
    auto cands = both();
    cache.find(*snap, "", now, cands);
    std::list<std::pair<std::string, double>> model;  // front: most recently used
    auto model_find = [&](const std::string& t) {
      return std::find_if(model.begin(), model.end(), [&](const auto& e) { return e.first == t; });
    };
    for (int step = 0; step < 20000; ++step) {
      const std::string token = "tok-" + std::to_string(below(capacity * 3 + 2));
      const std::int64_t at = now + static_cast<std::int64_t>(below(20));
      if (below(2) == 0) {
        const double until = double(now + 5 + below(30));
        cache.insert(token, live_stamp(*snap, *one), until, payload(token));
        if (auto it = model_find(token); it != model.end()) model.erase(it);
        if (model.size() >= capacity) model.pop_back();
        model.emplace_front(token, until);
      } else {
        const bool got = cache.find(*snap, token, at, cands).has_value();
        auto it = model_find(token);
        bool want = false;
        if (it != model.end()) {
          if (double(at) < it->second) {
            want = true;
            model.splice(model.begin(), model, it);
          } else {
            model.erase(it);  // an expired entry is dropped
          }
        }
        ASSERT_EQ(got, want) << "capacity " << capacity << " step " << step << " " << token;
      }
      ASSERT_EQ(cache.size(), model.size()) << "capacity " << capacity << " step " << step;
    }
  }
}

}  // namespace
}  // namespace jwtgate::auth
