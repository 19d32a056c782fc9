// JWK / JWKS loading (RFC 7517, RFC 7518 section 6, RFC 8037 section 2).
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include "jose/openssl_util.h"
#include "jwtgate/jose/base64url.h"
#include "jwtgate/jose/json.h"
#include "jwtgate/jose/key_set.h"

namespace jwtgate::jose {
namespace {

namespace json = boost::json;

struct bn_deleter {
  void operator()(BIGNUM* b) const noexcept { BN_free(b); }
};
using bn_ptr = std::unique_ptr<BIGNUM, bn_deleter>;

struct param_bld_deleter {
  void operator()(OSSL_PARAM_BLD* b) const noexcept { OSSL_PARAM_BLD_free(b); }
};
struct params_deleter {
  void operator()(OSSL_PARAM* p) const noexcept { OSSL_PARAM_free(p); }
};

// One JWK being read; every refusal becomes a warning naming the key.
struct jwk_reader {
  const json::object& jwk;
  std::string label;  // `key "kid"` or `key #3`
  std::string problem;

  bool fail(std::string why) {
    problem = std::move(why);
    return false;
  }

  // A required base64url member.
  bool bytes(std::string_view name, std::string& out) {
    const auto* v = jwk.if_contains(name);
    if (v == nullptr || !v->is_string()) return fail("member \"" + std::string(name) + "\" is missing");
    if (!base64url_decode(v->get_string(), out) || out.empty())
      return fail("member \"" + std::string(name) + "\" is not canonical unpadded base64url");
    return true;
  }

  const json::string* string_member(std::string_view name) {
    const auto* v = jwk.if_contains(name);
    return v ? v->if_string() : nullptr;
  }
};

detail::pkey_ptr pkey_from_params(const char* type, OSSL_PARAM_BLD* bld) {
  std::unique_ptr<OSSL_PARAM, params_deleter> params(OSSL_PARAM_BLD_to_param(bld));
  detail::pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    detail::take_openssl_error();
    return {};
  }
  return detail::adopt_pkey(key);
}

detail::pkey_ptr rsa_key(jwk_reader& r) {
  std::string n, e;
  if (!r.bytes("n", n) || !r.bytes("e", e)) return {};
  bn_ptr bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()), static_cast<int>(n.size()), nullptr));
  bn_ptr bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()), static_cast<int>(e.size()), nullptr));
  if (!bn_n || !bn_e || BN_is_zero(bn_e.get()) || BN_is_one(bn_e.get()) || !BN_is_odd(bn_e.get())) {
    r.fail("RSA exponent is not an odd number above 1");
    return {};
  }
  std::unique_ptr<OSSL_PARAM_BLD, param_bld_deleter> bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    r.fail("out of memory");
    return {};
  }
  auto key = pkey_from_params("RSA", bld.get());
  if (!key) r.fail("RSA modulus or exponent refused by OpenSSL");
  return key;
}

std::optional<alg> ec_alg_for_curve(std::string_view crv) {
  if (crv == "P-256") return alg::ES256;
  if (crv == "P-384") return alg::ES384;
  if (crv == "P-521") return alg::ES512;
  return std::nullopt;
}

detail::pkey_ptr ec_key(jwk_reader& r, alg curve_alg) {
  const std::size_t size = detail::ecdsa_component_size(curve_alg);
  std::string x, y;
  if (!r.bytes("x", x) || !r.bytes("y", y)) return {};
  // RFC 7518 6.2.1.2 wants x and y at the full field size, but some issuers
  // (PyJWT 2.6 among them) drop leading zero bytes. Left-padding a shorter
  // coordinate is unambiguous and the point is validated below; a longer one
  // is refused.
  if (x.size() > size || y.size() > size) {
    r.fail("EC coordinates must be at most " + std::to_string(size) + " bytes each");
    return {};
  }
  x.insert(0, size - x.size(), '\0');
  y.insert(0, size - y.size(), '\0');
  std::string point = "\x04" + x + y;  // uncompressed SEC1 point
  std::unique_ptr<OSSL_PARAM_BLD, param_bld_deleter> bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, detail::ecdsa_curve_name(curve_alg), 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1) {
    r.fail("out of memory");
    return {};
  }
  auto key = pkey_from_params("EC", bld.get());
  // Full public-key validation: on the curve, not the point at infinity, right order.
  detail::pkey_ctx_ptr check(key ? EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr) : nullptr);
  if (!key || !check || EVP_PKEY_public_check(check.get()) != 1) {
    detail::take_openssl_error();
    r.fail("EC point is not on the curve " + std::string(r.string_member("crv")->c_str()));
    return {};
  }
  return key;
}

detail::pkey_ptr ed25519_key(jwk_reader& r) {
  std::string x;
  if (!r.bytes("x", x)) return {};
  if (x.size() != 32) {
    r.fail("Ed25519 public key must be 32 bytes");
    return {};
  }
  auto key = detail::adopt_pkey(EVP_PKEY_new_raw_public_key_ex(
      nullptr, "ED25519", nullptr, reinterpret_cast<const unsigned char*>(x.data()), x.size()));
  if (!key) {
    detail::take_openssl_error();
    r.fail("Ed25519 public key refused by OpenSSL");
  }
  return key;
}

