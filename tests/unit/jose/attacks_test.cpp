// Known attacks on JWT verifiers; every one must fail, never give ok.
#include "test_support.h"

#include <openssl/hmac.h>

namespace {

using namespace jose_test;

std::string hmac_sha256(std::string_view secret, std::string_view input) {
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return std::string(reinterpret_cast<char*>(mac), len);
}

// HS256 token whose "secret" is some public text the attacker knows.
std::string hs256_forged_with(std::string_view secret, std::string_view kid = "") {
  std::string header = R"({"alg":"HS256","typ":"JWT")";
  if (!kid.empty()) header += R"(,"kid":")" + std::string(kid) + "\"";
  header += "}";
  const std::string input = b64(header) + "." + b64(R"({"sub":"admin"})");
  return input + "." + b64(hmac_sha256(secret, input));
}

jose::key pem_key(alg a, std::string_view file) {
  jose::key k;
  std::string error;
  EXPECT_TRUE(jose::load_public_key_pem("", a, fixture(file), k, error)) << error;
  return k;
}

TEST(Attacks, AlgorithmConfusionWithPublicKeyTextAsHmacSecret) {
  struct target {
    alg a;
    const char* pem;
  };
  for (auto [a, pem] : {target{alg::RS256, "keys/rsa2048.pub.pem"}, target{alg::ES256, "keys/p256.pub.pem"},
                        target{alg::EdDSA, "keys/ed25519.pub.pem"}}) {
    const jose::key_set keys({pem_key(a, pem)});
    const std::string pem_text = fixture(pem);
    for (const std::string& secret : {pem_text, pem_text.substr(0, pem_text.size() - 1)}) {
      const std::string forged = hs256_forged_with(secret);
      // Even when the provider allows HS256 next to the public key's alg.
      EXPECT_EQ(check(forged, keys, {a, alg::HS256}), status::bad_signature) << pem;
      EXPECT_EQ(check(forged, keys, {a}), status::alg_not_allowed) << pem;
    }
  }
}

TEST(Attacks, AlgorithmConfusionWithJwkTextAsHmacSecret) {
  for (alg a : {alg::RS256, alg::ES256, alg::EdDSA}) {
    const auto& jwks = generated(a).jwks;
    const auto keys = public_keys(a);
    const std::string jwk_text = jwks.substr(jwks.find('[') + 1, jwks.rfind(']') - jwks.find('[') - 1);
    for (const std::string& secret : {jwks, jwk_text}) {
      const std::string forged = hs256_forged_with(secret, "test-" + std::string(jose::to_string(a)));
      EXPECT_EQ(check(forged, keys, {a, alg::HS256}), status::bad_signature);
    }
  }
}

TEST(Attacks, AlgNoneInEveryCase) {
  const auto keys = public_keys(alg::HS256);
  for (const char* none : {"none", "None", "NONE", "nOnE", "NoNe", "nONE"}) {
    const std::string header = std::string(R"({"alg":")") + none + R"(","typ":"JWT"})";
    // Empty signature: malformed by structure.
    EXPECT_EQ(check(b64(header) + "." + b64(R"({"sub":"admin"})") + ".", keys, every_alg()), status::malformed);
    // Any non-empty signature: the algorithm is not allowed.
    EXPECT_EQ(check(token_of(header, R"({"sub":"admin"})", "x"), keys, every_alg()), status::alg_not_allowed);
    // Even with a valid HS256 MAC over the input.
    const std::string input = b64(header) + "." + b64(R"({"sub":"admin"})");
    EXPECT_EQ(check(input + "." + b64(hmac_sha256(generated(alg::HS256).signing.secret, input)), keys, every_alg()),
              status::alg_not_allowed);
  }
}

TEST(Attacks, AlgNotInTheProvidersList) {
  const std::string token = sign_token(alg::HS256);
  EXPECT_EQ(check(token, public_keys(alg::HS256), {alg::RS256}), status::alg_not_allowed);
  EXPECT_EQ(check(token, public_keys(alg::HS256), {}), status::alg_not_allowed);
}

TEST(Attacks, DerEncodedEcdsaSignatureIsRefused) {
  const auto keys = public_keys(alg::ES256);
  const std::string header = R"({"alg":"ES256","kid":"test-ES256"})";
  const std::string input = b64(header) + "." + b64(R"({"sub":"a"})");
  // Sign with OpenSSL directly, keeping the DER form.
  jose::signing_key key = generated(alg::ES256).signing;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ASSERT_EQ(EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key.private_key.get()), 1);
  std::size_t len = 0;
  ASSERT_EQ(EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size()), 1);
  std::string der(len, '\0');
  ASSERT_EQ(EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(der.data()), &len,
                           reinterpret_cast<const unsigned char*>(input.data()), input.size()),
            1);
  EVP_MD_CTX_free(ctx);
  der.resize(len);
  EXPECT_EQ(check(input + "." + b64(der), keys, {alg::ES256}), status::bad_signature);
  // Padded to 64 bytes it still is not R || S.
  der.resize(64, '\0');
  EXPECT_EQ(check(input + "." + b64(der), keys, {alg::ES256}), status::bad_signature);
}

