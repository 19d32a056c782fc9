// Provider option require_kid: a token without a kid is refused (malformed)
// before any key is tried; with a kid, nothing changes.

#include <gtest/gtest.h>

#include "jwtgate/auth/decision.h"
#include "test_support.h"

namespace jwtgate::auth {
namespace {

using namespace testing;
using jose::status;

class require_kid_test : public ::testing::Test {
 protected:
  void build(bool require_kid) {
    config::config c;
    auto p = provider_cfg("corp");
    p.require_kid = require_kid;
    c.providers.push_back(p);
    c.routes.push_back(route_cfg("api", "/api", {"corp"}));
    snap = build_snapshot(std::move(c), {hmac_store(secret_a, "k1")});
  }

  decision run(const std::string& token) {
    fake_headers headers{{"Authorization", "Bearer " + token}};
    request_head req{"GET", "/api", "gw", &headers};
    return decide(*snap, req, ctx, now);
  }

  std::unique_ptr<config::snapshot> snap;
  thread_context ctx{0};  // no cache: every request is verified
};

TEST_F(require_kid_test, token_without_kid_is_malformed) {
  build(true);
  decision d = run(hs256(secret_a, claims()));
  EXPECT_EQ(d.response.status, 401u);
  EXPECT_EQ(d.reason, status::malformed);
}

TEST_F(require_kid_test, token_with_kid_still_verifies) {
  build(true);
  EXPECT_EQ(run(hs256(secret_a, {{"alg", "HS256"}, {"kid", "k1"}}, claims())).what, decision::action::forward);
  EXPECT_EQ(run(hs256(secret_a, {{"alg", "HS256"}, {"kid", "k2"}}, claims())).reason, status::unknown_kid);
}

TEST_F(require_kid_test, off_by_default_a_token_without_kid_tries_the_keys) {
  build(false);
  EXPECT_EQ(run(hs256(secret_a, claims())).what, decision::action::forward);
  EXPECT_EQ(run(hs256(secret_b, claims())).reason, status::bad_signature);
}

}  // namespace
}  // namespace jwtgate::auth
