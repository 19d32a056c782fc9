#pragma once
// Connections toward upstreams, per event loop (never shared between threads,
// so no locks). Idle keep-alive connections are kept per upstream identity
// (URL and TLS settings) up to max_idle_connections; a connection is checked
// for a close by the upstream, or for bytes it sent unasked, before it is
// reused, and one holding unread bytes is never pooled.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "jwtgate/config/config.h"
#include "connection_stream.h"

namespace jwtgate::proxy {

struct upstream_connection {
  explicit upstream_connection(connection_stream s) : stream(std::move(s)) {
    // Beast sizes each socket read by the buffer's free room (512 bytes at
    // first); a full-size buffer lets a response body arrive in 64 KiB reads.
    buffer.reserve(64 * 1024);
  }
  connection_stream stream;
  boost::beast::flat_buffer buffer;
  std::string key;  // pool identity
  std::chrono::steady_clock::time_point idle_since;
};

enum class connect_failure { none, resolve, refused, timeout, tls };

class upstream_pool {
 public:
  explicit upstream_pool(boost::asio::io_context& ioc) : ioc_(ioc) {}

  // A live idle connection to `up`, or nullptr.
  std::unique_ptr<upstream_connection> take_idle(const config::upstream_config& up);

  using connect_handler =
      std::function<void(connect_failure, std::string message, std::unique_ptr<upstream_connection>)>;
  // Resolves, connects and (https) handshakes, all within up.connect_timeout.
  // `done` always runs from the event queue, never before connect() returns.
  void connect(const config::upstream_config& up, connect_handler done);

  // Keeps `c` for reuse when there is room, else closes it.
  void release(const config::upstream_config& up, std::unique_ptr<upstream_connection> c);

 private:
  const std::string& key_for(const config::upstream_config& up);
  boost::asio::ssl::context* tls_context_for(const config::upstream_config& up, std::string& error);

  boost::asio::io_context& ioc_;
  std::string key_buf_;
  std::map<std::string, std::vector<std::unique_ptr<upstream_connection>>, std::less<>> idle_;
  std::map<std::string, std::shared_ptr<boost::asio::ssl::context>, std::less<>> tls_;
};

}  // namespace jwtgate::proxy
