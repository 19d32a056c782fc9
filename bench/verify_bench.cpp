// jwtgate's full uncached verification (parse + verify_signature +
// verify_claims) next to the bare OpenSSL operation on the same input and key,
// for every algorithm, on Google Benchmark. After the run it prints one table:
// jwtgate ns, OpenSSL ns, their ratio and the target (<= 2x for HS*, <= 1.3x
// for every public-key algorithm).
//
// usage: jwtgate_bench [--quick] [--benchmark_filter=REGEX] [other --benchmark_* flags]
//
// Each benchmark runs several repetitions, in random order across benchmarks
// (see main); the table uses the minimum of the repetitions (each repetition is
// already a mean over many iterations), which drops the repetitions another
// process on a shared machine disturbed. The median ratio is shown next to it.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#include <benchmark/benchmark.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include "jwtgate/jose/base64url.h"
#include "jwtgate/jose/jwt.h"
#include "jwtgate/jose/keygen.h"
#include "jwtgate/jose/verify.h"

#include "bench_support.h"

namespace {

using jwtgate::bench::collecting_reporter;

namespace jose = jwtgate::jose;

constexpr jose::alg all_algs[] = {
    jose::alg::HS256, jose::alg::HS384, jose::alg::HS512, jose::alg::RS256, jose::alg::RS384,
    jose::alg::RS512, jose::alg::PS256, jose::alg::PS384, jose::alg::PS512, jose::alg::ES256,
    jose::alg::ES384, jose::alg::ES512, jose::alg::EdDSA,
};

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "jwtgate_bench: %s\n", message.c_str());
  std::exit(1);
}

struct md_free {
  void operator()(EVP_MD* p) const noexcept { EVP_MD_free(p); }
};
struct mac_ctx_free {
  void operator()(EVP_MAC_CTX* p) const noexcept { EVP_MAC_CTX_free(p); }
};

const char* digest_name(jose::alg a) {
  const std::string_view name = jose::to_string(a);
  if (name.ends_with("256")) return "SHA256";
  if (name.ends_with("384")) return "SHA384";
  return "SHA512";
}

// One algorithm's token and keys, built once before any timing.
struct case_input {
  jose::alg algorithm = jose::alg::HS256;
  std::string token;
  jose::key_set keys;
  jose::claim_rules rules;
  std::int64_t now = 0;
  // Bare side: what a caller that already split and decoded the token hands
  // OpenSSL. For ECDSA this stays the JWS form (raw R || S): converting it to
  // the DER OpenSSL wants is part of the work a verifier must do.
  std::string signing_input;
  std::string signature;
  std::string secret;                              // HS*
  evp_pkey_st* pkey = nullptr;                     // owned by `keys`
  std::unique_ptr<EVP_MD, md_free> md;             // null for EdDSA
  std::unique_ptr<EVP_MAC_CTX, mac_ctx_free> keyed_mac;  // HS*: the secret keyed once
};

std::unique_ptr<case_input> make_case(jose::alg a) {
  auto c = std::make_unique<case_input>();
  c->algorithm = a;
  jose::generated_key key;
  std::string error;
  if (!jose::generate_key(a, "bench-key", key, error)) die(error);
  c->now = 1'700'000'000;
  // A realistic access token: the claims an IdP issues, checked the way a
  // typical provider configuration checks them.
  const boost::json::object claims{
      {"iss", "https://id.example.com"}, {"sub", "user-1234567890"}, {"aud", "orders-api"},
      {"iat", c->now - 60},              {"exp", c->now + 840},       {"scope", "openid profile orders:read"},
      {"realm_access", {{"roles", {"user", "buyer"}}}}, {"jti", "5c1f3a0e-3b0f-4f43-9b8e-0e6f1c2d7a11"},
  };
  if (!jose::sign_jwt(key.signing, "bench-key", claims, c->token, error)) die(error);
  jose::jwks_result jwks;
  if (!jose::parse_jwks(key.jwks, jose::alg_set{a}, jwks, error) || jwks.keys.size() != 1) die("jwks: " + error);
  c->keys = jose::key_set(std::move(jwks.keys));
  c->rules.issuer = "https://id.example.com";
  c->rules.audiences = {"orders-api"};
  c->rules.required = {"exp"};
  c->rules.max_lifetime = std::chrono::hours(24);

  const auto dot = c->token.rfind('.');
  c->signing_input = c->token.substr(0, dot);
  if (!jose::base64url_decode(std::string_view(c->token).substr(dot + 1), c->signature))
    die("the signature does not decode");
  c->secret = key.signing.secret;
  c->pkey = c->keys.keys()[0].public_key.get();

  const jose::alg_family f = jose::family(a);
  if (f != jose::alg_family::eddsa) {
    c->md.reset(EVP_MD_fetch(nullptr, digest_name(a), nullptr));
    if (!c->md) die("EVP_MD_fetch");
  }
  if (f == jose::alg_family::hmac) {
    EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (mac == nullptr) die("EVP_MAC_fetch");
    c->keyed_mac.reset(EVP_MAC_CTX_new(mac));
    EVP_MAC_free(mac);  // the context keeps its own reference
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest_name(a)), 0),
        OSSL_PARAM_construct_end()};
    if (!c->keyed_mac ||
        EVP_MAC_init(c->keyed_mac.get(), reinterpret_cast<const unsigned char*>(c->secret.data()), c->secret.size(),
                     params) != 1)
      die("EVP_MAC_init");
  }
  return c;
}

