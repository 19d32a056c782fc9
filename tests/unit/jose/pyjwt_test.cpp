// Cross-checks with PyJWT, an independent implementation: its tokens verify
// here, and tokens signed here verify there.
#include <chrono>

#include "process_support.h"
#include "test_support.h"

namespace {

using namespace jose_test;

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string python() { return JWTGATE_PYTHON; }

TEST(PyJwt, TokensMintedByPyJwtVerifyForEveryAlgorithm) {
  temp_dir dir;
  const auto minted = run(python() + " " + shell_quote(tool("pyjwt_mint.py")) + " " + shell_quote(dir.path().string()));
  ASSERT_EQ(minted.exit_code, 0) << "PyJWT (python3-jwt) must be installed for " << python();
  for (alg a : all_algs) {
    const std::string name(jose::to_string(a));
    SCOPED_TRACE(name);
    std::string jwks, token, error;
    ASSERT_TRUE(jose::read_file(dir / (name + ".jwks.json"), jwks, error)) << error;
    ASSERT_TRUE(jose::read_file(dir / (name + ".jwt"), token, error)) << error;
    jose::jwks_result keys;
    ASSERT_TRUE(jose::parse_jwks(jwks, every_alg(), keys, error)) << error;
    ASSERT_EQ(keys.keys.size(), 1u) << (keys.warnings.empty() ? "" : keys.warnings[0]);
    const jose::key_set set(std::move(keys.keys));

    jose::jwt t;
    ASSERT_EQ(jose::parse(token, t), status::ok);
    EXPECT_EQ(t.kid, "py-" + name);
    EXPECT_EQ(jose::verify_signature(t, set, every_alg()), status::ok);
    jose::claim_rules rules;
    rules.required = {"sub", "exp", "iat"};
    rules.max_lifetime = std::chrono::seconds(3600);
    rules.claims = {{"roles", {"b"}}};
    EXPECT_EQ(jose::verify_claims(t, rules, unix_now()), status::ok);
    // Pinned elsewhere: refused.
    jose::alg_set others = every_alg();
    jose::alg_set without;
    others.for_each([&](alg x) { if (x != a) without.insert(x); });
    EXPECT_EQ(jose::verify_signature(t, set, without), status::alg_not_allowed);
    // Tampered payload: refused.
    const auto dot1 = token.find('.'), dot2 = token.rfind('.');
    const std::string forged = token.substr(0, dot1 + 1) + b64(R"({"sub":"root"})") + token.substr(dot2);
    EXPECT_EQ(check(forged, set, every_alg()), status::bad_signature);
  }
}

TEST(PyJwt, TokensSignedHereVerifyWithPyJwt) {
  temp_dir dir;
  for (alg a : all_algs) {
    const std::string name(jose::to_string(a));
    SCOPED_TRACE(name);
    const auto& key = generated(a);
    std::string error, token;
    const std::string jwks_path = dir / (name + ".jwks.json");
    {
      std::FILE* f = std::fopen(jwks_path.c_str(), "w");
      ASSERT_NE(f, nullptr);
      std::fputs(key.jwks.c_str(), f);
      std::fclose(f);
    }
    const auto now = unix_now();
    ASSERT_TRUE(jose::sign_jwt(key.signing, "test-" + name,
                               boost::json::object{{"sub", "here"}, {"iat", now}, {"exp", now + 600}}, token, error))
        << error;
    const auto verified = run(python() + " " + shell_quote(tool("pyjwt_verify.py")) + " " + shell_quote(jwks_path) +
                              " " + name + " " + shell_quote(token));
    EXPECT_EQ(verified.exit_code, 0) << verified.output;
    EXPECT_NE(verified.output.find("\"sub\": \"here\""), std::string::npos) << verified.output;
  }
}

}  // namespace
