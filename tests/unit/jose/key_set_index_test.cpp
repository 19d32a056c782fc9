// The key_set's kid and alg indexes against the plain scan over every key
// that verify_signature used to make, over random HMAC key sets.

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "jwtgate/jose/jwt.h"
#include "jwtgate/jose/key_set.h"
#include "jwtgate/jose/sign.h"
#include "jwtgate/jose/verify.h"

namespace jwtgate::jose {
namespace {

// The reference: SPEC 3 read literally, one key after the other.
status linear_verify(const jwt& token, std::span<const key> keys, std::span<const std::string> secrets,
                     alg_set allowed) {
  if (!token.algorithm || !allowed.contains(*token.algorithm)) return status::alg_not_allowed;
  if (keys.empty()) return status::keys_unavailable;
  bool kid_seen = false;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (token.kid) {
      if (keys[i].kid != *token.kid) continue;
      kid_seen = true;
    }
    if (keys[i].algorithm != *token.algorithm) continue;
    std::string sig, error;
    signing_key sk{keys[i].algorithm, secrets[i], nullptr};
    if (sign_bytes(sk, token.signing_input, sig, error) && sig == token.signature) return status::ok;
  }
  if (token.kid && !kid_seen) return status::unknown_kid;
  return status::bad_signature;
}

const alg hs[] = {alg::HS256, alg::HS384, alg::HS512};

TEST(key_set_index, lookups_list_the_entries_of_a_kid_and_of_an_alg_in_order) {
  std::vector<key> keys;
  auto add = [&](std::string kid, alg a) {
    key k;
    std::string error;
    ASSERT_TRUE(make_hmac_key(std::move(kid), a, std::string(64, 's'), k, error)) << error;
    keys.push_back(std::move(k));
  };
  add("a", alg::HS256);
  add("", alg::HS384);
  add("b", alg::HS256);
  add("a", alg::HS512);
  add("", alg::HS256);
  const key_set original(std::move(keys));
  const key_set set = original;  // copies keep a working index
  EXPECT_EQ(std::vector<std::uint32_t>(set.with_kid("a").begin(), set.with_kid("a").end()),
            (std::vector<std::uint32_t>{0, 3}));
  EXPECT_EQ(std::vector<std::uint32_t>(set.with_kid("").begin(), set.with_kid("").end()),
            (std::vector<std::uint32_t>{1, 4}));
  EXPECT_TRUE(set.with_kid("c").empty());
  EXPECT_TRUE(set.with_kid("A").empty());
  EXPECT_TRUE(set.has_kid("b"));
  EXPECT_FALSE(set.has_kid("ab"));
  EXPECT_EQ(std::vector<std::uint32_t>(set.with_alg(alg::HS256).begin(), set.with_alg(alg::HS256).end()),
            (std::vector<std::uint32_t>{0, 2, 4}));
  EXPECT_TRUE(set.with_alg(alg::RS256).empty());
  EXPECT_TRUE(key_set{}.with_kid("").empty());
  EXPECT_TRUE(key_set{}.with_alg(alg::HS256).empty());
}

TEST(key_set_index, verification_agrees_with_the_linear_scan) {
  std::mt19937 rng(7);
  auto below = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
  const std::vector<std::string> kids = {"", "k1", "k2", "k3", "K1", "k10", "rotated"};
  std::size_t ok = 0, total = 0;
  for (int round = 0; round < 200; ++round) {
    std::vector<key> keys;
    std::vector<std::string> secrets;
    const std::size_t n = below(round % 10 == 0 ? 60 : 8);
    for (std::size_t i = 0; i < n; ++i) {
      key k;
      std::string error;
      secrets.push_back(std::string(64, static_cast<char>('a' + below(4))));
      ASSERT_TRUE(make_hmac_key(kids[below(kids.size())], hs[below(3)], secrets.back(), k, error)) << error;
      keys.push_back(std::move(k));
    }
    alg_set allowed{alg::HS256, alg::HS384};
    if (below(2)) allowed.insert(alg::HS512);
    const key_set set(keys);
    for (int q = 0; q < 30; ++q) {
      signing_key sk{hs[below(3)], std::string(64, static_cast<char>('a' + below(4))), nullptr};
      const std::string kid = below(3) == 0 ? std::string() : kids[below(kids.size())];
      std::string token, error;
      ASSERT_TRUE(sign_jwt(sk, kid, {{"sub", "x"}}, token, error)) << error;
      jwt parsed;
      ASSERT_EQ(parse(token, parsed), status::ok);
      const status want = linear_verify(parsed, keys, secrets, allowed);
      ASSERT_EQ(verify_signature(parsed, set, allowed), want) << "round " << round << " kid '" << kid << "'";
      ++total;
      if (want == status::ok) ++ok;
    }
  }
  EXPECT_GT(ok, total / 20);
}

}  // namespace
}  // namespace jwtgate::jose