// The algorithms a key type may ever verify (before the provider's list).
alg_set algs_for_type(std::string_view kty, const json::string* crv) {
  if (kty == "RSA")
    return {alg::RS256, alg::RS384, alg::RS512, alg::PS256, alg::PS384, alg::PS512};
  if (kty == "EC" && crv != nullptr) {
    if (auto a = ec_alg_for_curve(*crv)) return {*a};
    return {};
  }
  if (kty == "OKP" && crv != nullptr && *crv == "Ed25519") return {alg::EdDSA};
  if (kty == "oct") return {alg::HS256, alg::HS384, alg::HS512};
  return {};
}

// Reads one JWK into zero or more pinned entries; false with r.problem when skipped.
bool read_jwk(jwk_reader& r, alg_set allowed, std::vector<key>& out) {
  const json::object& jwk = r.jwk;
  std::string kid;
  if (const auto* v = jwk.if_contains("kid")) {
    if (!v->is_string()) return r.fail("\"kid\" is not a string");
    kid = std::string(v->get_string());
  }
  if (const auto* use = jwk.if_contains("use"); use != nullptr && !(use->is_string() && use->get_string() == "sig"))
    return r.fail("\"use\" is not \"sig\"");
  if (const auto* ops = jwk.if_contains("key_ops")) {
    bool verify = false;
    if (const auto* a = ops->if_array())
      for (const auto& op : *a) verify = verify || (op.is_string() && op.get_string() == "verify");
    if (!verify) return r.fail("\"key_ops\" does not include \"verify\"");
  }
  const auto* kty = r.string_member("kty");
  if (kty == nullptr) return r.fail("\"kty\" is missing");
  const auto* crv = r.string_member("crv");
  const alg_set type_algs = algs_for_type(*kty, crv);
  if (type_algs.empty()) {
    std::string type(*kty);
    if (crv != nullptr) type.append("/").append(crv->data(), crv->size());
    return r.fail("key type \"" + type + "\" is not supported");
  }

  alg_set usable = type_algs & allowed;
  if (const auto* pinned = jwk.if_contains("alg")) {
    const auto a = pinned->is_string() ? parse_alg(pinned->get_string()) : std::nullopt;
    if (!a) return r.fail("\"alg\" is not a supported JWS algorithm");
    if (!type_algs.contains(*a)) return r.fail("\"alg\" " + std::string(to_string(*a)) + " does not fit the key type");
    if (!allowed.contains(*a)) return r.fail("\"alg\" " + std::string(to_string(*a)) + " is not in the provider's algorithms");
    usable = alg_set{*a};
  }
  if (usable.empty()) return r.fail("none of the provider's algorithms fits this key type");

  if (*kty == "oct") {
    std::string secret;
    if (!r.bytes("k", secret)) return false;
    std::string last_error;
    usable.for_each([&](alg a) {
      key k;
      if (make_hmac_key(kid, a, secret, k, last_error)) out.push_back(std::move(k));
    });
    if (out.empty()) return r.fail(last_error);
    return true;
  }

  detail::pkey_ptr pkey;
  if (*kty == "RSA") pkey = rsa_key(r);
  else if (*kty == "EC") pkey = ec_key(r, *ec_alg_for_curve(*crv));
  else pkey = ed25519_key(r);
  if (!pkey) return false;

  std::string last_error;
  usable.for_each([&](alg a) {
    if (detail::check_key_for_alg(pkey.get(), a, last_error))
      out.push_back(key{kid, a, {}, pkey, nullptr, detail::verify_template(pkey.get(), a)});
  });
  if (out.empty()) return r.fail(last_error);
  return true;
}

std::string label_for(const json::value& v, std::size_t index) {
  if (const auto* o = v.if_object())
    if (const auto* kid = o->if_contains("kid"); kid != nullptr && kid->is_string())
      return "key \"" + std::string(kid->get_string()) + "\"";
  return "key #" + std::to_string(index) + " (no kid)";
}

}  // namespace

bool parse_jwks(std::string_view text, alg_set allowed, jwks_result& out, std::string& error) {
  out = jwks_result{};
  json::object doc;
  if (!parse_json_object(text, doc, error)) return false;

  json::array single;
  const json::array* keys = nullptr;
  if (const auto* v = doc.if_contains("keys")) {
    keys = v->if_array();
    if (keys == nullptr) {
      error = "JWKS member \"keys\" is not an array";
      return false;
    }
  } else if (doc.contains("kty")) {
    single.emplace_back(std::move(doc));
    keys = &single;
  } else {
    error = "not a JWKS document (no \"keys\" array) nor a JWK (no \"kty\")";
    return false;
  }

  for (std::size_t i = 0; i < keys->size(); ++i) {
    const json::value& entry = (*keys)[i];
    const std::string label = label_for(entry, i);
    const auto* jwk = entry.if_object();
    if (jwk == nullptr) {
      out.warnings.push_back(label + " skipped: not a JSON object");
      continue;
    }
    jwk_reader reader{*jwk, label, {}};
    std::vector<key> entries;
    if (!read_jwk(reader, allowed, entries)) {
      out.warnings.push_back(label + " skipped: " + reader.problem);
      continue;
    }
    for (auto& k : entries) out.keys.push_back(std::move(k));
  }
  return true;
}

}  // namespace jwtgate::jose
