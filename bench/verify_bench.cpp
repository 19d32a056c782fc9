// jwtgate's full uncached verification (parse + verify_signature +
// verify_claims) next to the bare OpenSSL operation on the same input and key,
// for every algorithm, in one run. Prints a table of ns/op and the ratio.
//
// usage: jwtgate_bench [--quick]
//
// Each side runs in alternating timed batches; the fastest batch of each side
// is kept, which filters out the noise of a shared machine.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/core_names.h>
#include <openssl/rsa.h>

#include "jwtgate/jose/base64url.h"
#include "jwtgate/jose/jwt.h"
#include "jwtgate/jose/keygen.h"
#include "jwtgate/jose/verify.h"

namespace {

namespace jose = jwtgate::jose;
using clock_type = std::chrono::steady_clock;

constexpr jose::alg all_algs[] = {
    jose::alg::HS256, jose::alg::HS384, jose::alg::HS512, jose::alg::RS256, jose::alg::RS384,
    jose::alg::RS512, jose::alg::PS256, jose::alg::PS384, jose::alg::PS512, jose::alg::ES256,
    jose::alg::ES384, jose::alg::ES512, jose::alg::EdDSA,
};

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "jwtgate_bench: %s\n", message.c_str());
  std::exit(1);
}

// Prevents the compiler from dropping a result.
volatile int sink = 0;

double ns_per_op(const std::function<bool()>& op, std::size_t iterations) {
  const auto start = clock_type::now();
  int ok = 0;
  for (std::size_t i = 0; i < iterations; ++i) ok += op() ? 1 : 0;
  const auto elapsed = clock_type::now() - start;
  sink = sink + ok;
  if (static_cast<std::size_t>(ok) != iterations) die("an operation failed during the benchmark");
  return std::chrono::duration<double, std::nano>(elapsed).count() / static_cast<double>(iterations);
}

struct case_input {
  jose::alg algorithm;
  std::string token;
  jose::key_set keys;
  jose::claim_rules rules;
  std::int64_t now = 0;
  // Bare side: what a caller that already split and decoded the token hands OpenSSL.
  std::string signing_input;
  std::string signature;  // DER for ECDSA
  std::string secret;
  evp_pkey_st* pkey = nullptr;
  const EVP_MD* md = nullptr;
  EVP_MAC_CTX* keyed_mac = nullptr;  // HS*: the secret keyed once, as jwtgate keeps it
};

case_input make_case(jose::alg a) {
  case_input c;
  c.algorithm = a;
  jose::generated_key key;
  std::string error;
  if (!jose::generate_key(a, "bench-key", key, error)) die(error);
  c.now = 1'700'000'000;
  const boost::json::object claims{
      {"iss", "https://id.example.com"}, {"sub", "user-1234567890"}, {"aud", "orders-api"},
      {"iat", c.now - 60},               {"exp", c.now + 840},        {"scope", "openid profile orders:read"},
      {"realm_access", {{"roles", {"user", "buyer"}}}}, {"jti", "5c1f3a0e-3b0f-4f43-9b8e-0e6f1c2d7a11"},
  };
  if (!jose::sign_jwt(key.signing, "bench-key", claims, c.token, error)) die(error);
  jose::jwks_result jwks;
  if (!jose::parse_jwks(key.jwks, jose::alg_set{a}, jwks, error) || jwks.keys.size() != 1) die("jwks: " + error);
  c.keys = jose::key_set(std::move(jwks.keys));
  c.rules.issuer = "https://id.example.com";
  c.rules.audiences = {"orders-api"};
  c.rules.required = {"exp"};
  c.rules.max_lifetime = std::chrono::hours(24);

  const auto dot = c.token.rfind('.');
  c.signing_input = c.token.substr(0, dot);
  if (!jose::base64url_decode(std::string_view(c.token).substr(dot + 1), c.signature)) die("base64url");
  c.secret = key.signing.secret;
  c.pkey = c.keys.keys()[0].public_key.get();
  const char* md_name = nullptr;
  switch (jose::family(a)) {
    case jose::alg_family::eddsa: break;
    default:
      md_name = std::string_view(jose::to_string(a)).ends_with("256")   ? "SHA256"
                : std::string_view(jose::to_string(a)).ends_with("384") ? "SHA384"
                                                                         : "SHA512";
  }
  c.md = md_name ? EVP_MD_fetch(nullptr, md_name, nullptr) : nullptr;
  if (jose::family(a) == jose::alg_family::hmac) {
    c.keyed_mac = EVP_MAC_CTX_new(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(md_name), 0),
                           OSSL_PARAM_construct_end()};
    if (EVP_MAC_init(c.keyed_mac, reinterpret_cast<const unsigned char*>(c.secret.data()), c.secret.size(),
                     params) != 1)
      die("EVP_MAC_init");
  }
  if (jose::family(a) == jose::alg_family::ecdsa) {
    // Re-encode R || S as DER once, outside the timed loop.
    const std::size_t half = c.signature.size() / 2;
    ECDSA_SIG* sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig, BN_bin2bn(reinterpret_cast<const unsigned char*>(c.signature.data()), int(half), nullptr),
                   BN_bin2bn(reinterpret_cast<const unsigned char*>(c.signature.data()) + half, int(half), nullptr));
    unsigned char* der = nullptr;
    const int len = i2d_ECDSA_SIG(sig, &der);
    c.signature.assign(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
  }
  return c;
}