TEST(Attacks, WrongLengthEcdsaSignatures) {
  const std::string token = sign_token(alg::ES256);
  const auto keys = public_keys(alg::ES256);
  jose::jwt t;
  ASSERT_EQ(jose::parse(token, t), status::ok);
  const std::string prefix = token.substr(0, token.rfind('.') + 1);
  for (std::size_t n : {1u, 32u, 63u, 65u, 96u, 128u, 132u}) {
    std::string sig = t.signature;
    sig.resize(n, '\x01');
    EXPECT_EQ(check(prefix + b64(sig), keys, {alg::ES256}), status::bad_signature) << n;
  }
  // A valid signature with a leading zero byte added or the first byte dropped.
  EXPECT_EQ(check(prefix + b64(std::string(1, '\0') + t.signature), keys, {alg::ES256}), status::bad_signature);
  EXPECT_EQ(check(prefix + b64(t.signature.substr(1)), keys, {alg::ES256}), status::bad_signature);
}

TEST(Attacks, ZeroEcdsaSignature) {
  for (auto [a, size] : {std::pair{alg::ES256, 64u}, {alg::ES384, 96u}, {alg::ES512, 132u}}) {
    const std::string token = sign_token(a);
    const std::string prefix = token.substr(0, token.rfind('.') + 1);
    const auto keys = public_keys(a);
    EXPECT_EQ(check(prefix + b64(std::string(size, '\0')), keys, {a}), status::bad_signature);
    // r = 0 with a real s, and the reverse.
    jose::jwt t;
    ASSERT_EQ(jose::parse(token, t), status::ok);
    std::string r0 = t.signature, s0 = t.signature;
    std::fill(r0.begin(), r0.begin() + size / 2, '\0');
    std::fill(s0.begin() + size / 2, s0.end(), '\0');
    EXPECT_EQ(check(prefix + b64(r0), keys, {a}), status::bad_signature);
    EXPECT_EQ(check(prefix + b64(s0), keys, {a}), status::bad_signature);
  }
}

TEST(Attacks, EmbeddedKeysInTheHeaderAreIgnored) {
  // The attacker signs with their own Ed25519 key and ships it in `jwk`;
  // the provider trusts another Ed25519 key.
  jose::generated_key attacker;
  std::string error;
  ASSERT_TRUE(jose::generate_key(alg::EdDSA, "test-EdDSA", attacker, error)) << error;
  std::string attacker_jwk;
  ASSERT_TRUE(jose::public_jwk(attacker.signing, "test-EdDSA", attacker_jwk, error));
  const std::string headers[] = {
      R"({"alg":"EdDSA","kid":"test-EdDSA","jwk":)" + attacker_jwk + "}",
      R"({"alg":"EdDSA","jwk":)" + attacker_jwk + "}",
      R"({"alg":"EdDSA","kid":"test-EdDSA","jku":"https://attacker.example/jwks.json"})",
      R"({"alg":"EdDSA","x5u":"https://attacker.example/cert.pem"})",
      R"({"alg":"EdDSA","x5c":["MIIBszCCAVmgAwIBAgIUQ=="]})",
  };
  const auto keys = public_keys(alg::EdDSA);
  for (const auto& header : headers) {
    const std::string input = b64(header) + "." + b64(R"({"sub":"admin"})");
    std::string sig;
    ASSERT_TRUE(jose::sign_bytes(attacker.signing, input, sig, error));
    EXPECT_EQ(check(input + "." + b64(sig), keys, {alg::EdDSA}), status::bad_signature) << header;
  }
  // Unknown kid with an embedded key: still only our keys are consulted.
  const std::string header = R"({"alg":"EdDSA","kid":"attacker","jwk":)" + attacker_jwk + "}";
  const std::string input = b64(header) + "." + b64(R"({"sub":"admin"})");
  std::string sig;
  ASSERT_TRUE(jose::sign_bytes(attacker.signing, input, sig, error));
  EXPECT_EQ(check(input + "." + b64(sig), keys, {alg::EdDSA}), status::unknown_kid);
}

