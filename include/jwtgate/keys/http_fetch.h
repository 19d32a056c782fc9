#pragma once
// A one-shot asynchronous HTTP(S) GET for key documents (JWKS, OpenID discovery).
// Small by design: one request, `Connection: close`, a hard cap on the body, a
// deadline on every step. Runs on the caller's event loop; no thread per fetch.

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>

namespace boost::asio {
class io_context;
}

namespace jwtgate::keys {

struct fetch_request {
  std::string url;      // http:// or https://
  std::string ca_file;  // https: extra trust anchors; empty: the system store
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{10000};  // whole exchange after connecting
  std::size_t max_body_bytes = 1 << 20;
};

struct fetch_response {
  std::string error;    // empty on a complete HTTP exchange (any status)
  unsigned status = 0;
  std::string body;
  std::optional<std::chrono::seconds> max_age;  // Cache-Control max-age, when sent
};

using fetch_handler = std::function<void(fetch_response)>;

// `done` runs exactly once, on `ioc`.
void http_fetch(boost::asio::io_context& ioc, fetch_request req, fetch_handler done);

// The gap until the next periodic refresh after a good fetch (SPEC section 11):
// `refresh` (jwks_refresh), shortened by a Cache-Control max-age below it but
// never below min(jwks_min_refresh or 1 s, refresh); never longer than
// `refresh`. A max-age of 0 (also no-store, no-cache) shortens nothing.
std::chrono::milliseconds next_refresh(std::chrono::milliseconds refresh, std::chrono::milliseconds min_refresh,
                                       std::optional<std::chrono::seconds> max_age) noexcept;

// Cache-Control header value -> max-age (no-store/no-cache give 0); nullopt if absent.
std::optional<std::chrono::seconds> parse_max_age(std::string_view cache_control) noexcept;

}  // namespace jwtgate::keys