bool jwtgate_verify(const case_input& c) {
  jose::jwt token;
  return jose::parse(c.token, token) == jose::status::ok &&
         jose::verify_signature(token, c.keys, jose::alg_set{c.algorithm}) == jose::status::ok &&
         jose::verify_claims(token, c.rules, c.now) == jose::status::ok;
}

// JWS R || S -> DER ECDSA-Sig-Value into `der` (large enough for P-521).
bool ecdsa_der(std::string_view raw, unsigned char (&der)[160], std::size_t& der_len) {
  const std::size_t half = raw.size() / 2;
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(bytes, static_cast<int>(half), nullptr);
  BIGNUM* s = BN_bin2bn(bytes + half, static_cast<int>(half), nullptr);
  if (sig == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return false;
  }
  const int needed = i2d_ECDSA_SIG(sig, nullptr);
  bool ok = needed > 0 && static_cast<std::size_t>(needed) <= sizeof der;
  if (ok) {
    unsigned char* out = der;
    ok = i2d_ECDSA_SIG(sig, &out) == needed;
    der_len = static_cast<std::size_t>(needed);
  }
  ECDSA_SIG_free(sig);
  return ok;
}

// HS*: HMAC() one-shot. Otherwise EVP_DigestVerify on a fresh EVP_MD_CTX, with
// the padding set for RS*/PS* and the R || S -> DER conversion for ES*.
bool bare_verify(const case_input& c) {
  const auto* input = reinterpret_cast<const unsigned char*>(c.signing_input.data());
  const auto* sig = reinterpret_cast<const unsigned char*>(c.signature.data());
  std::size_t sig_len = c.signature.size();
  const jose::alg_family f = jose::family(c.algorithm);
  if (f == jose::alg_family::hmac) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    return HMAC(c.md.get(), c.secret.data(), static_cast<int>(c.secret.size()), input, c.signing_input.size(), mac,
                &len) != nullptr &&
           len == sig_len && CRYPTO_memcmp(mac, sig, len) == 0;
  }
  unsigned char der[160];
  if (f == jose::alg_family::ecdsa) {
    if (!ecdsa_der(c.signature, der, sig_len)) return false;
    sig = der;
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  bool ok = ctx != nullptr && EVP_DigestVerifyInit(ctx, &pctx, c.md.get(), nullptr, c.pkey) == 1;
  if (ok && f == jose::alg_family::rsa_pss)
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, c.md.get()) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
  else if (ok && f == jose::alg_family::rsa_pkcs1)
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
  ok = ok && EVP_DigestVerify(ctx, sig, sig_len, input, c.signing_input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

// HS* only: the same HMAC with the key schedule done once (EVP_MAC_CTX_dup),
// the technique jwtgate itself uses, so the fairest HMAC baseline.
bool bare_keyed_hmac(const case_input& c) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  std::size_t len = 0;
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_dup(c.keyed_mac.get());
  const bool ok = ctx != nullptr &&
                  EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(c.signing_input.data()),
                                 c.signing_input.size()) == 1 &&
                  EVP_MAC_final(ctx, mac, &len, sizeof mac) == 1 && len == c.signature.size() &&
                  CRYPTO_memcmp(mac, c.signature.data(), len) == 0;
  EVP_MAC_CTX_free(ctx);
  return ok;
}

using operation = bool (*)(const case_input&);

