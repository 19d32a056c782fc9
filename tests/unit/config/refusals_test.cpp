// Every configuration SPEC section 2 refuses, reported at the offending line.

#include <cstdlib>

#include "config_test_support.h"

namespace jwtgate::config::testing {
namespace {

// A provider block (its lines start at line 1) followed by the minimal rest.
load_result load_provider(std::string_view provider_yaml) {
  return load(std::string(provider_yaml) + minimal_config());
}

TEST(Refusals, NoneInAlgorithmsAnyCase) {
  for (std::string_view none : {"none", "None", "NONE", "nOnE"}) {
    auto r = load_provider("providers:\n  p:\n    algorithms: [HS256, " + std::string(none) +
                           "]\n    keys: [{alg: HS256, secret_file: keys/hmac-secret-40.txt}]\n");
    EXPECT_TRUE(has_error(r, 3, "'none' is never allowed")) << none;
  }
}

TEST(Refusals, UnknownAlgorithm) {
  auto r = load_provider("providers:\n  p:\n    algorithms: [HS256, rs256, HS1024]\n"
                         "    keys: [{alg: HS256, secret_file: keys/hmac-secret-40.txt}]\n");
  EXPECT_TRUE(has_error(r, 3, "unknown algorithm 'rs256'"));
  EXPECT_TRUE(has_error(r, 3, "unknown algorithm 'HS1024'"));
}

TEST(Refusals, AlgorithmsMissingOrEmpty) {
  auto missing = load_provider("providers:\n  p:\n    keys: [{jwks_file: keys/jwks.json}]\n");
  EXPECT_TRUE(has_error(missing, 2, "algorithms is required"));
  auto empty = load_provider("providers:\n  p:\n    algorithms: []\n    keys: [{jwks_file: keys/jwks.json}]\n");
  EXPECT_TRUE(has_error(empty, 3, "list at least one algorithm"));
}

TEST(Refusals, KeyAlgNotInProviderAlgorithms) {
  auto r = load_provider("providers:\n  p:\n    algorithms: [RS256]\n    keys:\n      - alg: HS256\n"
                         "        secret_file: keys/hmac-secret-40.txt\n");
  EXPECT_TRUE(has_error(r, 5, "key alg HS256 is not in the provider's algorithms"));
  EXPECT_EQ(r.errors.size(), 1u) << "the key is not loaded as well: " << all_errors(r);
}

TEST(Refusals, HmacSecretShorterThanHashOutput) {
  auto short256 = load_provider("providers:\n  p:\n    algorithms: [HS256]\n    keys:\n      - alg: HS256\n"
                                "        secret_file: keys/hmac-secret-16.txt\n");
  EXPECT_TRUE(has_error(short256, 6, "secret_file"));
  // 40 bytes suffice for HS256 but not for HS384 (48).
  auto short384 = load_provider("providers:\n  p:\n    algorithms: [HS384]\n    keys:\n      - alg: HS384\n"
                                "        secret_file: keys/hmac-secret-40.txt\n");
  EXPECT_TRUE(has_error(short384, 6, "secret_file"));
}

TEST(Refusals, RsaKeyUnder2048Bits) {
  auto r = load_provider("providers:\n  p:\n    algorithms: [RS256]\n    keys:\n      - alg: RS256\n"
                         "        public_key_file: keys/rsa-1024-public.pem\n");
  EXPECT_TRUE(has_error(r, 6, "public_key_file"));
  auto ok = load_provider("providers:\n  p:\n    algorithms: [RS256]\n    keys:\n      - alg: RS256\n"
                          "        public_key_file: keys/rsa-2048-public.pem\n");
  EXPECT_TRUE(ok.errors.empty()) << all_errors(ok);
}

TEST(Refusals, EcCurveNotMatchingAlg) {
  auto r = load_provider("providers:\n  p:\n    algorithms: [ES256]\n    keys:\n      - alg: ES256\n"
                         "        public_key_file: keys/ec-p384-public.pem\n");
  EXPECT_TRUE(has_error(r, 6, "public_key_file"));
  auto ok = load_provider("providers:\n  p:\n    algorithms: [ES384]\n    keys:\n      - alg: ES384\n"
                          "        public_key_file: keys/ec-p384-public.pem\n");
  EXPECT_TRUE(ok.errors.empty()) << all_errors(ok);
}

TEST(Refusals, SecretEnvMissingOrEmpty) {
  ::unsetenv("JWTGATE_TEST_UNSET_SECRET");
  ::setenv("JWTGATE_TEST_EMPTY_SECRET", "", 1);
  auto r = load_provider("providers:\n  p:\n    algorithms: [HS256]\n    keys:\n"
                         "      - {alg: HS256, secret_env: JWTGATE_TEST_UNSET_SECRET}\n"
                         "      - {alg: HS256, secret_env: JWTGATE_TEST_EMPTY_SECRET}\n");
  EXPECT_TRUE(has_error(r, 5, "JWTGATE_TEST_UNSET_SECRET: the environment variable is not set"));
  EXPECT_TRUE(has_error(r, 6, "JWTGATE_TEST_EMPTY_SECRET: the environment variable is empty"));
  ::setenv("JWTGATE_TEST_GOOD_SECRET", "0123456789abcdef0123456789abcdef", 1);
  auto ok = load_provider("providers:\n  p:\n    algorithms: [HS256]\n    keys:\n"
                          "      - {alg: HS256, secret_env: JWTGATE_TEST_GOOD_SECRET}\n");
  EXPECT_TRUE(ok.errors.empty()) << all_errors(ok);
  ASSERT_TRUE(ok.snap);
  EXPECT_EQ(ok.snap->providers[0].keys->current()->keys().size(), 1u);
}

TEST(Refusals, RouteNamingUnknownUpstreamOrProvider) {
  auto r = load(std::string(hs256_provider) + std::string(app_upstream) +
                "routes:\n  - name: a\n    path: /a\n    upstream: ap\n    auth:\n      providers: [corp, crop]\n");
  EXPECT_TRUE(has_error(r, 13, "unknown upstream 'ap'"));
  EXPECT_TRUE(has_error(r, 15, "unknown provider 'crop'"));
  EXPECT_EQ(r.errors.size(), 2u) << all_errors(r);
}

TEST(Refusals, ProviderWithoutKeySource) {
  auto r = load_provider("providers:\n  p:\n    algorithms: [RS256]\n");
  EXPECT_TRUE(has_error(r, 2, "no key source"));
  auto empty = load_provider("providers:\n  p:\n    algorithms: [RS256]\n    keys: []\n");
  EXPECT_TRUE(has_error(empty, 2, "no key source"));
}

TEST(Refusals, UnreadableFiles) {
  auto r = load(R"(listen:
  tls: {cert_file: missing/cert.pem, key_file: keys}
upstreams:
  app:
    url: https://127.0.0.1:9443
    tls: {ca_file: missing/ca.pem}
providers:
  p:
    algorithms: [HS256, RS256]
    keys:
      - {alg: HS256, secret_file: missing/secret}
      - {alg: RS256, public_key_file: missing/key.pem}
      - {jwks_file: missing/jwks.json}
      - {jwks_url: 'https://id.example.com/jwks', ca_file: missing/idp-ca.pem}
routes:
  - {name: r, path: /, upstream: app, auth: none}
)");
  EXPECT_TRUE(has_error(r, 2, "cannot read '" + fixture_config_dir() + "/missing/cert.pem': no such file"));
  EXPECT_TRUE(has_error(r, 2, "not a regular file")) << "a directory is not a key file";
  EXPECT_TRUE(has_error(r, 6, "missing/ca.pem"));
  EXPECT_TRUE(has_error(r, 11, "missing/secret"));
  EXPECT_TRUE(has_error(r, 12, "missing/key.pem"));
  EXPECT_TRUE(has_error(r, 13, "missing/jwks.json"));
  EXPECT_TRUE(has_error(r, 14, "missing/idp-ca.pem"));
  EXPECT_EQ(r.errors.size(), 7u) << "one message per problem: " << all_errors(r);
}

TEST(Refusals, JwksFileWithoutUsableKey) {
  auto r = load_provider("providers:\n  p:\n    algorithms: [RS256]\n    keys:\n"
                         "      - jwks_file: keys/jwks-ec-only.json\n");
  EXPECT_TRUE(has_error(r, 5, "no usable key for the provider's algorithms (RS256)"));
}

TEST(Refusals, DiscoveryWithoutIssuer) {
  auto r = load_provider("providers:\n  p:\n    algorithms: [RS256]\n    discovery: true\n");
  EXPECT_TRUE(has_error(r, 4, "discovery needs an issuer"));
}

TEST(Refusals, RoutePathAndPrefixNeitherOrBoth) {
  auto r = load(std::string(app_upstream) +
                "routes:\n  - {name: a, upstream: app, auth: none}\n"
                "  - {name: b, path: /b, path_prefix: /b, upstream: app, auth: none}\n");
  EXPECT_TRUE(has_error(r, 5, "exactly one of path (exact) and path_prefix"));
  EXPECT_TRUE(has_error(r, 6, "exactly one of path (exact) and path_prefix"));
}

TEST(Refusals, PathsMustBeNormalizedAbsolute) {
  auto r = load(std::string(app_upstream) +
                "routes:\n  - {name: a, path: healthz, upstream: app, auth: none}\n"
                "  - {name: b, path_prefix: 'api/', upstream: app, auth: none}\n"
                "  - {name: c, path_prefix: /a/../b, upstream: app, auth: none}\n"
                "forward_auth: {path: _auth}\n");
  EXPECT_TRUE(has_error(r, 5, "must start with '/'"));
  EXPECT_TRUE(has_error(r, 6, "must start with '/'"));
  EXPECT_TRUE(has_error(r, 7, "'..' segments"));
  EXPECT_TRUE(has_error(r, 8, "forward_auth.path: '_auth' must start with '/'"));
}

TEST(Refusals, DuplicateRouteNames) {
  auto r = load(std::string(app_upstream) +
                "routes:\n  - {name: a, path: /a, upstream: app, auth: none}\n"
                "  - {name: a, path: /b, upstream: app, auth: none}\n");
  EXPECT_TRUE(has_error(r, 6, "duplicate route name 'a' (first used at line 5)"));
}

TEST(Refusals, ProtectedRouteWithoutProviders) {
  auto r = load(std::string(hs256_provider) + std::string(app_upstream) +
                "routes:\n  - {name: a, path: /a, upstream: app, auth: {scopes: [x]}}\n"
                "  - {name: b, path: /b, upstream: app, auth: {providers: []}}\n"
                "  - {name: c, path: /c, upstream: app}\n"
                "  - {name: d, path: /d, upstream: app, auth: public}\n");
  EXPECT_TRUE(has_error(r, 11, "providers is required"));
  EXPECT_TRUE(has_error(r, 12, "providers is required"));
  EXPECT_TRUE(has_error(r, 13, "auth is required"));
  EXPECT_TRUE(has_error(r, 14, "expected `none` or a mapping"));
}

TEST(Refusals, JwksUrlMustBeHttp) {
  auto r = load_provider("providers:\n  p:\n    algorithms: [RS256]\n    keys:\n"
                         "      - jwks_url: file:///etc/jwks.json\n      - jwks_url: not a url\n"
                         "      - {jwks_url: 'http://idp/jwks', ca_file: keys/jwks.json}\n");
  EXPECT_TRUE(has_error(r, 5, "is not an http:// or https:// URL"));
  EXPECT_TRUE(has_error(r, 6, "is not an http:// or https:// URL"));
  EXPECT_TRUE(has_error(r, 7, "ca_file is only used with an https:// jwks_url"));
}

TEST(Refusals, UpstreamUrls) {
  auto r = load(R"(upstreams:
  a: {url: 'ftp://h'}
  b: {url: 'http://'}
  c: {url: 'http://h/base'}
  d: {url: 'http://user:pw@h'}
  e: {url: 'http://h?x=1'}
  f: {url: 'http://h#f'}
  g: {url: 'http://h:0'}
  h: {url: 'http://h:99999'}
  i: {url: 'h:80'}
  j: {url: 'http://h', tls: {verify: false}}
  k: {timeout: 1s}
routes:
  - {name: r, path: /, auth: none}
)");
  EXPECT_TRUE(has_error(r, 2, "the scheme must be http or https"));
  EXPECT_TRUE(has_error(r, 3, "a host is required"));
  EXPECT_TRUE(has_error(r, 4, "a path is not allowed"));
  EXPECT_TRUE(has_error(r, 5, "credentials in the URL are not allowed"));
  EXPECT_TRUE(has_error(r, 6, "a query is not allowed"));
  EXPECT_TRUE(has_error(r, 7, "a fragment is not allowed"));
  EXPECT_TRUE(has_error(r, 8, "the port must be from 1 to 65535"));
  EXPECT_TRUE(has_error(r, 9, "invalid upstream URL"));
  EXPECT_TRUE(has_error(r, 10, "invalid upstream URL"));
  EXPECT_TRUE(has_error(r, 11, "tls is only allowed with an https:// url"));
  EXPECT_TRUE(has_error(r, 12, "url is required"));
}

TEST(Refusals, KeyEntryShape) {
  auto r = load_provider("providers:\n  p:\n    algorithms: [HS256, RS256]\n    keys:\n"
                         "      - {alg: HS256, secret_env: A, secret_file: keys/hmac-secret-40.txt}\n"
                         "      - {alg: HS256}\n"
                         "      - {secret_file: keys/hmac-secret-40.txt}\n"
                         "      - {alg: RS256, secret_file: keys/hmac-secret-40.txt}\n"
                         "      - {alg: HS256, public_key_file: keys/rsa-2048-public.pem}\n"
                         "      - {kid: k, jwks_file: keys/jwks.json}\n");
  EXPECT_TRUE(has_error(r, 5, "exactly one of secret_env, secret_file"));
  EXPECT_TRUE(has_error(r, 6, "a key entry needs one of"));
  EXPECT_TRUE(has_error(r, 7, "alg is required"));
  EXPECT_TRUE(has_error(r, 8, "RS256 needs a public key"));
  EXPECT_TRUE(has_error(r, 9, "HS256 needs a shared secret"));
  EXPECT_TRUE(has_error(r, 10, "kid comes from the JWKS document"));
}

TEST(Refusals, TokenSourcesAndIdentityHeaders) {
  auto r = load_provider(R"(providers:
  p:
    algorithms: [HS256]
    keys: [{alg: HS256, secret_file: keys/hmac-secret-40.txt}]
    token_from:
      - {header: Authorization, cookie: token}
      - {prefix: x}
      - {cookie: c, prefix: "Bearer "}
      - {header: "Bad Header"}
    headers:
      X-User-Id: sub
      x-user-id: email
      Content-Length: sub
      "X Bad": sub
      X-Roles: "realm_access..roles"
    payload_header: Authorization
)");
  EXPECT_TRUE(has_error(r, 6, "exactly one of header, cookie, query"));
  EXPECT_TRUE(has_error(r, 7, "needs one of header, cookie, query"));
  EXPECT_TRUE(has_error(r, 8, "prefix is only used with header"));
  EXPECT_TRUE(has_error(r, 9, "is not a valid name"));
  EXPECT_TRUE(has_error(r, 12, "header 'x-user-id' is listed twice"));
  EXPECT_TRUE(has_error(r, 13, "'Content-Length' cannot be set from a token"));
  EXPECT_TRUE(has_error(r, 14, "'X Bad' is not a valid header name"));
  EXPECT_TRUE(has_error(r, 15, "invalid claim path"));
  EXPECT_TRUE(has_error(r, 16, "'Authorization' cannot be set from a token"));
}

TEST(Refusals, IdentityHeaderThatIsAnotherProvidersTokenSource) {
  auto r = load_provider(R"(providers:
  a:
    algorithms: [HS256]
    keys: [{alg: HS256, secret_file: keys/hmac-secret-40.txt}]
    headers: {X-Token: sub}
  b:
    algorithms: [HS256]
    keys: [{alg: HS256, secret_file: keys/hmac-secret-40.txt}]
    token_from: [{header: x-token}]
)");
  EXPECT_TRUE(has_error(r, 2, "identity header 'x-token' is also where provider 'b' reads tokens"));
}

TEST(Refusals, ServerLimits) {
  auto r = load(minimal_config() + R"(server:
  max_header_bytes: 10
  header_timeout: 0s
  max_connections: 0
  threads: 100000
listen: {address: localhost, port: -1}
)");
  EXPECT_TRUE(has_error(r, 10, "at least 256 bytes"));
  EXPECT_TRUE(has_error(r, 11, "must be greater than zero"));
  EXPECT_TRUE(has_error(r, 12, "must be greater than zero"));
  EXPECT_TRUE(has_error(r, 13, "too large"));
  EXPECT_TRUE(has_error(r, 14, "'localhost' is not an IPv4 or IPv6 address"));
  EXPECT_TRUE(has_error(r, 14, "invalid port '-1'"));
}

TEST(Refusals, ClaimRequirements) {
  auto r = load(std::string(hs256_provider) + "    claims: {token_use: [], a..b: x, nested: {x: 1}}\n" +
                std::string(app_upstream) +
                "routes:\n  - {name: a, path: /a, upstream: app, auth: {providers: [corp], scopes: ['a b']}}\n");
  EXPECT_TRUE(has_error(r, 7, "an empty list can never match"));
  EXPECT_TRUE(has_error(r, 7, "invalid claim path 'a..b'"));
  EXPECT_TRUE(has_error(r, 7, "providers.corp.claims.nested: expected a string, got a mapping"));
  EXPECT_TRUE(has_error(r, 12, "a scope cannot contain spaces"));
}

TEST(Refusals, SubSecondClockSkewAndZeroLifetime) {
  auto r = load_provider("providers:\n  p:\n    algorithms: [HS256]\n"
                         "    keys: [{alg: HS256, secret_file: keys/hmac-secret-40.txt}]\n"
                         "    clock_skew: 1500ms\n    max_lifetime: 0\n    jwks_refresh: 0\n");
  EXPECT_TRUE(has_error(r, 5, "whole number of seconds"));
  EXPECT_TRUE(has_error(r, 6, "must be greater than zero"));
  EXPECT_TRUE(has_error(r, 7, "at least 1s"));
}

}  // namespace
}  // namespace jwtgate::config::testing

