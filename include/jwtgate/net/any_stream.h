#pragma once
// A byte stream that is either plain TCP or TLS over TCP, chosen at run time,
// so the client session and the upstream connection are written once for both.
// It satisfies Beast's AsyncReadStream/AsyncWriteStream for callback handlers.
// Includes Beast: only for src/proxy, src/admin and src/net, never pure modules.

#include <utility>

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "jwtgate/net/plain_or_tls.h"

namespace jwtgate::net {

using tcp_stream = boost::beast::tcp_stream;
using tls_stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

class any_stream : public plain_or_tls<tcp_stream, tls_stream> {
 public:
  using executor_type = boost::asio::any_io_executor;

  explicit any_stream(tcp_stream s) : plain_or_tls(std::in_place_index<0>, std::move(s)) {}
  any_stream(tcp_stream s, boost::asio::ssl::context& ctx) : plain_or_tls(std::in_place_index<1>, std::move(s), ctx) {}

  executor_type get_executor() noexcept { return tcp().get_executor(); }

  // The TCP layer: timeouts (expires_after) and the socket.
  tcp_stream& tcp() noexcept { return plain(); }

  // Closes the socket at once (no TLS close_notify): used on errors and drain.
  void close() noexcept {
    boost::system::error_code ec;
    tcp().socket().close(ec);
  }
};

}  // namespace jwtgate::net