// Registers one benchmark timing `op` on `c`, after checking once that it succeeds.
void add(const std::string& name, const case_input& c, operation op, int repetitions, double min_time) {
  if (!op(c)) die(name + ": the operation fails before timing");
  jwtgate::bench::configure(benchmark::RegisterBenchmark(name.c_str(),
                               [&c, op](benchmark::State& state) {
                                 for (auto _ : state) {
                                   bool ok = op(c);
                                   benchmark::DoNotOptimize(ok);
                                   if (!ok) {
                                     state.SkipWithError("the operation failed during the benchmark");
                                     break;
                                   }
                                 }
                               }),
      jwtgate::bench::run_options{false, repetitions, min_time});
}

std::string bench_name(jose::alg a, std::string_view side) {
  return "verify/" + std::string(jose::to_string(a)) + "/" + std::string(side);
}

// Returns false when some ratio is over its target.
bool print_table(const collecting_reporter& r) {
  std::printf("\njwtgate full uncached verify (parse + signature + claims) / bare OpenSSL, CPU ns per verify.\n"
              "Columns use the minimum over repetitions; 'median ratio' uses the medians.\n");
  std::printf("| alg   | jwtgate ns | OpenSSL ns | ratio | median ratio | target | result "
              "| keyed-HMAC ns | ratio to keyed |\n");
  std::printf("|-------|-----------:|-----------:|------:|-------------:|-------:|--------"
              "|--------------:|:---------------|\n");
  bool all_within = true;
  for (jose::alg a : all_algs) {
    const double ours = r.get(bench_name(a, "jwtgate"), "min");
    const double bare = r.get(bench_name(a, "openssl"), "min");
    if (ours == 0 || bare == 0) continue;  // filtered out
    const double ratio = ours / bare;
    const double ours_median = r.get(bench_name(a, "jwtgate"), "median");
    const double bare_median = r.get(bench_name(a, "openssl"), "median");
    const bool hmac = jose::family(a) == jose::alg_family::hmac;
    const double target = hmac ? 2.0 : 1.3;
    const bool within = ratio <= target;
    all_within = all_within && within;
    std::printf("| %-5s | %10.0f | %10.0f | %4.2fx | %11.2fx | <=%.1fx | %-6s |",
                std::string(jose::to_string(a)).c_str(), ours, bare, ratio,
                bare_median > 0 ? ours_median / bare_median : 0.0, target, within ? "PASS" : "OVER");
    const double keyed = hmac ? r.get(bench_name(a, "openssl_keyed"), "min") : 0;
    if (keyed > 0)
      std::printf(" %13.0f | %8.2fx %-4s |\n", keyed, ours / keyed, ours / keyed <= target ? "PASS" : "OVER");
    else
      std::printf(" %13s | %14s |\n", "-", "-");
  }
  std::printf("%s\n", all_within ? "all ratios within target" : "some ratios are OVER target");
  std::printf("OpenSSL column: HMAC() one-shot for HS*; EVP_DigestVerify on a fresh EVP_MD_CTX otherwise\n"
              "(ES*: R || S converted to DER inside the timed loop). 'result' judges that column.\n"
              "Keyed-HMAC: EVP_MAC_CTX_dup of a context keyed once, as jwtgate does; its ratio is\n"
              "shown against the same target for reference.\n");
  return all_within;
}

}  // namespace

int main(int argc, char** argv) {
  jwtgate::bench::run_options options;
  if (!jwtgate::bench::initialize(argc, argv, options)) return 2;
  const int repetitions = options.repetitions;
  const double min_time = options.min_time;

  std::vector<std::unique_ptr<case_input>> cases;
  for (jose::alg a : all_algs) {
    cases.push_back(make_case(a));
    const case_input& c = *cases.back();
    // jwtgate and bare OpenSSL for the same alg registered together: they are
    // listed side by side, and run back to back without random interleaving.
    add(bench_name(a, "jwtgate"), c, jwtgate_verify, repetitions, min_time);
    add(bench_name(a, "openssl"), c, bare_verify, repetitions, min_time);
    if (jose::family(a) == jose::alg_family::hmac)
      add(bench_name(a, "openssl_keyed"), c, bare_keyed_hmac, repetitions, min_time);
  }

  collecting_reporter reporter(isatty(STDOUT_FILENO) ? benchmark::ConsoleReporter::OO_ColorTabular
                                                     : benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  if (reporter.failed) die("an operation failed during the benchmark");
  print_table(reporter);
  // Over-target ratios are reported, not an error: a noisy machine must not
  // fail `make bench` before the cache benchmark runs.
  return 0;
}
