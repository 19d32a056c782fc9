#pragma once
// A byte stream that is either plain TCP or TLS over TCP, chosen at run time,
// so the client session and the upstream connection are written once for both.
// It satisfies Beast's AsyncReadStream/AsyncWriteStream for callback handlers.
// Includes Beast: only for src/proxy, src/admin and src/net, never pure modules.

#include <utility>
#include <variant>

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace jwtgate::net {

using tcp_stream = boost::beast::tcp_stream;
using tls_stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

class any_stream {
 public:
  using executor_type = boost::asio::any_io_executor;

  explicit any_stream(tcp_stream s) : v_(std::in_place_index<0>, std::move(s)) {}
  any_stream(tcp_stream s, boost::asio::ssl::context& ctx)
      : v_(std::in_place_index<1>, std::move(s), ctx) {}

  executor_type get_executor() noexcept { return tcp().get_executor(); }

  // The TCP layer: timeouts (expires_after) and the socket.
  tcp_stream& tcp() noexcept {
    if (auto* t = std::get_if<1>(&v_)) return t->next_layer();
    return std::get<0>(v_);
  }
  // The TLS layer, or nullptr for plain TCP.
  tls_stream* tls() noexcept { return std::get_if<1>(&v_); }

  template <class MutableBuffers, class Handler>
  void async_read_some(const MutableBuffers& b, Handler&& h) {
    if (auto* t = std::get_if<1>(&v_)) t->async_read_some(b, std::forward<Handler>(h));
    else std::get<0>(v_).async_read_some(b, std::forward<Handler>(h));
  }

  template <class ConstBuffers, class Handler>
  void async_write_some(const ConstBuffers& b, Handler&& h) {
    if (auto* t = std::get_if<1>(&v_)) t->async_write_some(b, std::forward<Handler>(h));
    else std::get<0>(v_).async_write_some(b, std::forward<Handler>(h));
  }

  // Closes the socket at once (no TLS close_notify): used on errors and drain.
  void close() noexcept {
    boost::system::error_code ec;
    tcp().socket().close(ec);
  }

 private:
  std::variant<tcp_stream, tls_stream> v_;
};

}  // namespace jwtgate::net
