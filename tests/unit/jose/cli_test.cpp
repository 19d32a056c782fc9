// `jwtgate keygen` and `jwtgate mint` as a user runs them; PyJWT checks the output.
#include <sys/stat.h>

#include <filesystem>

#include "process_support.h"
#include "test_support.h"

namespace {

using namespace jose_test;

std::string binary() { return JWTGATE_BINARY; }

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(binary())) GTEST_SKIP() << "jwtgate binary not built: " << binary();
  }
};

unsigned mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

TEST_F(Cli, KeygenThenMintVerifiesWithPyJwtForEveryAlgorithm) {
  temp_dir dir;
  for (alg a : all_algs) {
    const std::string name(jose::to_string(a));
    SCOPED_TRACE(name);
    const std::string out = dir / name;
    const auto keygen = run(binary() + " keygen --alg " + name + " --kid cli-" + name + " --out " + shell_quote(out));
    ASSERT_EQ(keygen.exit_code, 0) << keygen.output;
    const bool hmac = jose::family(a) == jose::alg_family::hmac;
    const std::string key_file = out + (hmac ? "/secret" : "/private.pem");
    EXPECT_NE(keygen.output.find(key_file), std::string::npos) << keygen.output;
    EXPECT_EQ(mode_of(key_file), 0600u);
    EXPECT_EQ(mode_of(out + "/jwks.json"), hmac ? 0600u : 0644u);

    const auto mint = run(binary() + " mint --alg " + name + " --key " + shell_quote(key_file) + " --kid cli-" + name +
                          " --sub bob --ttl 5m --iss https://issuer.example --aud api" +
                          " --claim role=admin --claim level=3 --claim 'groups=[\"a\",\"b\"]' --claim flag=true");
    ASSERT_EQ(mint.exit_code, 0);
    const auto verified = run(JWTGATE_PYTHON + std::string(" ") + shell_quote(tool("pyjwt_verify.py")) + " " +
                              shell_quote(out + "/jwks.json") + " " + name + " " + shell_quote(mint.output));
    ASSERT_EQ(verified.exit_code, 0) << verified.output;
    for (const char* expected : {R"("sub": "bob")", R"("role": "admin")", R"("level": 3)", R"("groups": ["a", "b"])",
                                 R"("flag": true)", R"("iss": "https://issuer.example")", R"("aud": "api")"})
      EXPECT_NE(verified.output.find(expected), std::string::npos) << expected << " in " << verified.output;

    // And jwtgate's own verifier agrees, with exp - iat = 300.
    std::string jwks, error;
    ASSERT_TRUE(jose::read_file(out + "/jwks.json", jwks, error));
    jose::jwks_result keys;
    ASSERT_TRUE(jose::parse_jwks(jwks, {a}, keys, error));
    jose::jwt t;
    ASSERT_EQ(jose::parse(mint.output, t), status::ok);
    EXPECT_EQ(jose::verify_signature(t, jose::key_set(keys.keys), {a}), status::ok);
    EXPECT_DOUBLE_EQ(*t.exp - *t.iat, 300.0);
  }
}

TEST_F(Cli, KeygenRefusesToOverwriteAKey) {
  temp_dir dir;
  ASSERT_EQ(run(binary() + " keygen --alg ES256 --out " + shell_quote(dir / "k")).exit_code, 0);
  EXPECT_EQ(run(binary() + " keygen --alg ES256 --out " + shell_quote(dir / "k")).exit_code, 1);
}

TEST_F(Cli, UsageErrorsExitTwoAndFailuresExitOne) {
  temp_dir dir;
  EXPECT_EQ(run(binary() + " mint --help").exit_code, 0);
  EXPECT_NE(run(binary() + " mint --help").output.find("--claim"), std::string::npos);
  EXPECT_EQ(run(binary() + " keygen --help").exit_code, 0);
  EXPECT_EQ(run(binary() + " mint").exit_code, 2);
  EXPECT_EQ(run(binary() + " mint --alg none --key x").exit_code, 2);
  EXPECT_EQ(run(binary() + " mint --alg HS256 --key x --ttl soon").exit_code, 2);
  EXPECT_EQ(run(binary() + " mint --alg HS256 --key x --bogus 1").exit_code, 2);
  EXPECT_EQ(run(binary() + " keygen --alg RS256").exit_code, 2);
  EXPECT_EQ(run(binary() + " keygen --alg RS1 --out " + shell_quote(dir / "x")).exit_code, 2);
  EXPECT_EQ(run(binary() + " mint --alg HS256 --key " + shell_quote(dir / "missing")).exit_code, 1);
  EXPECT_EQ(run(binary() + " mint --alg HS256 --key " + shell_quote(fixture_path("keys/short.secret"))).exit_code, 1);
  EXPECT_EQ(run(binary() + " mint --alg ES384 --key " + shell_quote(fixture_path("keys/p256.key"))).exit_code, 1);
}

TEST_F(Cli, ClaimOverridesAllowExpiredTokens) {
  const auto mint = run(binary() + " mint --alg HS256 --key " + shell_quote(fixture_path("keys/hs256.secret")) +
                        " --claim exp=1000 --claim iat=900");
  ASSERT_EQ(mint.exit_code, 0);
  jose::jwt t;
  ASSERT_EQ(jose::parse(mint.output, t), status::ok);
  EXPECT_EQ(jose::verify_claims(t, {}, 2000), status::expired);
  EXPECT_EQ(jose::verify_claims(t, {}, 950), status::ok);
}

}  // namespace