namespace jwtgate::config::testing {
namespace {

// A route with a `cors` block; the block's lines start at line 16.
load_result load_cors(std::string_view cors_lines) {
  return load(std::string(hs256_provider) + std::string(app_upstream) +
              "routes:\n  - name: api\n    path_prefix: /api\n    upstream: app\n    auth: none\n    cors:\n" +
              std::string(cors_lines));
}

TEST(CorsRefusals, StarWithCredentials) {
  auto r = load_cors("      allow_origins: ['*']\n      allow_credentials: true\n");
  EXPECT_TRUE(has_error(r, 16, "\"*\" cannot be used with allow_credentials: true"));
  auto ok = load_cors("      allow_origins: ['*']\n      allow_credentials: false\n");
  EXPECT_TRUE(ok.errors.empty()) << all_errors(ok);
}

TEST(CorsRefusals, OriginsThatAreNotSchemeHostPort) {
  auto r = load_cors("      allow_origins:\n        - https://app.example.com/\n        - https://app.example.com/x\n"
                     "        - app.example.com\n        - 'null'\n        - https://u@app.example.com\n"
                     "        - https://app.example.com:99999\n");
  EXPECT_TRUE(has_error(r, 17, "'https://app.example.com/' is not an origin"));
  EXPECT_TRUE(has_error(r, 18, "no path"));
  EXPECT_TRUE(has_error(r, 19, "expected scheme://host[:port]"));
  EXPECT_TRUE(has_error(r, 20, "opaque origin"));
  EXPECT_TRUE(has_error(r, 21, "no userinfo"));
  EXPECT_TRUE(has_error(r, 22, "between 1 and 65535"));
  EXPECT_EQ(r.errors.size(), 6u) << all_errors(r);
  // Every error carries the file, line and column.
  EXPECT_GT(r.errors[0].column, 0);
  EXPECT_NE(r.errors[0].to_string().find("inline.yaml:17:"), std::string::npos) << r.errors[0].to_string();
}

TEST(CorsRefusals, MissingOriginsStarBesideOthersUnknownKeysBadValues) {
  EXPECT_TRUE(has_error(load_cors("      allow_methods: [GET]\n"), 15, "allow_origins is required"));
  EXPECT_TRUE(has_error(load_cors("      allow_origins: []\n"), 16, "list at least one origin"));
  EXPECT_TRUE(has_error(load_cors("      allow_origins: ['*', 'https://a.test']\n"), 16, "list nothing beside it"));
  EXPECT_TRUE(has_error(load_cors("      allow_origins: [https://a.test]\n      allow_origin: x\n"), 17, "allow_origin"));
  EXPECT_TRUE(has_error(load_cors("      allow_origins: [https://a.test]\n      max_age: 10 minutes\n"), 17, "max_age"));
  EXPECT_TRUE(has_error(load_cors("      allow_origins: [https://a.test]\n      allow_credentials: yes\n"), 17,
                        "allow_credentials"));
  EXPECT_TRUE(has_error(load_cors("      allow_origins: [https://a.test]\n      allow_methods: ['GE T']\n"), 17,
                        "not a valid method"));
  EXPECT_TRUE(has_error(load_cors("      allow_origins: [https://a.test]\n      allow_headers: ['X Y']\n"), 17,
                        "not a valid header name"));
  EXPECT_TRUE(has_error(load_cors("      allow_origins: [https://a.test]\n      allow_credentials: true\n"
                                  "      allow_headers: ['*']\n"),
                        18, "cannot be used with allow_credentials"));
}

TEST(CorsConfig, CompiledWithDefaults) {
  auto r = load_cors("      allow_origins: [HTTPS://App.Example.com:443, 'http://127.0.0.1:8080']\n"
                     "      allow_headers: [Authorization]\n      expose_headers: [X-Request-Id]\n"
                     "      allow_credentials: true\n      max_age: 10m\n");
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  ASSERT_TRUE(r.snap);
  const auto& route = r.snap->routes[0];
  ASSERT_TRUE(route.cors);
  const auto& s = route.cors->settings();
  EXPECT_EQ(s.allow_origins, (std::vector<std::string>{"https://app.example.com", "http://127.0.0.1:8080"}));
  EXPECT_EQ(s.allow_methods, (std::vector<std::string>{"GET", "HEAD", "POST"}));
  EXPECT_EQ(s.max_age_seconds, 600);
  EXPECT_TRUE(s.allow_credentials);
  EXPECT_TRUE(route.cors->allows_origin("https://app.example.com"));

  // The route's methods are the default allow_methods.
  auto m = load(std::string(hs256_provider) + std::string(app_upstream) +
                "routes:\n  - {path: /a, methods: [PUT, DELETE], upstream: app, auth: none, "
                "cors: {allow_origins: [https://a.test]}}\n  - {path: /b, upstream: app, auth: none}\n");
  ASSERT_TRUE(m.errors.empty()) << all_errors(m);
  EXPECT_EQ(m.snap->routes[0].cors->settings().allow_methods, (std::vector<std::string>{"PUT", "DELETE"}));
  EXPECT_FALSE(m.snap->routes[1].cors);
}

}  // namespace
}  // namespace jwtgate::config::testing

