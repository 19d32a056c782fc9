// libFuzzer target: the parsers of revocation input that crosses a trust
// boundary (admin API entries, journal records read back from disk, Redis
// announcements, back-channel logout forms and logout tokens), with
// invariants: an accepted entry round-trips through its canonical JSON and a
// journal record, and the registry agrees with itself after adds and
// removals. The input is also a logout token's payload, signed here with the
// provider's HS256 secret so that the claim checks behind the signature are
// reached, and a whole token as a client would send it.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "jwtgate/auth/logout_token.h"
#include "jwtgate/config/snapshot.h"
#include "jwtgate/jose/base64url.h"
#include "jwtgate/keys/key_store.h"
#include "jwtgate/revocation/entry.h"
#include "jwtgate/revocation/journal.h"
#include "jwtgate/revocation/registry.h"

namespace {

namespace rv = jwtgate::revocation;

void check(bool ok) {
  if (!ok) std::abort();
}

const std::string secret(32, 's');

// A provider with back-channel logout and one HS256 key, made once.
struct logout_provider {
  jwtgate::config::provider_config cfg;
  jwtgate::config::provider provider;

  logout_provider() {
    cfg.name = "idp";
    cfg.issuer = "https://id.example.com";
    cfg.algorithms = {jwtgate::jose::alg::HS256};
    cfg.backchannel_logout = jwtgate::config::backchannel_logout_config{"/bcl", {"web", "mobile"}, {}};
    jwtgate::jose::key k;
    std::string error;
    check(jwtgate::jose::make_hmac_key("k1", jwtgate::jose::alg::HS256, secret, k, error));
    provider.cfg = &cfg;
    provider.keys = std::make_shared<jwtgate::keys::key_store>(
        std::make_shared<const jwtgate::jose::key_set>(std::vector<jwtgate::jose::key>{k}));
  }
};

std::string signed_token(std::string_view payload) {
  std::string token = jwtgate::jose::base64url_encode(R"({"alg":"HS256","kid":"k1","typ":"logout+jwt"})");
  token.push_back('.');
  jwtgate::jose::base64url_encode_append(payload, token);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(token.data()), token.size(), mac, &len);
  token.push_back('.');
  jwtgate::jose::base64url_encode_append(std::string_view(reinterpret_cast<const char*>(mac), len), token);
  return token;
}

void check_logout(const jwtgate::config::provider& p, std::string_view token, std::int64_t now) {
  jwtgate::auth::logout_request out;
  std::string error;
  if (jwtgate::auth::verify_logout_token(p, token, now, 3600, out, error)) {
    const auto& e = out.entry;
    check(!e.value.empty() && e.value.size() <= rv::max_value_bytes);
    check(e.iss == "https://id.example.com" && e.exp == now + 3600);
    check(e.type == rv::kind::sid || (e.type == rv::kind::sub && e.before == now));
    check(out.replay_key.starts_with(e.iss + "\n") && out.replay_key.size() > e.iss.size() + 1);
    check(out.replay_until > now);
  } else {
    check(!error.empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  constexpr std::int64_t now = 1'700'000'000;

  rv::entry e;
  std::string error;
  if (rv::parse_entry(input, {now, 3600}, e, error)) {
    check(!e.value.empty() && e.value.size() <= rv::max_value_bytes && e.exp > now);
    rv::entry back;
    check(rv::parse_entry(rv::to_json(e), {now, 3600}, back, error));
    check(back.same_identity(e) && back.exp == e.exp && back.before == e.before);
    char op = 0;
    check(rv::journal::parse_record(rv::journal::format_record('+', e), op, back, error) && op == '+');
    check(back.same_identity(e));

    rv::registry reg;
    reg.upsert(e);
    rv::token_facts t;
    t.set(e.type, e.value);
    t.iss = e.iss;
    check(reg.current()->check(t, now) == jwtgate::jose::status::revoked);
    check(reg.remove(e));
    check(reg.current()->check(t, now) == jwtgate::jose::status::ok);
  } else {
    check(!error.empty());
  }

  char op = 0;
  (void)rv::journal::parse_record(input, op, e, error);

  std::string token;
  if (jwtgate::auth::logout_token_from_form(input, token, error)) check(!token.empty() && token.size() <= size);

  static const logout_provider idp;
  check_logout(idp.provider, signed_token(input), now);
  check_logout(idp.provider, input, now);
  return 0;
}
