#pragma once
// The admin listener: GET /healthz, /readyz and /metrics (SPEC section 7). It
// runs on the control event loop, away from request traffic; what it reports
// comes from hooks the gateway provides, so this module knows nothing of the
// proxy's internals.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace boost::asio { class io_context; }

namespace jwtgate::admin {

// A request to an admin endpoint other than the built-in ones.
struct admin_request {
  std::string_view method;
  std::string_view path;  // without the query
  std::string_view authorization;
  unsigned authorization_count = 0;
  std::string_view body;
};

struct admin_response {
  unsigned status = 200;
  std::string body;  // JSON
  std::string www_authenticate;
};

struct admin_hooks {
  // Produces the Prometheus text asynchronously (it gathers every event loop's
  // counters) and hands it to the callback, on the admin loop.
  std::function<void(std::function<void(std::string)>)> metrics;
  // Empty when ready; otherwise the JSON reason for the 503.
  std::function<std::string()> not_ready;
  // Other endpoints (the revocation API): returns false when it does not serve
  // the path; otherwise answers through the callback, on the admin loop.
  std::function<bool(const admin_request&, std::function<void(admin_response)>)> api;
};

class admin_server {
 public:
  // Binds and listens; nullptr and `error` set on failure.
  static std::unique_ptr<admin_server> create(boost::asio::io_context& ioc, const std::string& address,
                                              std::uint16_t port, admin_hooks hooks, std::string& error);
  ~admin_server();

  std::uint16_t port() const noexcept;
  void start();
  void stop();

 private:
  struct impl;
  explicit admin_server(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

}  // namespace jwtgate::admin
