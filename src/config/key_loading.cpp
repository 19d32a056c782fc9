#include "config/key_loading.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "config/validators.h"

namespace jwtgate::config {
namespace {

constexpr std::size_t max_secret_bytes = 64 * 1024;
constexpr std::size_t max_key_file_bytes = 1024 * 1024;

std::string algorithm_list(jose::alg_set set) {
  std::string out;
  set.for_each([&](jose::alg a) {
    if (!out.empty()) out += ", ";
    out += jose::to_string(a);
  });
  return out;
}

// A secret file holds raw bytes; the newline editors and `echo` add is not part of it.
void trim_trailing_newlines(std::string& s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
}

class static_key_loader {
 public:
  static_key_loader(const provider_config& provider, diagnostics& d) : provider_(provider), d_(d) {}

  void load(const key_source& source) {
    switch (source.type) {
      case key_source::kind::secret_env: return load_secret_env(source);
      case key_source::kind::secret_file: return load_secret_file(source);
      case key_source::kind::public_key_file: return load_public_key(source);
      case key_source::kind::jwks_file: return load_jwks_file(source);
      case key_source::kind::jwks_url: return;  // fetched at run time
    }
  }

  std::vector<jose::key> take() { return std::move(keys_); }

 private:
  void fail(const key_source& source, const std::string& message) {
    d_.error(source.value_where.line ? source.value_where : source.where, "providers." + provider_.name + ": " + message);
  }

  void add_hmac(const key_source& source, std::string secret, const std::string& origin) {
    jose::key key;
    std::string error;
    if (!jose::make_hmac_key(source.kid, *source.algorithm, std::move(secret), key, error))
      return fail(source, origin + ": " + error);
    keys_.push_back(std::move(key));
  }

  void load_secret_env(const key_source& source) {
    const char* value = std::getenv(source.value.c_str());
    const std::string origin = "secret_env " + source.value;
    if (value == nullptr) return fail(source, origin + ": the environment variable is not set");
    if (*value == '\0') return fail(source, origin + ": the environment variable is empty");
    add_hmac(source, value, origin);
  }

  void load_secret_file(const key_source& source) {
    std::string secret, error;
    const std::string origin = "secret_file '" + source.value + "'";
    if (!read_small_file(source.value, max_secret_bytes, secret, error)) return fail(source, error);
    trim_trailing_newlines(secret);
    if (secret.empty()) return fail(source, origin + ": the file is empty");
    add_hmac(source, std::move(secret), origin);
  }

  void load_public_key(const key_source& source) {
    std::string pem, error;
    if (!read_small_file(source.value, max_key_file_bytes, pem, error)) return fail(source, error);
    jose::key key;
    if (!jose::load_public_key_pem(source.kid, *source.algorithm, pem, key, error))
      return fail(source, "public_key_file '" + source.value + "': " + error);
    keys_.push_back(std::move(key));
  }

  void load_jwks_file(const key_source& source) {
    std::string json, error;
    if (!read_small_file(source.value, max_key_file_bytes, json, error)) return fail(source, error);
    jose::alg_set allowed = provider_.algorithms;
    if (source.algorithm) allowed = allowed & jose::alg_set{*source.algorithm};
    const std::string origin = "jwks_file '" + source.value + "'";
    jose::jwks_result result;
    if (!jose::parse_jwks(json, allowed, result, error)) return fail(source, origin + ": " + error);
    for (const std::string& warning : result.warnings)
      d_.warning(source.value_where, "providers." + provider_.name + ": " + origin + ": " + warning);
    if (result.keys.empty())
      return fail(source, origin + ": no usable key for the provider's algorithms (" + algorithm_list(allowed) + ")");
    for (jose::key& key : result.keys) keys_.push_back(std::move(key));
  }

  const provider_config& provider_;
  diagnostics& d_;
  std::vector<jose::key> keys_;
};

// Sources the parser already refused (no alg, alg outside the provider's list)
// are not loaded: one problem, one message.
bool loadable(const provider_config& provider, const key_source& source) {
  if (source.value.empty()) return false;
  const bool needs_alg = source.type == key_source::kind::secret_env || source.type == key_source::kind::secret_file ||
                         source.type == key_source::kind::public_key_file;
  if (needs_alg && !source.algorithm) return false;
  if (needs_alg && (jose::family(*source.algorithm) == jose::alg_family::hmac) ==
                       (source.type == key_source::kind::public_key_file))
    return false;  // a secret for RS256 or a public key for HS256
  if (source.algorithm && !provider.algorithms.contains(*source.algorithm)) return false;
  if (source.alg_where.line && !source.algorithm) return false;  // an alg that did not parse
  return !provider.algorithms.empty();
}

}  // namespace

std::shared_ptr<const jose::key_set> load_static_keys(const provider_config& provider, diagnostics& d) {
  static_key_loader loader(provider, d);
  for (const key_source& source : provider.keys)
    if (loadable(provider, source)) loader.load(source);
  return std::make_shared<const jose::key_set>(loader.take());
}

}  // namespace jwtgate::config
