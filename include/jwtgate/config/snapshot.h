#pragma once
// The compiled, immutable configuration. Built once per load or reload, shared
// as std::shared_ptr<const snapshot>; a request keeps the snapshot it started
// with. All cross references (route -> upstream, route -> providers) are resolved
// here, so the request path never looks anything up by name.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "jwtgate/config/config.h"
#include "jwtgate/jose/verify.h"
#include "jwtgate/keys/key_store.h"
#include "jwtgate/routing/cors.h"
#include "jwtgate/routing/route_table.h"

namespace jwtgate::config {

struct provider {
  const provider_config* cfg = nullptr;  // points into snapshot::source
  jose::claim_rules rules;               // derived from cfg
  std::shared_ptr<keys::key_store> keys; // static keys now; JWKS URLs publish later
  bool has_remote_keys = false;          // jwks_url sources or discovery
};

struct route {
  const route_config* cfg = nullptr;
  const upstream_config* upstream = nullptr;  // nullptr: forward-auth decisions only
  std::vector<const provider*> providers;     // file order of the route's list
  std::optional<routing::cors_policy> cors;   // SPEC section 10; none: no CORS handling
};

struct snapshot {
  config source;
  std::vector<provider> providers;    // same order as source.providers
  std::vector<route> routes;          // same order as source.routes
  routing::route_table table;         // matches requests to indexes of `routes`
  // Lower-cased names of every header any provider may inject (`headers` names
  // and `payload_header`): stripped from every incoming request.
  std::vector<std::string> identity_headers;
  // revocation: the admin API's bearer token (empty: the variable named by
  // admin_token_env is unset, so the API answers 403) and the Redis password,
  // both read from the environment at load.
  std::string revocation_admin_token;
  std::string redis_password;
  // Back-channel logout endpoints: normalized path -> provider.
  std::vector<std::pair<std::string, const provider*>> backchannel_paths;

  const provider* backchannel_provider(std::string_view path) const noexcept {
    for (const auto& [p, prov] : backchannel_paths)
      if (p == path) return prov;
    return nullptr;
  }

  const provider* find_provider(std::string_view name) const noexcept;
  const upstream_config* find_upstream(std::string_view name) const noexcept;
};

struct load_error {
  std::string file;
  int line = 0;    // 0: no position
  int column = 0;
  std::string message;
  std::string to_string() const;  // "FILE:LINE:COL: message"
};

struct load_result {
  std::shared_ptr<const snapshot> snap;  // null when errors is not empty
  std::vector<load_error> errors;        // every problem found, in file order
  std::vector<load_error> warnings;      // accepted but worth an operator's look
};

// Parses, validates and compiles; loads every static key source (secret_env,
// secret_file, public_key_file, jwks_file). jwks_url is only validated.
load_result load_file(const std::string& path);
load_result load_string(std::string_view yaml, const std::string& file_name);

}  // namespace jwtgate::config
