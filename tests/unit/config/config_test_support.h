#pragma once
// Loading YAML text as if it were a file in tests/fixtures/config/, so that
// relative key paths resolve to the committed test keys.

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "jwtgate/config/snapshot.h"

namespace jwtgate::config::testing {

inline std::string fixture_config_dir() { return std::string(JWTGATE_FIXTURES) + "/config"; }
inline std::string fixture_config_file() { return fixture_config_dir() + "/inline.yaml"; }

inline load_result load(std::string_view yaml) { return load_string(yaml, fixture_config_file()); }

inline std::string all_errors(const load_result& r) {
  std::string out;
  for (const auto& e : r.errors) out += e.to_string() + "\n";
  return out;
}

// Is there an error on `line` whose message contains `text`?
inline ::testing::AssertionResult has_error(const load_result& r, int line, std::string_view text) {
  for (const auto& e : r.errors)
    if (e.line == line && e.message.find(text) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "no error at line " << line << " containing '" << text << "'; got:\n"
                                       << all_errors(r);
}

// A provider that loads without any environment: an HS256 secret from a file.
inline constexpr std::string_view hs256_provider = R"(providers:
  corp:
    algorithms: [HS256]
    keys:
      - alg: HS256
        secret_file: keys/hmac-secret-40.txt
)";

inline constexpr std::string_view app_upstream = R"(upstreams:
  app:
    url: http://127.0.0.1:9000
)";

inline constexpr std::string_view health_route = R"(routes:
  - name: health
    path: /healthz
    upstream: app
    auth: none
)";

inline std::string minimal_config() { return std::string(app_upstream) + std::string(health_route); }

}  // namespace jwtgate::config::testing
