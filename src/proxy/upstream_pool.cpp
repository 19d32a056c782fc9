#include "upstream_pool.h"

#include <sys/socket.h>

#include <cerrno>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <openssl/bio.h>
#include <openssl/ssl.h>

#include "jwtgate/net/tls_context.h"

namespace jwtgate::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

// An idle connection older than this is not reused: upstream keep-alive
// timeouts are commonly 60s or more, and a stale socket costs a retry.
constexpr auto max_idle_age = std::chrono::seconds(30);

// Has the upstream closed (or written unexpectedly to) an idle connection?
// Any byte that arrived after a complete response answers no request: reused,
// the connection would hand it to the next client as its response. Checks
// only, never blocks.
bool looks_alive(upstream_connection& c) {
  if (c.buffer.size() != 0) return false;  // bytes nobody asked for
  auto& sock = c.stream.socket();
  if (!sock.is_open()) return false;
  if (auto* tls = c.stream.tls()) {
    // Data already past the socket: decrypted or buffered in OpenSSL, or
    // waiting in the memory BIO Asio feeds OpenSSL from.
    SSL* ssl = tls->native_handle();
    if (SSL_has_pending(ssl) != 0) return false;
    if (BIO* in = SSL_get_rbio(ssl); in != nullptr && BIO_ctrl_pending(in) != 0) return false;
  }
  char byte;
  ssize_t n = ::recv(sock.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return false;  // orderly close
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
  // Pending bytes. On plain HTTP that is a protocol error. TLS 1.3 hides the
  // record type (a late session ticket and application data look the same), so
  // a TLS connection with unread bytes is dropped too: a reconnect is cheaper
  // than the risk of relaying another response's bytes.
  return false;
}

struct connect_op : std::enable_shared_from_this<connect_op> {
  connect_op(asio::io_context& ioc, const config::upstream_config& up, asio::ssl::context* tls,
             std::string key, upstream_pool::connect_handler done)
      : resolver(ioc), socket(ioc), tls_ctx(tls), host(up.host), port(std::to_string(up.port)),
        server_name(up.tls.server_name.empty() ? up.host : up.tls.server_name), verify(up.tls.verify),
        timeout(up.connect_timeout), deadline(ioc), key(std::move(key)), done(std::move(done)) {}

  void start() {
    // One deadline over resolve + connect + handshake.
    deadline.expires_after(timeout);
    deadline.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec) return;
      self->timed_out = true;
      self->resolver.cancel();
      beast::error_code ignored;
      self->socket.close(ignored);
      if (self->conn) self->conn->stream.close();
    });
    resolver.async_resolve(host, port, [self = shared_from_this()](beast::error_code ec, tcp::resolver::results_type r) {
      self->on_resolve(ec, std::move(r));
    });
  }

  void on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (ec) return fail(timed_out ? connect_failure::timeout : connect_failure::resolve, ec);
    asio::async_connect(socket, results, [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
      self->on_connect(ec);
    });
  }

  void on_connect(beast::error_code ec) {
    if (ec) return fail(timed_out ? connect_failure::timeout : connect_failure::refused, ec);
    socket.set_option(tcp::no_delay(true), ec);
    if (!tls_ctx) {
      conn = std::make_unique<upstream_connection>(connection_stream(std::move(socket)));
      return succeed();
    }
    conn = std::make_unique<upstream_connection>(connection_stream(std::move(socket), *tls_ctx));
    auto* tls = conn->stream.tls();
    // SNI, and the name the certificate must carry.
    if (!SSL_set_tlsext_host_name(tls->native_handle(), server_name.c_str()))
      return fail(connect_failure::tls, beast::error_code(static_cast<int>(::ERR_get_error()),
                                                          asio::error::get_ssl_category()));
    if (verify) tls->set_verify_callback(asio::ssl::host_name_verification(server_name));
    tls->async_handshake(asio::ssl::stream_base::client, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->fail(self->timed_out ? connect_failure::timeout : connect_failure::tls, ec);
      self->succeed();
    });
  }

  void succeed() {
    if (timed_out) return fail(connect_failure::timeout, asio::error::timed_out);
    deadline.cancel();
    conn->key = key;
    auto handler = std::move(done);
    handler(connect_failure::none, {}, std::move(conn));
  }

  void fail(connect_failure why, beast::error_code ec) {
    deadline.cancel();
    if (conn) conn->stream.close();
    auto handler = std::move(done);
    handler(why, ec.message(), nullptr);
  }

  tcp::resolver resolver;
  connection_stream::socket_type socket;
  asio::ssl::context* tls_ctx;
  std::string host, port, server_name;
  bool verify;
  std::chrono::milliseconds timeout;
  asio::steady_timer deadline;
  std::string key;
  upstream_pool::connect_handler done;
  std::unique_ptr<upstream_connection> conn;
  bool timed_out = false;
};

}  // namespace

