// upstream_call over HTTP/1.1: one connection from the loop's pool per call.

#include "upstream_call.h"

#include <algorithm>
#include <array>
#include <cstring>

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/verb.hpp>
#include <spdlog/spdlog.h>

#include "handler_memory.h"
#include "head_parser.h"
#include "jwtgate/proxy/head_writer.h"
#include "jwtgate/proxy/header_rewrite.h"
#include "loop.h"
#include "upstream_h2.h"

namespace jwtgate::proxy {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using error_code = boost::system::error_code;

static_assert(upstream_call::max_buffered_body == loop_context::relay_buffer_size);
static_assert(upstream_call::small_body_bytes == loop_context::small_relay_buffer_size);

namespace {
constexpr std::size_t max_spare_response_heads = 256;
constexpr std::size_t max_spare_response_head_bytes = 4096;
constexpr std::size_t max_spare_request_heads = 256;
constexpr std::size_t max_spare_request_head_bytes = 4096;
}  // namespace

upstream_call::upstream_call(loop_context& loop, call_events& events) : lender_(loop), events_(&events) {
  // The response head's storage comes from the loop: a busy loop reuses its
  // capacity instead of growing a new one per call.
  auto& spares = loop.spare_response_heads;
  if (!spares.empty()) {
    response_ = std::move(spares.back());
    spares.pop_back();
  }
}

void upstream_call::give_back_buffer() {
  if (!buf_) return;
  if (buf_size_ == max_buffered_body) lender_.give_relay_buffer(std::move(buf_));
  else lender_.give_small_relay_buffer(std::move(buf_));
  buf_.reset();
  buf_size_ = 0;
  begin_ = end_ = 0;
}

upstream_call::~upstream_call() {
  give_back_buffer();
  auto& spares = lender_.spare_response_heads;
  if (spares.size() < max_spare_response_heads && response_.capacity_bytes() <= max_spare_response_head_bytes) {
    response_.clear();
    spares.push_back(std::move(response_));
  }
}

void upstream_call::take_body(std::size_t n) {
  begin_ += std::min(n, end_ - begin_);
  // All of the response is in and taken: the buffer goes back to the loop
  // now, not when the client side lets go of the call.
  if (done_ && begin_ == end_) give_back_buffer();
  on_body_taken(n);
}

std::span<char> upstream_call::body_room() {
  if (!buf_) {
    buf_ = small_body_ ? lender_.take_small_relay_buffer() : lender_.take_relay_buffer();
    buf_size_ = small_body_ ? small_body_bytes : max_buffered_body;
  }
  if (begin_ == end_) {
    begin_ = end_ = 0;
  } else if (begin_ != 0) {
    std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  return {buf_.get() + end_, buf_size_ - end_};
}

bool upstream_call::body_append(const char* data, std::size_t n) {
  auto room = body_room();
  if (n > room.size()) return false;
  std::memcpy(room.data(), data, n);
  end_ += n;
  return true;
}

namespace {

constexpr std::uint32_t upstream_header_limit = 64 * 1024;

bool idempotent(std::string_view m) noexcept {
  return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "PUT" || m == "DELETE" || m == "TRACE";
}

bool needs_length(std::string_view m) noexcept { return m == "POST" || m == "PUT" || m == "PATCH"; }

// How a pooled connection the upstream closed just before its reuse fails,
// as opposed to a broken or slow upstream.
bool connection_dropped(const error_code& ec) noexcept {
  return ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == http::error::partial_message;
}

bool would_block(const error_code& ec) noexcept {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

// The request goes out while the response head is already being read, so an
// upstream that answers before it has read the whole body (a 413 or 401 of
// its own) is heard at once, and a full-duplex upstream works.
class h1_call final : public upstream_call, public std::enable_shared_from_this<h1_call> {
 public:
  h1_call(loop_context& loop, const config::upstream_config& up, const outgoing_request& req, call_events& events)
      : upstream_call(loop, events),
        loop_(loop),
        up_(up),
        method_(req.method),
        has_body_(req.has_body),
        upgrade_(req.upgrade) {
    auto& spares = loop.spare_request_heads;
    if (!spares.empty()) {
      head_ = std::move(spares.back());
      spares.pop_back();
    }
    build_head(req);
  }

  ~h1_call() override {
    if (conn_) conn_->stream.close();
    auto& spares = loop_.spare_request_heads;
    if (spares.size() < max_spare_request_heads && head_.capacity() <= max_spare_request_head_bytes) {
      head_.clear();
      spares.push_back(std::move(head_));
    }
  }

  void start() {
    conn_ = loop_.pool.take_idle(up_);
    if (!conn_) return connect();
    reused_ = true;
    begin_exchange();
  }

  void send_body(std::string_view data, bool end) override {
    // After a failed write the upstream takes nothing more; the client side
    // gets no more credit and stops reading its body.
    if (cancelled_ || request_end_ || write_failed_) return;
    if (!data.empty()) {
      if (chunked_) {
        chunk_line_storage line;
        out_.append(chunk_size_line(data.size(), line));
        out_.append(data);
        out_.append(crlf);
      } else {
        out_.append(data);
      }
      queued_body_ += data.size();
    }
    if (end) {
      request_end_ = true;
      if (chunked_) out_.append(last_chunk);
    }
    write_more();
  }

  bool ready_for_body() const noexcept override { return conn_ != nullptr && !connecting_; }

  std::unique_ptr<upstream_connection> take_upgraded_connection() override {
    if (!upgraded_) return nullptr;
    return std::move(conn_);
  }

  void cancel() override {
    cancelled_ = true;
    events_ = nullptr;
    finish_if_done();  // a complete exchange goes back to the pool
    // An upgraded connection nobody took (the client went away) is closed
    // too: its last write would otherwise wait without a deadline.
    if (conn_ && (!released_ || upgraded_)) {
      released_ = true;
      conn_->stream.close();
    }
  }

  void expire_if_due(std::chrono::steady_clock::time_point now) override {
    if (conn_) conn_->stream.expire_if_due(now);
  }

 private:
  void on_body_taken(std::size_t) override {
    if (!reading_ && head_seen_ && !done_ && !cancelled_ && conn_) read_body();
  }

  void build_head(const outgoing_request& req) {
    std::size_t size = req.method.size() + req.path.size() + req.authority.size() + 64;
    for (const auto& e : req.fields.entries()) size += e.name_size + e.value_size + 4;
    head_.reserve(size);
    append_request_line(head_, req.method, req.path);
    append_field(head_, "Host", req.authority);
    for (const auto& e : req.fields.entries()) append_field(head_, req.fields.name(e), req.fields.value(e));
    chunked_ = req.has_body && !req.content_length;
    if (chunked_) append_field(head_, "Transfer-Encoding", "chunked");
    else if (!req.has_body && !req.content_length && needs_length(req.method))
      append_field(head_, "Content-Length", "0");
    head_.append(crlf);
    if (!req.has_body) request_end_ = true;
  }

  void connect() {
    connecting_ = true;
    reused_ = false;
    loop_.pool.connect(up_, [self = shared_from_this()](connect_failure why, std::string message,
                                                        std::unique_ptr<upstream_connection> conn) {
      self->connecting_ = false;
      if (self->cancelled_) {
        if (conn) conn->stream.close();
        return;
      }
      if (why != connect_failure::none) {
        spdlog::warn("cannot connect to upstream '{}': {}", self->up_.name, message);
        // connect_timeout included: the upstream is unreachable, not slow.
        return self->fail(502, "the upstream is unreachable");
      }
      self->conn_ = std::move(conn);
      self->begin_exchange();
      if (self->events_) self->events_->on_ready_for_body(*self);
    });
  }

  // The write first: a read started before it would try the socket in vain
  // (Asio reads speculatively), one more system call per request.
  void begin_exchange() {
    write_more(true);
    read_head();
  }

  // Only a wait on the upstream has a deadline: while the request body waits
  // for the client, or the response for the client to take what was read,
  // the upstream is not the one that is late.
  void update_deadline() noexcept {
    if (!conn_ || released_) return;
    if (writing_ || (reading_ && (request_written_ || write_failed_))) conn_->stream.expires_after(up_.timeout);
    else conn_->stream.expires_never();
  }

  // The head goes out of head_ itself (kept for a retry), with whatever body
  // is queued behind it in the same write. `may_finish_here`: the caller is
  // not the client side, so the completion may run before this returns.
  void write_more(bool may_finish_here = false) {
    if (writing_ || cancelled_ || write_failed_ || !conn_ || connecting_ || (head_sent_ && out_.empty())) return;
    writing_ = true;
    in_flight_.swap(out_);
    out_.clear();
    in_flight_body_ = queued_body_;
    queued_body_ = 0;
    std::array<asio::const_buffer, 2> bufs{asio::const_buffer(), asio::buffer(in_flight_)};
    if (!head_sent_) {
      head_sent_ = true;
      bufs[0] = asio::buffer(head_);
    }
    if (may_finish_here && !conn_->stream.tls()) {
      // Offered to the socket first, as nginx does: a request head nearly
      // always fits in the send buffer, and a write finished here needs no
      // trip through the event queue. An error is left to the write below,
      // which reports it from the queue.
      error_code ec;
      std::size_t n = conn_->stream.socket().write_some(bufs, ec);
      if (!ec && n == bufs[0].size() + bufs[1].size()) return on_written({});
      if (!ec || would_block(ec)) {
        for (auto& b : bufs) {
          std::size_t k = std::min(n, b.size());
          b += k;
          n -= k;
        }
      }
    }
    update_deadline();
    asio::async_write(conn_->stream, bufs,
                      asio::bind_allocator(allocator_of(write_memory_),
                                           [self = shared_from_this()](error_code ec, std::size_t) {
                                             self->on_written(ec);
                                           }));
  }

  void on_written(error_code ec) {
    writing_ = false;
    if (cancelled_) return;
    if (retry_pending_) return start_retry();  // the old connection's write, failed by its close
    if (upgraded_) return report_upgrade();    // the 101 came before this write finished
    if (ec) {
      write_failed_ = true;
      if (head_seen_) return finish_if_done();  // the answer came early; the rest of the body is not wanted
      if (conn_->stream.timed_out()) return fail(504, "the upstream stopped reading the request");
      if (may_retry()) return retry();
      // An upstream that refuses a body often answers and closes without
      // reading it: its answer may be waiting. The head read under way
      // relays it, as nginx does, or fails the call.
      update_deadline();
      return;
    }
    std::size_t sent = in_flight_body_;
    in_flight_.clear();
    if (!out_.empty()) write_more();
    else if (request_end_) request_written_ = true;
    update_deadline();
    if (sent != 0 && events_) events_->on_request_body_sent(*this, sent);
    finish_if_done();
  }

  void read_head() {
    parser_.emplace(response_);
    parser_->header_limit(upstream_header_limit);
    parser_->body_limit(boost::none);
    if (method_ == "HEAD") parser_->skip(true);
    reading_ = true;
    update_deadline();
    http::async_read_header(conn_->stream, conn_->buffer, *parser_,
                            asio::bind_allocator(allocator_of(read_memory_),
                                                 [self = shared_from_this()](error_code ec, std::size_t) {
                                                   self->on_head(ec);
                                                 }));
  }

  void on_head(error_code ec) {
    reading_ = false;
    if (cancelled_) return;
    if (retry_pending_) return start_retry();  // the old connection's read, failed by its close
    if (ec) {
      bool timed_out = conn_->stream.timed_out();
      if (!timed_out && !write_failed_ && connection_dropped(ec) && may_retry()) return retry();
      if (timed_out) return fail(504, "the upstream did not answer in time");
      spdlog::warn("upstream '{}': no response head: {}", up_.name, ec.message());
      if (write_failed_) return fail(502, "the upstream stopped reading the request");
      return fail(502, "the upstream sent an invalid or no response");
    }
    unsigned status = response_.status;
    if (status == 101) {
      if (!upgrade_) return fail(502, "the upstream switched protocols without being asked");
      head_seen_ = done_ = upgraded_ = true;
      released_ = true;  // never pooled: it becomes a tunnel
      if (writing_) return;  // reported once the request is out
      return report_upgrade();
    }
    // Interim answers (100, 103) are not relayed.
    if (status < 200) return read_head();
    head_seen_ = true;
    if (auto length = parser_->content_length()) expect_body_of(*length);
    // Body bytes that came with the head are taken now, without I/O: the
    // client side then sends its head and the start of the body in one write.
    if (!parser_->is_done() && conn_->buffer.size() != 0) {
      if (auto perr = parse_buffered_body()) {
        spdlog::warn("upstream '{}': the response body broke off: {}", up_.name, perr.message());
        return fail(502, "the upstream response broke off");
      }
    }
    if (parser_->is_done()) {
      done_ = true;
      finish_if_done();  // before the events: the client side may let go of the call in them
    }
    events_->on_response_head(*this);
    if (cancelled_) return;
    if (done_) return events_->on_response_end(*this);
    read_body();
  }

  void report_upgrade() {
    conn_->stream.expires_never();
    if (events_) events_->on_response_head(*this);
  }

  error_code parse_buffered_body() {
    auto room = body_room();
    parser_->body_buffer(room.data(), room.size());
    error_code ec;
    while (conn_->buffer.size() != 0 && !parser_->is_done() && parser_->body_room() != 0) {
      std::size_t used = parser_->put(conn_->buffer.data(), ec);
      conn_->buffer.consume(used);
      if (ec == http::error::need_more || ec == http::error::need_buffer) ec = {};
      if (ec || used == 0) break;
    }
    body_commit(room.size() - parser_->body_room());
    return ec;
  }

  void read_body() {
    // An event handler may already have asked for more (take_body from
    // inside on_response_data): one read at a time.
    if (reading_ || cancelled_ || done_) return;
    auto room = body_room();
    if (room.empty()) return update_deadline();  // the client side takes some first (on_body_taken)
    parser_->body_buffer(room.data(), room.size());
    reading_ = true;
    update_deadline();
    http::async_read_some(conn_->stream, conn_->buffer, *parser_,
                          asio::bind_allocator(allocator_of(read_memory_),
                                               [self = shared_from_this(), size = room.size()](error_code ec,
                                                                                               std::size_t) {
                                                 self->on_body(ec, size);
                                               }));
  }

  void on_body(error_code ec, std::size_t room) {
    reading_ = false;
    if (cancelled_) return;
    std::size_t n = room - parser_->body_room();
    body_commit(n);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) {
      if (conn_->stream.timed_out()) spdlog::warn("upstream '{}': the response body stalled", up_.name);
      else spdlog::warn("upstream '{}': the response body broke off: {}", up_.name, ec.message());
      return fail(502, "the upstream response broke off");
    }
    if (parser_->is_done()) {
      done_ = true;
      finish_if_done();
      if (events_) events_->on_response_end(*this);
      return;
    }
    if (n != 0) events_->on_response_data(*this);
    if (cancelled_) return;
    read_body();
  }

  // The connection goes back to the pool once both directions are complete.
  void finish_if_done() {
    if (!done_ || !conn_ || released_) return;
    if (!request_end_ || write_failed_) {
      // Answered before the whole body was sent: the connection's state is unknown.
      released_ = true;
      conn_->stream.close();
      return;
    }
    if (writing_ || !request_written_) return;
    released_ = true;
    // Bytes read past the response belong to no request, and after HEAD a
    // broken upstream may still send a body nobody can delimit.
    bool reusable = parser_ && parser_->keep_alive() && !parser_->need_eof() && conn_->buffer.size() == 0 &&
                    method_ != "HEAD";
    if (reusable) loop_.pool.release(up_, std::move(conn_));
    else conn_->stream.close();
    conn_.reset();
  }

  bool may_retry() const noexcept {
    return reused_ && !retried_ && !has_body_ && !head_seen_ && idempotent(method_);
  }

  // The dead connection is closed at once, but kept until its other
  // operation (the read started with the write, or the write still under
  // way) has completed: that operation still uses its socket, its buffer
  // and the parser.
  void retry() {
    retried_ = true;
    retry_pending_ = true;
    if (conn_) conn_->stream.close();
    start_retry();
  }

  void start_retry() {
    if (reading_ || writing_) return;
    retry_pending_ = false;
    conn_.reset();
    response_.clear();
    head_sent_ = false;
    request_written_ = false;
    write_failed_ = false;
    connect();
  }

  void fail(unsigned status, std::string_view why) {
    if (conn_) conn_->stream.close();
    released_ = true;
    auto* events = events_;
    events_ = nullptr;
    cancelled_ = true;
    if (events) events->on_call_failed(*this, status, why);
  }

  loop_context& loop_;
  const config::upstream_config& up_;  // in the snapshot the client side holds
  std::string method_;
  bool has_body_;
  bool upgrade_;
  std::unique_ptr<upstream_connection> conn_;
  std::optional<response_head_parser> parser_;
  // One read and one write at a time: each has its own handler memory
  // (Boost 1.81: 216 bytes for a head read, 272 for a body read, 160 for a write).
  handler_memory<288> read_memory_;
  handler_memory<192> write_memory_;
  std::string head_;
  std::string out_;        // queued for the upstream
  std::string in_flight_;  // being written
  std::size_t queued_body_ = 0, in_flight_body_ = 0;
  bool chunked_ = false;
  bool head_sent_ = false;
  bool connecting_ = false;
  bool writing_ = false;
  bool reading_ = false;
  bool request_end_ = false;
  bool request_written_ = false;
  bool write_failed_ = false;  // the upstream takes no more of the request
  bool head_seen_ = false;
  bool upgraded_ = false;      // a 101 to an upgrade request: the connection is the client's
  bool reused_ = false;
  bool retried_ = false;
  bool retry_pending_ = false;  // waiting for the old connection's last operation
  bool released_ = false;       // back to the pool, closed, or handed over
  bool cancelled_ = false;
};

}  // namespace

std::shared_ptr<upstream_call> start_upstream_call(loop_context& loop, const config::upstream_config& up,
                                                   const outgoing_request& req, call_events& events) {
  if (up.protocol == config::upstream_config::wire::h2) return start_h2_call(loop, up, req, events);
  auto call = std::allocate_shared<h1_call>(cached_allocator<h1_call>(loop.h1_calls), loop, up, req, events);
  call->start();
  return call;
}

}  // namespace jwtgate::proxy
