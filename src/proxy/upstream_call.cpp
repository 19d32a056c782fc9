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

class h1_call final : public upstream_call, public std::enable_shared_from_this<h1_call> {
 public:
  h1_call(loop_context& loop, const config::upstream_config& up, const outgoing_request& req, call_events& events)
      : upstream_call(loop, events), loop_(loop), up_(up), method_(req.method), has_body_(req.has_body) {
    build_head(req);
  }

  ~h1_call() override {
    if (conn_) conn_->stream.close();
  }

  void start() {
    conn_ = loop_.pool.take_idle(up_);
    if (!conn_) return connect();
    reused_ = true;
    write_more();
    read_head();
  }

  void send_body(std::string_view data, bool end) override {
    if (cancelled_ || request_end_) return;
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
    if (conn_ && !connecting_) write_more();
  }

  void cancel() override {
    cancelled_ = true;
    events_ = nullptr;
    if (conn_) conn_->stream.close();
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
        return self->fail(why == connect_failure::timeout ? 504 : 502, "the upstream is unreachable");
      }
      self->conn_ = std::move(conn);
      self->write_more();
      self->read_head();
    });
  }

  // The head goes out of head_ itself (kept for a retry), with whatever body
  // is queued behind it in the same write.
  void write_more() {
    if (writing_ || cancelled_ || (head_sent_ && out_.empty())) return;
    writing_ = true;
    in_flight_.swap(out_);
    out_.clear();
    in_flight_body_ = queued_body_;
    queued_body_ = 0;
    conn_->stream.expires_after(up_.timeout);
    std::array<asio::const_buffer, 2> bufs{asio::const_buffer(), asio::buffer(in_flight_)};
    if (!head_sent_) {
      head_sent_ = true;
      bufs[0] = asio::buffer(head_);
    }
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
    if (ec) {
      if (done_) return;  // the answer came early; the rest of the body is not wanted
      if (may_retry()) return retry();
      return fail(conn_->stream.timed_out() ? 504 : 502, "the upstream connection failed");
    }
    std::size_t sent = in_flight_body_;
    body_written_ += sent;
    in_flight_.clear();
    if (!out_.empty()) write_more();
    else if (request_end_) request_written_ = true;
    if (sent != 0 && events_) events_->on_request_body_sent(*this, sent);
    if (!writing_ && !reading_ && conn_) wait_for_client();
    finish_if_done();
  }

  void read_head() {
    parser_.emplace(response_);
    parser_->header_limit(upstream_header_limit);
    parser_->body_limit(boost::none);
    if (method_ == "HEAD") parser_->skip(true);
    reading_ = true;
    conn_->stream.expires_after(up_.timeout);
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
      if (may_retry()) return retry();
      spdlog::warn("upstream '{}': no response head: {}", up_.name, ec.message());
      return fail(conn_->stream.timed_out() ? 504 : 502,
                  conn_->stream.timed_out() ? "the upstream did not answer in time" : "the upstream connection failed");
    }
    if (response_.status >= 100 && response_.status < 200) {
      // Interim answers (100, 103) are not relayed; 101 has no meaning here.
      if (response_.status == 101) return fail(502, "the upstream switched protocols");
      return read_head();
    }
    head_seen_ = true;
    if (auto length = parser_->content_length()) expect_body_of(*length);
    if (parser_->is_done()) done_ = true;
    events_->on_response_head(*this);
    if (cancelled_) return;
    if (done_) return end();
    read_body();
  }

  void read_body() {
    // An event handler may already have asked for more (take_body from
    // inside on_response_data): one read at a time.
    if (reading_ || cancelled_ || done_) return;
    auto room = body_room();
    if (room.empty()) {
      if (!writing_) wait_for_client();
      return;  // the client side takes some first (on_body_taken)
    }
    parser_->body_buffer(room.data(), room.size());
    reading_ = true;
    conn_->stream.expires_after(up_.timeout);
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
      spdlog::warn("upstream '{}': the response body broke off: {}", up_.name, ec.message());
      return fail(502, "the upstream response broke off");
    }
    if (parser_->is_done()) {
      done_ = true;
      return end();
    }
    if (n != 0) events_->on_response_data(*this);
    if (cancelled_) return;
    read_body();
  }

  void end() {
    finish_if_done();
    if (events_) events_->on_response_end(*this);
  }

  // The connection goes back to the pool once both directions are complete.
  void finish_if_done() {
    if (!done_ || !conn_ || released_) return;
    if (!request_written_ && !request_end_) {
      // Answered before the whole body was sent: the connection's state is unknown.
      released_ = true;
      conn_->stream.close();
      return;
    }
    if (writing_ || !request_written_) return;
    released_ = true;
    bool reusable = parser_ && parser_->keep_alive() && !parser_->need_eof() && conn_->buffer.size() == 0 &&
                    method_ != "HEAD";
    if (reusable) loop_.pool.release(up_, std::move(conn_));
    else conn_->stream.close();
    conn_.reset();
  }

  void wait_for_client() {
    if (conn_) conn_->stream.expires_never();
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
    connect();
  }

  void fail(unsigned status, std::string_view why) {
    if (conn_) conn_->stream.close();
    auto* events = events_;
    events_ = nullptr;
    cancelled_ = true;
    if (events) events->on_call_failed(*this, status, why);
  }

  loop_context& loop_;
  const config::upstream_config& up_;  // in the snapshot the client side holds
  std::string method_;
  bool has_body_;
  std::unique_ptr<upstream_connection> conn_;
  std::optional<response_head_parser> parser_;
  // One read and one write at a time: each has its own handler memory
  // (Boost 1.81: 216 bytes for a head read, 272 for a body read, 160 for a write).
  handler_memory<288> read_memory_;
  handler_memory<192> write_memory_;
  std::string head_;
  std::string out_;        // queued for the upstream
  std::string in_flight_;  // being written
  std::size_t queued_body_ = 0, in_flight_body_ = 0, body_written_ = 0;
  bool chunked_ = false;
  bool head_sent_ = false;
  bool connecting_ = false;
  bool writing_ = false;
  bool reading_ = false;
  bool request_end_ = false;
  bool request_written_ = false;
  bool head_seen_ = false;
  bool reused_ = false;
  bool retried_ = false;
  bool retry_pending_ = false;  // waiting for the old connection's last operation
  bool released_ = false;
  bool cancelled_ = false;
};

}  // namespace

std::shared_ptr<upstream_call> start_upstream_call(loop_context& loop, const config::upstream_config& up,
                                                   const outgoing_request& req, call_events& events) {
  if (up.protocol == config::upstream_config::wire::h2) return start_h2_call(loop, up, req, events);
  auto call = std::make_shared<h1_call>(loop, up, req, events);
  call->start();
  return call;
}

}  // namespace jwtgate::proxy