const std::string& upstream_pool::key_for(const config::upstream_config& up) {
  key_buf_.clear();
  key_buf_.append(up.url);
  if (up.protocol == config::upstream_config::wire::h2) key_buf_.append("\nh2");
  if (up.https) {
    key_buf_.push_back('\n');
    key_buf_.append(up.tls.ca_file);
    key_buf_.push_back('\n');
    key_buf_.append(up.tls.server_name);
    key_buf_.push_back(up.tls.verify ? '1' : '0');
  }
  return key_buf_;
}

asio::ssl::context* upstream_pool::tls_context_for(const config::upstream_config& up, std::string& error) {
  const auto& key = key_for(up);
  auto it = tls_.find(key);
  if (it != tls_.end()) return it->second.get();
  auto ctx = net::make_client_tls_context(up.tls.ca_file, up.tls.verify, error);
  if (!ctx) return nullptr;
  if (up.protocol == config::upstream_config::wire::h2 && !net::offer_h2(*ctx)) {
    error = "cannot offer h2 through ALPN";
    return nullptr;
  }
  return tls_.emplace(key, std::move(ctx)).first->second.get();
}

std::unique_ptr<upstream_connection> upstream_pool::take_idle(const config::upstream_config& up) {
  auto it = idle_.find(key_for(up));
  if (it == idle_.end()) return nullptr;
  auto& list = it->second;
  auto now = coarse_now();
  while (!list.empty()) {
    auto c = std::move(list.back());  // most recently used first: the warmest
    list.pop_back();
    if (now - c->idle_since < max_idle_age && looks_alive(*c)) return c;
    c->stream.close();
  }
  return nullptr;
}

void upstream_pool::connect(const config::upstream_config& up, connect_handler done) {
  asio::ssl::context* tls = nullptr;
  if (up.https) {
    std::string error;
    tls = tls_context_for(up, error);
    if (!tls) {
      // From the queue, like every other outcome: the caller is still inside
      // its own start-up and must not be told yet.
      asio::post(ioc_, [done = std::move(done), error = std::move(error)]() mutable {
        done(connect_failure::tls, std::move(error), nullptr);
      });
      return;
    }
  }
  std::make_shared<connect_op>(ioc_, up, tls, key_for(up), std::move(done))->start();
}

void upstream_pool::release(const config::upstream_config& up, std::unique_ptr<upstream_connection> c) {
  // A connection holding bytes past its last response is never pooled (see looks_alive).
  if (!c || up.max_idle_connections == 0 || c->key != key_for(up) || c->buffer.size() != 0) {
    if (c) c->stream.close();
    return;
  }
  auto& list = idle_[key_buf_];
  if (list.size() >= up.max_idle_connections) {
    c->stream.close();
    return;
  }
  c->stream.expires_never();
  c->idle_since = coarse_now();
  list.push_back(std::move(c));
}

}  // namespace jwtgate::proxy
