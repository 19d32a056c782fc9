#pragma once
// The configuration file as plain data, exactly as SPEC section 2 describes it,
// with the SPEC's defaults. The loader fills it; validation and compilation into
// a snapshot happen afterwards.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "jwtgate/jose/alg.h"
#include "jwtgate/jose/verify.h"

namespace jwtgate::config {

using namespace std::chrono_literals;
using duration = std::chrono::milliseconds;

// Where a value came from, for FILE:LINE:COL messages (1-based; 0 = unknown).
struct mark {
  int line = 0;
  int column = 0;
};

struct tls_files {
  std::string cert_file;
  std::string key_file;
};

struct listen_config {
  std::string address = "0.0.0.0";
  std::uint16_t port = 8080;
  std::optional<tls_files> tls;
  bool http2 = true;  // h2 through ALPN on TLS, h2c prior knowledge on plain
};

struct admin_config {
  std::string address = "127.0.0.1";
  std::uint16_t port = 9901;
};

struct server_config {
  unsigned threads = 0;  // 0: one event loop per CPU core
  std::size_t max_header_bytes = 16384;
  std::uint64_t max_body_bytes = 0;  // 0: unlimited
  duration header_timeout = 10s;
  duration idle_timeout = 60s;
  duration drain_timeout = 15s;
  std::size_t max_connections = 10000;
  std::string access_log = "stdout";  // stdout | off | file path
  std::size_t token_cache_entries = 10000;  // per event loop; 0 disables the cache
  bool cpu_affinity = false;  // pin event loop i to the i-th CPU the process may use
  std::uint32_t max_concurrent_streams = 100;  // per client HTTP/2 connection
};

struct upstream_tls {
  std::string ca_file;  // empty: system store
  bool verify = true;
  std::string server_name;  // empty: the URL's host
};

struct upstream_config {
  std::string name;
  std::string url;
  // Parsed from url. The URL's path must be empty or "/".
  bool https = false;
  std::string host;
  std::uint16_t port = 0;
  duration connect_timeout = 2s;
  duration timeout = 30s;
  std::size_t max_idle_connections = 64;
  enum class wire { http1, h2 };
  wire protocol = wire::http1;  // h2: h2c for http://, ALPN h2 for https://
  upstream_tls tls;
  mark where;
};

struct key_source {
  enum class kind { secret_env, secret_file, public_key_file, jwks_file, jwks_url };
  kind type = kind::secret_env;
  std::string kid;                  // empty: none
  std::optional<jose::alg> algorithm;  // required for secret_* and public_key_file
  std::string value;                // variable name, file path or URL
  std::string ca_file;              // jwks_url over https: extra CA bundle
  mark where;        // the list entry
  mark alg_where;    // the `alg` value (0 when absent)
  mark value_where;  // the source's value (variable name, path or URL)
};

struct token_source {
  enum class kind { header, cookie, query };
  kind type = kind::header;
  std::string name;    // header, cookie or query parameter name
  std::string prefix;  // header only; matched case-insensitively
};

// OpenID Connect Back-Channel Logout 1.0 receiver of a provider (SPEC 8).
struct backchannel_logout_config {
  std::string path;                    // on the main listener; never proxied
  std::vector<std::string> audiences;  // the logout token's aud must contain one
  mark where;
};

struct provider_config {
  std::string name;
  std::optional<std::string> issuer;
  std::vector<std::string> audiences;
  std::vector<std::string> types;  // RFC 9068 `typ` values (at+jwt); empty: typ not checked
  jose::alg_set algorithms;
  std::vector<key_source> keys;
  bool discovery = false;
  std::string ca_file;  // discovery (and the jwks_uri it finds) over https; empty: system store
  duration jwks_refresh = 5min;
  duration jwks_min_refresh = 30s;
  // Tokens without a `kid` are refused (malformed) instead of being tried
  // against every key of their alg: one verification per key for a forgery.
  bool require_kid = false;
  std::vector<token_source> token_from{{token_source::kind::header, "Authorization", "Bearer "}};
  duration clock_skew = 60s;
  std::optional<duration> max_lifetime;
  std::vector<std::string> require_claims{"exp"};
  std::vector<jose::claim_requirement> claims;
  std::vector<std::pair<std::string, std::string>> headers;  // header name -> claim path, file order
  std::string payload_header;  // empty: none
  bool forward_token = true;
  std::optional<backchannel_logout_config> backchannel_logout;
  mark where;
  mark algorithms_where;  // the `algorithms` value
};

struct forward_auth_config {
  std::string path;
};

struct route_auth {
  enum class mode { none, required, optional };
  mode type = mode::required;
  std::vector<std::string> providers;
  std::vector<std::string> scopes;
  std::vector<jose::claim_requirement> claims;
};

// SPEC section 10. Origins are kept as written, validated by the loader.
struct cors_config {
  std::vector<std::string> allow_origins;  // exact origins, or "*" alone (without credentials)
  std::vector<std::string> allow_methods;  // empty: the route's methods, else GET, HEAD, POST
  std::vector<std::string> allow_headers;
  std::vector<std::string> expose_headers;
  bool allow_credentials = false;
  std::optional<duration> max_age;  // none: no Access-Control-Max-Age
  mark where;
};

struct route_config {
  std::string name;
  std::string path;         // exact; empty when path_prefix is used
  std::string path_prefix;  // segment-aware
  std::vector<std::string> methods;  // empty: any
  std::string host;         // empty: any
  std::string upstream;     // empty: forward-auth decisions only
  route_auth auth;
  std::optional<cors_config> cors;
  mark where;
  mark upstream_where;                // the `upstream` value
  std::vector<mark> providers_where;  // one per auth.providers entry
};

struct redis_config {
  std::string url = "redis://127.0.0.1:6379/0";  // redis:// or rediss:// (TLS)
  // Parsed from url.
  bool tls = false;
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  unsigned database = 0;
  std::string password_env;  // empty: no AUTH
  std::string key_prefix = "jwtgate:";
  duration timeout = 500ms;  // connect and each command
  upstream_tls tls_options;  // `tls:` (rediss:// only): ca_file, verify, server_name
  mark where;
};

struct revocation_config {
  enum class store_kind { local, redis };
  enum class error_policy { serve_last, deny };
  store_kind store = store_kind::local;
  std::string file;  // local only; empty: memory only
  redis_config redis;
  error_policy on_store_error = error_policy::serve_last;
  duration default_ttl = 720h;
  std::string admin_token_env = "JWTGATE_ADMIN_TOKEN";
  mark where;
};

struct config {
  std::string file;  // the path it was loaded from
  listen_config listen;
  std::optional<admin_config> admin;
  server_config server;
  std::vector<upstream_config> upstreams;  // file order
  std::vector<provider_config> providers;  // file order
  std::optional<forward_auth_config> forward_auth;
  std::optional<revocation_config> revocation;
  std::vector<route_config> routes;        // file order; first match wins
};

}  // namespace jwtgate::config