namespace jwtgate::config::testing {
namespace {

TEST(ProviderTypes, CompiledToShortLowerCaseForms) {
  auto r = load("providers:\n  p:\n    algorithms: [HS256]\n    types: [at+jwt, Application/JWT]\n"
                "    keys: [{alg: HS256, secret_file: keys/hmac-secret-40.txt}]\n" + minimal_config());
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  EXPECT_EQ(r.snap->providers[0].rules.types, (std::vector<std::string>{"at+jwt", "jwt"}));
  auto none = load(std::string(hs256_provider) + minimal_config());
  ASSERT_TRUE(none.snap);
  EXPECT_TRUE(none.snap->providers[0].rules.types.empty());
}

TEST(ProviderTypes, RefusedValues) {
  auto empty = load("providers:\n  p:\n    algorithms: [HS256]\n    types: []\n"
                    "    keys: [{alg: HS256, secret_file: keys/hmac-secret-40.txt}]\n" + minimal_config());
  EXPECT_TRUE(has_error(empty, 4, "list at least one type"));
  auto bad = load("providers:\n  p:\n    algorithms: [HS256]\n    types: ['at jwt']\n"
                  "    keys: [{alg: HS256, secret_file: keys/hmac-secret-40.txt}]\n" + minimal_config());
  EXPECT_TRUE(has_error(bad, 4, "is not a media type"));
}

TEST(ProviderCaFile, MustBeReadable) {
  auto r = load("providers:\n  p:\n    issuer: https://id.example.com\n    discovery: true\n"
                "    ca_file: missing/idp-ca.pem\n    algorithms: [RS256]\n" + minimal_config());
  EXPECT_TRUE(has_error(r, 5, "missing/idp-ca.pem"));
}

}  // namespace
}  // namespace jwtgate::config::testing
