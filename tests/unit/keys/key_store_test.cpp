// key_store: readers on event loop threads take current() while the JWKS
// fetcher publishes new sets. Run under ThreadSanitizer by `make test-tsan`,
// where a data race between publish() and current() fails it.

#include "jwtgate/keys/key_store.h"

#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace jwtgate::keys {
namespace {

// A set whose one key's kid carries its publication number.
std::shared_ptr<const jose::key_set> numbered_set(int n) {
  jose::key k;
  k.kid = "k" + std::to_string(n);
  k.secret = std::string(32, 's');
  return std::make_shared<const jose::key_set>(std::vector<jose::key>{k});
}

int number_of(const jose::key_set& set) { return std::stoi(set.keys()[0].kid.substr(1)); }

TEST(KeyStore, PublishReplacesTheSetAndBumpsTheGeneration) {
  key_store store(numbered_set(0));
  EXPECT_EQ(number_of(*store.current()), 0);
  std::uint64_t g = store.generation();
  auto held = store.current();
  store.publish(numbered_set(1));
  EXPECT_EQ(number_of(*store.current()), 1);
  EXPECT_EQ(store.generation(), g + 1);
  EXPECT_EQ(number_of(*held), 0);  // a reader's copy stays valid after the publish
}

// Readers never see a set older than one they saw before, nor a generation
// going back; every set they get is whole (its key is there). Bounded loops,
// no clock: the interleaving is whatever the scheduler makes of it.
TEST(KeyStore, ConcurrentPublishAndCurrent) {
  constexpr int publishes = 2000;
  constexpr int reads = 20000;
  key_store store(numbered_set(0));
  std::vector<std::thread> readers;
  std::vector<int> failures(3, 0);
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&store, &failures, r] {
      int last = 0;
      std::uint64_t last_generation = 0;
      for (int i = 0; i < reads; ++i) {
        std::uint64_t g = store.generation();
        auto set = store.current();
        if (!set || set->keys().size() != 1) { ++failures[r]; continue; }
        int n = number_of(*set);
        if (n < last || g < last_generation) ++failures[r];
        last = n;
        last_generation = g;
      }
    });
  }
  for (int n = 1; n <= publishes; ++n) store.publish(numbered_set(n));
  for (auto& t : readers) t.join();
  for (int r = 0; r < 3; ++r) EXPECT_EQ(failures[r], 0) << "reader " << r;
  EXPECT_EQ(number_of(*store.current()), publishes);
  EXPECT_EQ(store.generation(), static_cast<std::uint64_t>(publishes));
}

}  // namespace
}  // namespace jwtgate::keys
