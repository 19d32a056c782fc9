#pragma once
// A proxy connection, client side or upstream side: plain TCP or TLS over TCP,
// chosen at run time, with a deadline instead of a timer per operation.
//
// The owner sets the deadline before each wait; its event loop sweeps its
// sessions a few times a second and closes a stream whose deadline has passed
// (expire_if_due), which fails the pending operation. Setting a deadline is a
// store of a coarse clock reading: no timer queue work, no system call, and no
// cancelled-timer completion per read or write, which a per-operation timer
// (Beast's tcp_stream) costs on every request.

#include <time.h>

#include <chrono>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>

#include "jwtgate/net/plain_or_tls.h"

namespace jwtgate::proxy {

// CLOCK_MONOTONIC at tick resolution (a few ms): the same time base as
// std::chrono::steady_clock, read without touching the hardware counter.
inline std::chrono::steady_clock::time_point coarse_now() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::seconds(ts.tv_sec) +
                                                                      std::chrono::nanoseconds(ts.tv_nsec)));
}

// A TCP socket on the loop's own executor type: no type-erased executor
// copies per operation.
using loop_socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;

class connection_stream : public net::plain_or_tls<loop_socket, boost::asio::ssl::stream<loop_socket>> {
 public:
  using executor_type = boost::asio::io_context::executor_type;
  using socket_type = loop_socket;
  using time_point = std::chrono::steady_clock::time_point;

  // Non-blocking for the owner too: a direct write_some must never block the loop.
  explicit connection_stream(socket_type s) : plain_or_tls(std::in_place_index<0>, std::move(s)) {
    make_non_blocking();
  }
  connection_stream(socket_type s, boost::asio::ssl::context& ctx)
      : plain_or_tls(std::in_place_index<1>, std::move(s), ctx) {
    make_non_blocking();
  }

  executor_type get_executor() noexcept { return socket().get_executor(); }

  socket_type& socket() noexcept { return plain(); }

  template <class Rep, class Period>
  void expires_after(std::chrono::duration<Rep, Period> d) noexcept {
    deadline_ = coarse_now() + std::chrono::duration_cast<time_point::duration>(d);
  }
  void expires_never() noexcept { deadline_ = time_point::max(); }

  // Closes the stream once its deadline has passed. Afterwards timed_out() is
  // true and every pending or later operation fails.
  bool expire_if_due(time_point now) noexcept {
    if (now < deadline_ || timed_out_) return false;
    timed_out_ = true;
    close();
    return true;
  }
  bool timed_out() const noexcept { return timed_out_; }

  // Closes the socket at once (no TLS close_notify): used on errors and drain.
  void close() noexcept {
    boost::system::error_code ec;
    socket().close(ec);
  }

 private:
  void make_non_blocking() noexcept {
    boost::system::error_code ec;
    socket().non_blocking(true, ec);
  }

  time_point deadline_ = time_point::max();
  bool timed_out_ = false;
};

}  // namespace jwtgate::proxy