TEST(Attacks, DuplicateMembersCannotSmuggleClaims) {
  const auto keys = public_keys(alg::HS256);
  EXPECT_EQ(check(sign_raw(alg::HS256, R"({"alg":"HS256","alg":"none"})", R"({"sub":"a"})"), keys, {alg::HS256}),
            status::malformed);
  EXPECT_EQ(check(sign_raw(alg::HS256, R"({"alg":"HS256"})", R"({"sub":"user","sub":"admin"})"), keys, {alg::HS256}),
            status::malformed);
  EXPECT_EQ(check(sign_raw(alg::HS256, R"({"alg":"HS256"})", R"({"r":{"roles":["u"],"roles":["admin"]}})"), keys,
                  {alg::HS256}),
            status::malformed);
  EXPECT_EQ(check(sign_raw(alg::HS256, R"({"alg":"HS256","x":{"k":1,"k":2}})", R"({})"), keys, {alg::HS256}),
            status::malformed);
}

TEST(Attacks, PaddingAndNonCanonicalBase64AreRefusedEvenWhenSigned) {
  const std::string token = sign_token(alg::HS256, R"({"sub":"ab"})");
  const auto keys = public_keys(alg::HS256);
  ASSERT_EQ(check(token, keys, {alg::HS256}), status::ok);
  const std::string sig_part = token.substr(token.rfind('.') + 1);  // 43 chars for 32 bytes
  ASSERT_EQ(sig_part.size() % 4, 3u);
  EXPECT_EQ(check(token + "=", keys, {alg::HS256}), status::malformed);
  // Same bytes, different spelling: bump the 2 unused low bits of the last character.
  std::string twin = token;
  char& last = twin.back();
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  last = alphabet[alphabet.find(last) | 1];
  EXPECT_EQ(check(twin, keys, {alg::HS256}), status::malformed);
}

TEST(Attacks, OversizedTokensAreRefusedBeforeAnyCrypto) {
  const std::string token = sign_token(alg::HS256, R"({"pad":")" + std::string(13000, 'p') + "\"}");
  ASSERT_GT(token.size(), jose::max_token_bytes);
  EXPECT_EQ(check(token, public_keys(alg::HS256), {alg::HS256}), status::malformed);
}

TEST(Attacks, CritAndUnencodedPayloadEvenWhenSigned) {
  const auto keys = public_keys(alg::HS256);
  EXPECT_EQ(check(sign_raw(alg::HS256, R"({"alg":"HS256","crit":["b64"],"b64":false})", R"({})"), keys, {alg::HS256}),
            status::malformed);
  EXPECT_EQ(check(sign_raw(alg::HS256, R"({"alg":"HS256","b64":false})", R"({})"), keys, {alg::HS256}),
            status::malformed);
}

TEST(Attacks, ExpAsStringAndKidAsNumberEvenWhenSigned) {
  const auto keys = public_keys(alg::HS256);
  EXPECT_EQ(check(sign_raw(alg::HS256, R"({"alg":"HS256"})", R"({"exp":"9999999999"})"), keys, {alg::HS256}),
            status::malformed);
  EXPECT_EQ(check(sign_raw(alg::HS256, R"({"alg":"HS256","kid":1})", R"({})"), keys, {alg::HS256}),
            status::malformed);
}

TEST(Attacks, KidSelectsKeysAndUnknownKidIsReported) {
  jose::key a, b;
  std::string error;
  ASSERT_TRUE(jose::make_hmac_key("a", alg::HS256, std::string(32, 'a'), a, error));
  ASSERT_TRUE(jose::make_hmac_key("b", alg::HS256, std::string(32, 'b'), b, error));
  const jose::key_set keys({a, b});
  const auto forge = [](std::string_view kid, std::string_view secret) {
    const std::string input =
        b64(kid.empty() ? std::string(R"({"alg":"HS256"})") : R"({"alg":"HS256","kid":")" + std::string(kid) + "\"}") +
        "." + b64("{}");
    return input + "." + b64(hmac_sha256(secret, input));
  };
  EXPECT_EQ(check(forge("b", std::string(32, 'b')), keys, {alg::HS256}), status::ok);
  EXPECT_EQ(check(forge("a", std::string(32, 'b')), keys, {alg::HS256}), status::bad_signature);  // kid a: key a only
  EXPECT_EQ(check(forge("c", std::string(32, 'b')), keys, {alg::HS256}), status::unknown_kid);
  EXPECT_EQ(check(forge("", std::string(32, 'b')), keys, {alg::HS256}), status::ok);  // no kid: every key tried
  EXPECT_EQ(check(forge("", std::string(32, 'c')), keys, {alg::HS256}), status::bad_signature);
  EXPECT_EQ(check(forge("a", std::string(32, 'a')), jose::key_set(), {alg::HS256}), status::keys_unavailable);
}

}  // namespace
