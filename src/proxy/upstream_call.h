#pragma once
// One request's exchange with an upstream, whatever protocol the upstream
// speaks: an HTTP/1.1 connection from the loop's pool, or a stream on the
// loop's HTTP/2 connection to it. The client side (an HTTP/2 stream or an
// HTTP/1 request, whichever codec received it) hands over the request head,
// pushes the request body as the client sends it, and pulls the response body
// as its client takes it; each side's progress is the other's flow control,
// so memory stays bounded whatever the two speeds.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "jwtgate/config/config.h"
#include "jwtgate/proxy/flat_head.h"

namespace jwtgate::proxy {

struct loop_context;

// The request as the gateway forwards it. Field names are as received (HTTP/2
// ones lower case); the upstream side lowers them for HTTP/2 and leaves out
// what its protocol does not carry.
struct outgoing_request {
  std::string method;
  std::string path;       // normalized target, with query
  std::string authority;  // the routed host: Host for HTTP/1, :authority for h2
  flat_head fields;       // every other field to send
  bool has_body = false;
  std::optional<std::uint64_t> content_length;
  bool trailers = false;  // the client said `te: trailers` (gRPC does)
  // A WebSocket handshake (HTTP/1.1 upstreams only): `fields` carries its
  // Connection and Upgrade, and a 101 answer is reported instead of refused.
  bool upgrade = false;
};

class upstream_call;
struct upstream_connection;

// What the call reports back, always on the loop's thread and never from
// inside a call's own method.
class call_events {
 public:
  virtual ~call_events() = default;
  virtual void on_response_head(upstream_call& c) = 0;  // c.response() is set (never 1xx)
  virtual void on_response_data(upstream_call& c) = 0;  // more of c.body() is ready
  virtual void on_response_end(upstream_call& c) = 0;   // all of it is in c.body(); c.trailers() set
  // Before the head: the gateway answers `status`. After it: the response is cut.
  virtual void on_call_failed(upstream_call& c, unsigned status, std::string_view why) = 0;
  // The upstream took n more request body bytes: the client may send as many.
  virtual void on_request_body_sent(upstream_call& c, std::size_t n) = 0;
  // The call became ready_for_body() after it started (it had to connect).
  virtual void on_ready_for_body(upstream_call&) {}
};

class upstream_call {
 public:
  static constexpr std::size_t max_buffered_body = 64 * 1024;
  static constexpr std::size_t small_body_bytes = 4 * 1024;  // for a short declared body

  virtual ~upstream_call();
  upstream_call(const upstream_call&) = delete;
  upstream_call& operator=(const upstream_call&) = delete;

  // Queues request body bytes (copied); `end` after the last. The caller sends
  // no more than on_request_body_sent has allowed plus one flow-control window.
  virtual void send_body(std::string_view data, bool end) = 0;
  // The client's trailers, before send_body(..., true); only an HTTP/2
  // upstream receives them (HTTP/1 requests are re-framed without).
  virtual void send_trailers(const flat_head&) {}

  // Response body bytes received and not yet taken.
  std::string_view body() const noexcept {
    return buf_ ? std::string_view(buf_.get() + begin_, end_ - begin_) : std::string_view();
  }
  // The client side took n of them: the call reads more from the upstream once
  // its buffer has room again.
  void take_body(std::size_t n);

  // The upstream is there to take a body: connected, or a stream opened. A
  // client that sent `Expect: 100-continue` is told to send it only then.
  virtual bool ready_for_body() const noexcept { return true; }
  // After a 101 to an `upgrade` request: the connection, for a tunnel. The
  // call is done with it; bytes read past the 101 are in its buffer.
  virtual std::unique_ptr<upstream_connection> take_upgraded_connection() { return nullptr; }

  // The client went away or the stream was reset, or it has taken the whole
  // response: stop, and let the upstream go (a complete exchange back to the pool).
  virtual void cancel() = 0;
  // Closes an upstream operation past its deadline (the loop sweeps calls).
  virtual void expire_if_due(std::chrono::steady_clock::time_point now) = 0;

  const flat_head& response() const noexcept { return response_; }
  const flat_head& trailers() const noexcept { return trailers_; }
  bool response_done() const noexcept { return done_; }

 protected:
  upstream_call(loop_context& loop, call_events& events);
  virtual void on_body_taken(std::size_t n) = 0;  // room in the buffer again

  // The free end of the body buffer (lent by the loop on first use), after
  // moving the bytes not yet taken to its front. Only while no read into it
  // is under way: take_body() moves the front, never the bytes.
  std::span<char> body_room();
  void body_commit(std::size_t n) noexcept { end_ += n; }
  // Copies n bytes in; false when they do not fit.
  bool body_append(const char* data, std::size_t n);
  // Before the first body_room(): the whole body is this long, so a small
  // buffer will do (an HTTP/1 response's Content-Length).
  void expect_body_of(std::uint64_t length) noexcept { small_body_ = !buf_ && length <= small_body_bytes; }

  loop_context& lender_;
  call_events* events_;  // nullptr once cancelled
  flat_head response_;
  flat_head trailers_;
  bool done_ = false;

 private:
  void give_back_buffer();

  std::unique_ptr<char[]> buf_;  // buf_size_ bytes; [begin_, end_) not taken yet
  std::size_t buf_size_ = 0;
  std::size_t begin_ = 0, end_ = 0;
  bool small_body_ = false;
};

// Starts `req` toward `up` over the upstream's own protocol. The call keeps
// what it needs of `req`, so the caller may reuse it for the next request.
std::shared_ptr<upstream_call> start_upstream_call(loop_context& loop, const config::upstream_config& up,
                                                   const outgoing_request& req, call_events& events);

}  // namespace jwtgate::proxy