bool jwtgate_verify(const case_input& c) {
  jose::jwt token;
  return jose::parse(c.token, token) == jose::status::ok &&
         jose::verify_signature(token, c.keys, jose::alg_set{c.algorithm}) == jose::status::ok &&
         jose::verify_claims(token, c.rules, c.now) == jose::status::ok;
}

bool bare_verify(const case_input& c) {
  const auto* input = reinterpret_cast<const unsigned char*>(c.signing_input.data());
  const auto* sig = reinterpret_cast<const unsigned char*>(c.signature.data());
  if (jose::family(c.algorithm) == jose::alg_family::hmac) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    return HMAC(c.md, c.secret.data(), int(c.secret.size()), input, c.signing_input.size(), mac, &len) != nullptr &&
           len == c.signature.size() && CRYPTO_memcmp(mac, sig, len) == 0;
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  bool ok = EVP_DigestVerifyInit(ctx, &pctx, c.md, nullptr, c.pkey) == 1;
  if (ok && jose::family(c.algorithm) == jose::alg_family::rsa_pss)
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, c.md) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
  else if (ok && jose::family(c.algorithm) == jose::alg_family::rsa_pkcs1)
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
  ok = ok && EVP_DigestVerify(ctx, sig, c.signature.size(), input, c.signing_input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

// HS* only: the same HMAC with the key schedule done once (EVP_MAC_CTX_dup),
// the technique jwtgate itself uses. Shown for reference.
bool bare_keyed_hmac(const case_input& c) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  std::size_t len = 0;
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_dup(c.keyed_mac);
  const bool ok = ctx != nullptr &&
                  EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(c.signing_input.data()),
                                 c.signing_input.size()) == 1 &&
                  EVP_MAC_final(ctx, mac, &len, sizeof mac) == 1 && len == c.signature.size() &&
                  CRYPTO_memcmp(mac, c.signature.data(), len) == 0;
  EVP_MAC_CTX_free(ctx);
  return ok;
}

struct row {
  std::string name;
  double jwtgate_ns, bare_ns;
  double target;
  double keyed_ns = 0;  // HS* only
};

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const double batch_seconds = quick ? 0.02 : 0.1;
  const int rounds = quick ? 3 : 7;
  std::vector<row> rows;

  std::printf("%-6s %14s %14s %7s   (best of %d alternating batches of ~%.0f ms)\n", "alg", "jwtgate ns/op",
              "openssl ns/op", "ratio", rounds, batch_seconds * 1000);
  for (jose::alg a : all_algs) {
    const case_input c = make_case(a);
    const auto ours = [&c] { return jwtgate_verify(c); };
    const auto bare = [&c] { return bare_verify(c); };
    // Calibrate the batch size on the slower side.
    const double probe = ns_per_op(ours, 50);
    const auto iterations = static_cast<std::size_t>(std::max(10.0, batch_seconds * 1e9 / probe));
    const bool hmac = jose::family(a) == jose::alg_family::hmac;
    const auto keyed = [&c] { return bare_keyed_hmac(c); };
    double best_ours = 1e300, best_bare = 1e300, best_keyed = 1e300;
    for (int r = 0; r < rounds; ++r) {
      best_bare = std::min(best_bare, ns_per_op(bare, iterations));
      best_ours = std::min(best_ours, ns_per_op(ours, iterations));
      if (hmac) best_keyed = std::min(best_keyed, ns_per_op(keyed, iterations));
    }
    const double target = hmac ? 2.0 : 1.3;
    rows.push_back({std::string(jose::to_string(a)), best_ours, best_bare, target, hmac ? best_keyed : 0});
    std::printf("%-6s %14.0f %14.0f %6.2fx\n", rows.back().name.c_str(), best_ours, best_bare, best_ours / best_bare);
    std::fflush(stdout);
  }

  std::printf("\njwtgate / bare OpenSSL (full uncached verify: parse + signature + claims)\n");
  std::printf("| alg   | jwtgate µs | OpenSSL µs | ratio | target | ok | OpenSSL keyed-HMAC µs | ratio to it |\n");
  std::printf("|-------|-----------:|-----------:|------:|-------:|----|----------------------:|------------:|\n");
  bool all_ok = true;
  for (const auto& r : rows) {
    const double ratio = r.jwtgate_ns / r.bare_ns;
    const bool ok = ratio <= r.target;
    all_ok = all_ok && ok;
    std::printf("| %-5s | %10.2f | %10.2f | %4.2fx | <=%.1fx | %-3s |", r.name.c_str(), r.jwtgate_ns / 1000,
                r.bare_ns / 1000, ratio, r.target, ok ? "yes" : "NO");
    if (r.keyed_ns > 0) std::printf(" %21.2f | %10.2fx |\n", r.keyed_ns / 1000, r.jwtgate_ns / r.keyed_ns);
    else std::printf(" %21s | %11s |\n", "-", "-");
  }
  std::printf("%s\n", all_ok ? "all within target" : "some ratios are above target");
  std::printf("OpenSSL column: HMAC() one-shot for HS*, EVP_DigestVerify (fresh EVP_MD_CTX) otherwise.\n"
              "Keyed-HMAC column: EVP_MAC_CTX_dup of a context keyed once, as jwtgate does.\n");
  return 0;
}
