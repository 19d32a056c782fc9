#include "h2_session.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <ctime>
#include <unordered_map>
#include <vector>

#include <boost/asio/write.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include "exchange.h"
#include "fields_view.h"
#include "h2_codec.h"
#include "forwarded_fields.h"
#include "jwtgate/auth/logout_token.h"
#include "jwtgate/proxy/h2_heads.h"
#include "jwtgate/proxy/header_rewrite.h"
#include "jwtgate/routing/cors.h"
#include "jwtgate/revocation/service.h"
#include "jwtgate/routing/path.h"
#include "upstream_call.h"

namespace jwtgate::proxy {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using error_code = boost::system::error_code;

namespace {

constexpr std::string_view preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
// One socket write carries up to this much; nghttp2 is asked for more only
// once it is out, so a client that stops reading holds at most this.
constexpr std::size_t write_limit = 64 * 1024;
constexpr std::size_t read_size = 16 * 1024;

std::string_view description_of(const auth::reply& r) {
  // Gateway replies carry {"error": ..., "error_description": ...}; gRPC
  // clients get the description as grpc-message.
  error_code ec;
  auto v = boost::json::parse(r.body, ec);
  if (!ec && v.is_object()) {
    for (const char* key : {"error_description", "error"})
      if (auto* s = v.as_object().if_contains(key); s && s->is_string()) {
        thread_local std::string text;
        text.assign(s->as_string().data(), s->as_string().size());
        return text;
      }
  }
  auto st = http::int_to_status(r.status);
  return st == http::status::unknown ? std::string_view("error") : std::string_view(http::obsolete_reason(st));
}

class h2_session;

// One client stream: one request through the pipeline.
struct h2_stream final : h2_server_codec::stream, call_events {
  explicit h2_stream(h2_session& s) : session(s) {}
  ~h2_stream() override {
    if (call) call->cancel();
  }
  h2_stream(const h2_stream&) = delete;
  h2_stream& operator=(const h2_stream&) = delete;

  void on_response_head(upstream_call& c) override;
  void on_response_data(upstream_call& c) override;
  void on_response_end(upstream_call& c) override;
  void on_call_failed(upstream_call& c, unsigned status, std::string_view why) override;
  void on_request_body_sent(upstream_call& c, std::size_t n) override;

  h2_session& session;
  std::shared_ptr<const config::snapshot> snap;
  std::chrono::steady_clock::time_point started;
  std::chrono::steady_clock::time_point upstream_sent;
  std::string request_id;
  auth::decision decision;
  std::string auth_result = "none";
  std::string log_path;
  unsigned status = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t body_received = 0;
  bool grpc = false;
  bool head_request = false;
  bool decided = false;
  bool responded = false;      // a response was submitted
  bool refused = false;        // answered or reset; further DATA is dropped
  bool logout = false;         // back-channel logout: the body is collected
  bool relaying = false;       // the response comes from the upstream call
  bool stall_reset = false;    // reset for a window the client never opened
  std::chrono::steady_clock::time_point stalled_since{};
  std::size_t body_unsent = 0;  // request body bytes the upstream has not taken yet
  std::chrono::steady_clock::time_point body_waiting_since{};  // ... and none is coming
  std::string reply_body;      // a gateway reply's body, or a logout form
  std::size_t reply_sent = 0;
  std::shared_ptr<upstream_call> call;
};

class h2_session final : public std::enable_shared_from_this<h2_session>,
                         public loop_connection,
                         private h2_server_codec {
 public:
  h2_session(loop_context& loop, connection_stream stream, bool https, std::string client_ip)
      : h2_server_codec(h2_limits{loop.snap->source.server.max_concurrent_streams,
                                  loop.snap->source.server.max_header_bytes}),
        loop_(loop),
        stream_(std::move(stream)),
        https_(https),
        client_ip_(std::move(client_ip)) {
    loop_.sessions.insert(this);
    loop_.metrics.connection_opened();
    loop_.metrics.http2_connection_opened();
    loop_.shared.open_connections.fetch_add(1, std::memory_order_relaxed);
  }

  ~h2_session() override {
    loop_.sessions.erase(this);
    loop_.metrics.connection_closed();
    loop_.metrics.http2_connection_closed();
    loop_.shared.open_connections.fetch_sub(1, std::memory_order_relaxed);
  }

  void start(std::string_view already_read);
  void close_if_idle() override;
  void expire_if_due(std::chrono::steady_clock::time_point now) override;

  // For the streams' upstream events.
  void flush();
  void flush_soon();
  void resume_stream(h2_stream& s) {
    if (!closed_) resume(s);
  }
  void consume_stream(h2_stream& s, std::size_t n) {
    if (!closed_) consume(s.id, n);
  }
  void submit_response_head(h2_stream& s, upstream_call& c);
  void fail_stream(h2_stream& s, unsigned status, std::string_view why);
  loop_context& loop() noexcept { return loop_; }

 private:
  // h2_server_codec
  std::unique_ptr<stream> make_stream() override;
  void recycle_stream(std::unique_ptr<stream> s) override;
  void on_request(stream& s) override { handle_request(static_cast<h2_stream&>(s)); }
  void on_request_data(stream& s, std::string_view bytes) override;
  void on_request_end(stream& s) override;
  void on_stream_closed(stream& s, std::uint32_t error_code) override;
  void on_protection(std::string_view kind) override;
  read_result read_response(stream& s, std::uint8_t* buf, std::size_t length, std::size_t& written, bool& eof,
                            h2_header_list& trailers) override;

  void read();
  void on_read(error_code ec, std::size_t n);
  void feed(const std::uint8_t* data, std::size_t n);
  void arm_deadline();
  void close_now();

  void handle_request(h2_stream& s);
  void forward(h2_stream& s);
  void reply(h2_stream& s, const auth::reply& r);
  void reply_error(h2_stream& s, unsigned status, std::string_view description);
  void backchannel_logout(h2_stream& s);
  void on_logout_body(h2_stream& s);
  void logout_reply(h2_stream& s, unsigned status, std::string_view error, std::string_view description);
  void log_request(h2_stream& s);
  h2_stream* find_stream(std::int32_t id) const noexcept { return static_cast<h2_stream*>(find(id)); }

  loop_context& loop_;
  connection_stream stream_;
  bool https_;
  std::string client_ip_;
  std::unique_ptr<std::uint8_t[]> read_buf_;
  std::string out_;
  bool writing_ = false;
  bool reading_ = false;
  bool closed_ = false;
  bool ending_ = false;  // a GOAWAY is out or queued
  bool flush_posted_ = false;
  std::chrono::steady_clock::time_point last_activity_ = coarse_now();
  std::vector<h2_stream*> with_calls_;  // scratch for expire_if_due
  h2_header_list headers_;
  std::string scratch_;
  outgoing_request outgoing_;
  // Closed streams kept for the next ones while the connection is busy:
  // fresh objects, with only the capacity of their buffers carried over.
  std::vector<std::unique_ptr<h2_stream>> spare_streams_;
  bool holds_buffers_ = false;  // a stream ran since the last idle sweep gave them back
};

// ---------------------------------------------------------------------------
// Connection

void h2_session::start(std::string_view already_read) {
  if (!start_codec()) {
    spdlog::error("cannot start an HTTP/2 session");
    return close_now();
  }
  read_buf_ = std::make_unique_for_overwrite<std::uint8_t[]>(read_size);  // untouched pages cost no RSS
  stream_.expires_after(loop_.snap->source.server.header_timeout);
  if (!already_read.empty()) feed(reinterpret_cast<const std::uint8_t*>(already_read.data()), already_read.size());
  if (closed_) return;
  flush();
  read();
}

void h2_session::feed(const std::uint8_t* data, std::size_t n) {
  if (!receive(data, n)) ending_ = true;  // a GOAWAY is queued; flush() sends it, then the session ends
}

// A read stays pending while the socket is open, wanted by nghttp2 or not
// (after a GOAWAY it drops what comes): it is what keeps the session alive
// while its streams wait on their upstreams.
void h2_session::read() {
  if (closed_ || reading_) return;
  reading_ = true;
  stream_.async_read_some(asio::buffer(read_buf_.get(), read_size),
                          [self = shared_from_this()](error_code ec, std::size_t n) { self->on_read(ec, n); });
}

void h2_session::on_read(error_code ec, std::size_t n) {
  reading_ = false;
  if (closed_) return;
  if (ec) return close_now();  // the client went away, or a deadline passed
  last_activity_ = coarse_now();
  feed(read_buf_.get(), n);
  if (closed_) return;
  flush();
  read();
}

void h2_session::flush() {
  // Never from inside nghttp2 (an upstream event may come while it runs):
  // whoever called into the library flushes once it returns.
  if (closed_ || writing_ || in_library()) return;
  out_.clear();
  if (!produce(out_, write_limit)) return close_now();
  if (out_.empty()) {
    if (!wants_read() && !wants_write()) return close_now();
    arm_deadline();
    return;
  }
  writing_ = true;
  arm_deadline();
  asio::async_write(stream_, asio::buffer(out_), [self = shared_from_this()](error_code ec, std::size_t) {
    self->writing_ = false;
    if (ec) return self->close_now();
    self->last_activity_ = coarse_now();
    // An idle connection does not keep the write buffer a busy moment grew.
    if (self->open_streams() == 0 && self->out_.capacity() > 4096) std::string().swap(self->out_);
    self->flush();
    self->read();
  });
}

// Upstream events of one turn of the loop (the responses of many streams
// come in together) leave in one write: the flush runs once they are all in.
void h2_session::flush_soon() {
  if (flush_posted_ || closed_) return;
  flush_posted_ = true;
  asio::post(loop_.ioc, [self = shared_from_this()] {
    self->flush_posted_ = false;
    self->flush();
  });
}

// One deadline for the connection: a write that does not drain (a client that
// never reads), or no stream open for idle_timeout. Open streams wait on
// their upstream calls, which have deadlines of their own.
void h2_session::arm_deadline() {
  if (writing_) stream_.expires_after(loop_.snap->source.server.idle_timeout);
  else stream_.expires_never();
}

// Swept a few times a second: upstream deadlines, then the connection's own.
void h2_session::expire_if_due(std::chrono::steady_clock::time_point now) {
  if (closed_) return;
  const auto& server = loop_.snap->source.server;
  if (open_streams() == 0 && holds_buffers_) {
    // An idle connection keeps no spare buffers.
    holds_buffers_ = false;
    spare_streams_.clear();
    outgoing_ = outgoing_request{};
    headers_ = h2_header_list{};
    std::string().swap(scratch_);
  }
  with_calls_.clear();
  bool stalled = false;
  for_each_stream([&](stream& st) {
    auto& s = static_cast<h2_stream&>(st);
    if (s.call) with_calls_.push_back(&s);
    // A response held back by the client's windows for idle_timeout (a
    // client that never reads, or opens no window) is reset.
    bool pending = s.relaying ? (s.call && !s.call->body().empty())
                              : (s.responded && s.reply_sent < s.reply_body.size());
    if (!pending || send_window(s) > 0) {
      s.stalled_since = {};
    } else if (s.stalled_since == std::chrono::steady_clock::time_point{}) {
      s.stalled_since = now;
    } else if (now - s.stalled_since >= server.idle_timeout && !s.stall_reset) {
      s.stall_reset = true;
      stalled = true;
      loop_.metrics.count_http2_protection("slow_reader");
      reset(s, NGHTTP2_CANCEL);
    }
    // A request body the client stopped sending to an HTTP/1 upstream, with
    // all it sent taken, is reset after idle_timeout, as an HTTP/1 client's
    // body read times out: that upstream's deadline does not run while it
    // waits on the client, and the stream would hold a whole upstream
    // connection. A stream to an h2 upstream holds only a stream, and a gRPC
    // stream may rightly be quiet for longer.
    // (A stream with a call was routed to an upstream: decision.route is set.)
    bool to_h2_upstream = s.call && s.decision.route->upstream->protocol == config::upstream_config::wire::h2;
    if (!s.call || s.request_done || s.refused || s.stall_reset || s.body_unsent != 0 || to_h2_upstream) {
      s.body_waiting_since = {};
    } else if (s.body_waiting_since == std::chrono::steady_clock::time_point{}) {
      s.body_waiting_since = now;
    } else if (now - s.body_waiting_since >= server.idle_timeout) {
      s.stall_reset = true;
      stalled = true;
      reset(s, NGHTTP2_CANCEL);
    }
  });
  // Before anything is flushed: sending may close streams, and with them
  // the pointers collected here.
  for (auto* s : with_calls_)
    if (s->call) s->call->expire_if_due(now);
  with_calls_.clear();
  if (stalled) flush();
  if (stream_.expire_if_due(now)) {
    if (writing_) loop_.metrics.count_http2_protection("slow_reader");
    return;
  }
  if (ending_) return flush();
  // A header block left without its END_HEADERS (slowloris over HTTP/2).
  if (header_block_open_ms() > std::chrono::duration_cast<std::chrono::milliseconds>(server.header_timeout).count()) {
    ending_ = true;
    terminate(NGHTTP2_PROTOCOL_ERROR);
    return flush();
  }
  // Idle: no stream for idle_timeout. The client is told with a GOAWAY.
  if (open_streams() == 0 && !writing_ && now - last_activity_ >= server.idle_timeout) {
    ending_ = true;
    terminate(NGHTTP2_NO_ERROR);
    flush();
  }
}

void h2_session::close_if_idle() {
  if (closed_ || ending_) return;
  // Drain: no new streams; those open finish, then the session ends.
  ending_ = true;
  goaway();
  flush();
}

void h2_session::on_protection(std::string_view kind) {
  loop_.metrics.count_http2_protection(kind);
  if (kind != "header_list_too_large")
    spdlog::warn("HTTP/2 client {}: {}; the connection ends with GOAWAY", client_ip_, kind);
}

void h2_session::close_now() {
  if (closed_) return;
  closed_ = true;
  stream_.close();
  for_each_stream([](stream& st) {
    auto& s = static_cast<h2_stream&>(st);
    if (s.call) {
      s.call->cancel();
      s.call.reset();
    }
  });
}

// ---------------------------------------------------------------------------
// Streams

std::unique_ptr<h2_server_codec::stream> h2_session::make_stream() {
  std::unique_ptr<h2_stream> s;
  if (spare_streams_.empty()) {
    s = std::make_unique<h2_stream>(*this);
  } else {
    s = std::move(spare_streams_.back());
    spare_streams_.pop_back();
  }
  holds_buffers_ = true;
  s->started = std::chrono::steady_clock::now();
  s->snap = loop_.snap;
  loop_.metrics.http2_stream_begun();
  return s;
}

namespace {
constexpr std::size_t max_spare_streams = 16;
constexpr std::size_t max_spare_stream_bytes = 8 * 1024;
}  // namespace

void h2_session::recycle_stream(std::unique_ptr<stream> base) {
  // No more spares than streams still open: a connection left with one
  // long-lived stream after a burst keeps at most one.
  if (closed_ || spare_streams_.size() >= std::min(max_spare_streams, open_streams())) return;
  auto& old = static_cast<h2_stream&>(*base);
  if (old.req.capacity_bytes() + old.trailers.capacity_bytes() + old.request_id.capacity() +
          old.log_path.capacity() + old.reply_body.capacity() > max_spare_stream_bytes)
    return;
  // Nothing of one request may reach the next: the object is made anew and
  // only emptied buffers are moved into it.
  h2_request_head req = std::move(old.req);
  flat_head trailers = std::move(old.trailers);
  std::string request_id = std::move(old.request_id), log_path = std::move(old.log_path),
              reply_body = std::move(old.reply_body);
  base.reset();
  auto s = std::make_unique<h2_stream>(*this);
  req.clear();
  trailers.clear();
  request_id.clear();
  log_path.clear();
  reply_body.clear();
  s->req = std::move(req);
  s->trailers = std::move(trailers);
  s->request_id = std::move(request_id);
  s->log_path = std::move(log_path);
  s->reply_body = std::move(reply_body);
  spare_streams_.push_back(std::move(s));
}

void h2_session::on_request_data(stream& st, std::string_view bytes) {
  auto& s = static_cast<h2_stream&>(st);
  s.body_received += bytes.size();
  const auto max_body = s.snap->source.server.max_body_bytes;
  if (!s.refused && max_body != 0 && s.body_received > max_body) {
    consume(s.id, bytes.size());
    if (s.call) {
      s.call->cancel();
      s.call.reset();
    }
    if (!s.responded) {
      reply_error(s, 413, "the request body is larger than the gateway accepts");
    } else {
      s.refused = true;
      reset(s, NGHTTP2_CANCEL);
    }
    return;
  }
  if (s.call && !s.refused && !s.call->response_done()) {
    s.body_unsent += bytes.size();
    s.body_waiting_since = {};
    s.call->send_body(bytes, false);  // consumed once the upstream took it
    return;
  }
  if (s.logout && !s.refused) {
    if (s.reply_body.size() + bytes.size() > loop_context::relay_buffer_size) {
      s.logout = false;
      logout_reply(s, 400, "invalid_request", "the logout request body is too large");
    } else {
      s.reply_body.append(bytes);
    }
  }
  consume(s.id, bytes.size());
}

void h2_session::on_request_end(stream& st) {
  auto& s = static_cast<h2_stream&>(st);
  if (s.call && !s.refused) {
    if (!s.trailers.entries().empty()) s.call->send_trailers(s.trailers);
    s.call->send_body({}, true);
  }
  else if (s.logout && !s.refused) on_logout_body(s);
}

void h2_session::on_stream_closed(stream& st, std::uint32_t error_code) {
  auto& s = static_cast<h2_stream&>(st);
  if (s.call) {
    s.call->cancel();
    s.call.reset();
  }
  if (s.head_seen) {
    if (error_code != NGHTTP2_NO_ERROR && !s.responded) s.status = status_client_closed;
    log_request(s);
  }
}

h2_server_codec::read_result h2_session::read_response(stream& st, std::uint8_t* buf, std::size_t length,
                                                       std::size_t& written, bool& eof, h2_header_list& trailers) {
  auto& s = static_cast<h2_stream&>(st);
  if (!s.relaying) {
    // A gateway reply.
    std::size_t n = std::min(length, s.reply_body.size() - s.reply_sent);
    std::memcpy(buf, s.reply_body.data() + s.reply_sent, n);
    s.reply_sent += n;
    written = n;
    eof = s.reply_sent == s.reply_body.size();
    return read_result::data;
  }
  if (!s.call) return read_result::reset;  // the upstream went away mid-body
  auto& c = *s.call;
  auto body = c.body();
  std::size_t n = std::min(length, body.size());
  if (n != 0) std::memcpy(buf, body.data(), n);  // an empty body may have no buffer at all
  c.take_body(n);
  s.bytes_sent += n;
  written = n;
  if (c.response_done() && c.body().empty()) {
    eof = true;
    const auto& t = c.trailers();
    for (const auto& e : t.entries()) trailers.add(t.name(e), t.value(e));
    return read_result::data;
  }
  return n == 0 ? read_result::deferred : read_result::data;
}


// A stream's request

void h2_session::handle_request(h2_stream& s) {
  auto err = s.req.finish();
  s.decided = true;
  const auto& head = s.req.head();
  if (auto id = head["x-request-id"]; head.count(std::string_view("x-request-id")) == 1 && acceptable_request_id(id))
    s.request_id.assign(id);
  else
    loop_.ids.next(s.request_id);
  s.grpc = is_grpc_content_type(head[http::field::content_type]);
  s.head_request = s.req.method() == "HEAD";
  if (s.too_large) {
    return reply_error(s, 431, "the request head is larger than the gateway accepts");
  }
  if (err != h2_request_head::error::none) return reply_error(s, 400, describe(err));
  if (s.req.content_length_invalid()) return reply_error(s, 400, "the request has an invalid content-length");
  if (auto max_body = s.snap->source.server.max_body_bytes;
      max_body != 0 && s.req.has_content_length() && s.req.content_length() > max_body)
    return reply_error(s, 413, "the request body is larger than the gateway accepts");
  if (loop_.shared.draining.load(std::memory_order_relaxed))
    return reply_error(s, 503, "the gateway is shutting down");

  fields_view view(head);
  auth::request_head rh;
  rh.method = s.req.method();
  rh.target = s.req.path();
  rh.host = s.req.host();
  rh.headers = &view;
  auto now = static_cast<std::int64_t>(std::time(nullptr));
  try {
    auto started = std::chrono::steady_clock::now();
    s.decision = auth::decide(*s.snap, rh, loop_.auth, now);
    loop_.metrics.observe_auth_latency(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  } catch (const std::exception& ex) {  // boundary: a bug there must not take the loop down
    spdlog::error("request {}: the auth pipeline failed: {}", s.request_id, ex.what());
    return reply_error(s, 500, "the gateway failed to process the request");
  }
  const auto& d = s.decision;
  s.auth_result = auth_result_of(d);
  count_auth_failure(loop_.metrics, d);
  if (d.what == auth::decision::action::backchannel_logout) return backchannel_logout(s);
  if (d.what == auth::decision::action::respond) return reply(s, d.response);
  forward(s);
}

void h2_session::forward(h2_stream& s) {
  const auto* route = s.decision.route;
  if (!route || !route->upstream) return reply_error(s, 404, "no route serves this request");
  if (!forwardable(s.decision)) {
    spdlog::error("request {}: refusing to forward a target or identity header with control characters",
                  s.request_id);
    return reply_error(s, 400, "the request cannot be forwarded safely");
  }
  const auto& up = *route->upstream;
  // Built in the session's own request, whose storage the next stream reuses.
  auto& out = outgoing_;
  out.method.assign(s.req.method());
  out.path.assign(s.decision.target);
  std::string_view host = s.req.host();
  if (host.empty()) out.authority = upstream_host_value(up.host, up.port, up.https);
  else out.authority.assign(host);
  out.fields.clear();
  for_each_forwarded_field(*s.snap, s.decision, s.req.head(), {},
                           forward_origin{client_ip_, https_, host, s.request_id}, scratch_,
                           [&](std::string_view name, std::string_view value) {
                             out.fields.add(0, name, value);  // sent by name only
                           });
  out.trailers = list_has_token(s.req.head().first(static_cast<int>(http::field::te)), "trailers");
  out.has_body = !s.request_done;
  out.content_length.reset();
  if (s.req.has_content_length()) out.content_length = s.req.content_length();
  s.upstream_sent = std::chrono::steady_clock::now();
  s.call = start_upstream_call(loop_, up, out, s);  // the request's end comes with on_request_end
}

void h2_session::submit_response_head(h2_stream& s, upstream_call& c) {
  const auto& res = c.response();
  s.status = res.status;
  headers_.clear();
  auto status = std::to_string(res.status);
  headers_.add(":status", status);
  std::string connection_joined;
  auto connection = res.joined(static_cast<int>(http::field::connection), connection_joined);
  const bool cors_route = s.decision.route && s.decision.route->cors;
  for (const auto& e : res.entries()) {
    auto name = res.name(e);
    if (must_drop_for_http2_response(name, connection)) continue;
    if (cors_route && routing::is_cors_response_field(name)) continue;
    headers_.add(name, res.value(e));
  }
  if (s.decision.cors) {
    routing::cors_fields fields;
    std::size_t n = s.decision.cors->response_fields(s.decision.origin, fields);
    for (std::size_t i = 0; i < n; ++i) headers_.add(fields[i].name, fields[i].value);
  }
  bool no_body = s.head_request || res.status == 204 || res.status == 304 ||
                 (c.response_done() && c.body().empty() && c.trailers().entries().empty());
  s.responded = true;
  s.relaying = true;
  if (no_body) return submit_head_only(s, headers_);
  submit_with_body(s, headers_);
}

void h2_session::reply_error(h2_stream& s, unsigned status, std::string_view description) {
  auth::reply r;
  r.status = status;
  r.body = auth::error_body(status, description);
  if (status >= 500 || status == 413 || status == 431)
    spdlog::warn("request {}: {} {}", s.request_id.empty() ? "-" : s.request_id, status, description);
  reply(s, r);
}

void h2_session::reply(h2_stream& s, const auth::reply& r) {
  if (s.responded) return;
  if (s.request_id.empty()) loop_.ids.next(s.request_id);
  s.responded = true;
  s.status = r.status;
  s.refused = true;  // no more of its body goes anywhere
  if (s.call) {
    s.call->cancel();
    s.call.reset();
  }
  headers_.clear();
  std::string status_text, grpc_status;
  if (s.grpc) {
    // A trailers-only response in gRPC's terms (SPEC 9): clients report the
    // status code and message instead of an HTTP error.
    headers_.add(":status", "200");
    headers_.add("content-type", "application/grpc");
    grpc_status = std::to_string(grpc_status_for_http(r.status));
    headers_.add("grpc-status", grpc_status);
    status_text = grpc_percent_encode(description_of(r));
    headers_.add("grpc-message", status_text);
    if (!r.www_authenticate.empty()) headers_.add("www-authenticate", r.www_authenticate);
    headers_.add("x-request-id", s.request_id);
    submit_head_only(s, headers_);
  } else {
    status_text = std::to_string(r.status);
    headers_.add(":status", status_text);
    if (!r.www_authenticate.empty()) headers_.add("www-authenticate", r.www_authenticate);
    for (const auto& [name, value] : r.headers) headers_.add(name, value);
    if (s.decision.cors && !s.decision.preflight) {
      routing::cors_fields fields;
      std::size_t n = s.decision.cors->response_fields(s.decision.origin, fields);
      for (std::size_t i = 0; i < n; ++i) headers_.add(fields[i].name, fields[i].value);
    }
    if (!r.body.empty()) {
      headers_.add("content-type", "application/json");
      headers_.add("cache-control", "no-store");
    }
    headers_.add("x-request-id", s.request_id);
    auto length = std::to_string(r.body.size());
    headers_.add("content-length", length);
    // What the client still sends of its body is read and dropped. RFC
    // 9113 section 8.1 allows a RST_STREAM NO_ERROR instead, but gRPC
    // clients take it for an INTERNAL error and lose the status, and curl
    // for a failed transfer.
    if (r.body.empty() || s.head_request) {
      submit_head_only(s, headers_);
    } else {
      s.reply_body = r.body;
      s.reply_sent = 0;
      s.bytes_sent = r.body.size();
      submit_with_body(s, headers_);
    }
  }
}

void h2_session::fail_stream(h2_stream& s, unsigned status, std::string_view why) {
  if (!s.responded) return reply_error(s, status, why);
  // Part of the response is out: only a reset tells the client.
  if (s.status == 0) s.status = status;
  reset(s, NGHTTP2_INTERNAL_ERROR);
}

// ---------------------------------------------------------------------------
// Back-channel logout over HTTP/2: the form is collected, then the same
// checks and store as for HTTP/1.

void h2_session::logout_reply(h2_stream& s, unsigned status, std::string_view error, std::string_view description) {
  auth::reply r;
  r.status = status;
  boost::json::object body;
  body["error"] = error;
  body["error_description"] = description;
  r.body = boost::json::serialize(body);
  reply(s, r);
}

void h2_session::backchannel_logout(h2_stream& s) {
  s.auth_result = "backchannel_logout";
  if (s.req.method() != "POST") return logout_reply(s, 400, "invalid_request", "a back-channel logout is a POST");
  auto type = s.req.head()[http::field::content_type];
  auto media = type.substr(0, type.find(';'));
  if (!iequals(util::trim_ows(media), "application/x-www-form-urlencoded"))
    return logout_reply(s, 400, "invalid_request",
                        "a back-channel logout is an application/x-www-form-urlencoded form");
  if (s.request_done) return logout_reply(s, 400, "invalid_request", "the body has no logout_token");
  s.logout = true;
  s.reply_body.clear();
}

void h2_session::on_logout_body(h2_stream& s) {
  s.logout = false;
  std::string token, why;
  if (!auth::logout_token_from_form(s.reply_body, token, why)) return logout_reply(s, 400, "invalid_request", why);
  auto* store = loop_.shared.revocations;
  if (store == nullptr || s.decision.provider == nullptr)
    return logout_reply(s, 400, "invalid_request", "revocation is not configured");
  auto now = static_cast<std::int64_t>(std::time(nullptr));
  auto ttl = std::chrono::duration_cast<std::chrono::seconds>(store->config().default_ttl).count();
  auth::logout_request logout;
  if (!auth::verify_logout_token(*s.decision.provider, token, now, ttl, logout, why))
    return logout_reply(s, 400, "invalid_request", why);
  s.decision.subject = logout.entry.type == revocation::kind::sub ? logout.entry.value : std::string();
  std::weak_ptr<h2_session> weak = shared_from_this();
  auto id = s.id;
  auto answer = [weak, id, &ioc = loop_.ioc](revocation::outcome o) {
    asio::post(ioc, [weak, id, o] {
      auto self = weak.lock();
      if (!self || self->closed_) return;
      auto* st = self->find_stream(id);
      if (!st) return;
      switch (o) {
        case revocation::outcome::ok: {
          auth::reply r;
          r.status = 200;
          r.body = "{}";
          self->reply(*st, r);
          break;
        }
        case revocation::outcome::replayed:
          self->logout_reply(*st, 400, "invalid_request", "the logout token's jti was seen before (a replay)");
          break;
        case revocation::outcome::unavailable:
          self->logout_reply(*st, 503, "temporarily_unavailable", "the revocation store is unavailable; retry");
          break;
        default:
          self->logout_reply(*st, 500, "server_error", "the revocation store failed");
          break;
      }
      self->flush();
    });
  };
  store_logout(loop_.shared, std::move(logout), answer);
}

void h2_session::log_request(h2_stream& s) {
  const auto& d = s.decision;
  std::string_view route = d.route && d.route->cfg ? std::string_view(d.route->cfg->name) : "";
  loop_.metrics.count_request(route, s.status);
  if (!loop_.shared.log || !loop_.shared.log->enabled()) return;
  if (d.what == auth::decision::action::forward && !d.target.empty()) {
    s.log_path.assign(std::string_view(d.target).substr(0, d.target.find('?')));
  } else {
    routing::normalized_target nt;
    auto target = s.req.path();
    if (!target.empty() && routing::normalize_target(target, nt) == routing::target_error::none) {
      s.log_path = std::move(nt.path);
    } else {
      auto raw = target.substr(0, target.find('?'));  // never the query: it may carry a token
      s.log_path.assign(raw.data(), raw.size());
    }
  }
  access_entry e;
  e.time = std::chrono::system_clock::now();
  e.request_id = s.request_id;
  e.client = client_ip_;
  e.method = s.req.method();
  e.path = s.log_path;
  e.route = route;
  e.status = s.status;
  e.auth = s.auth_result;
  e.subject = d.subject;
  if (d.what == auth::decision::action::forward && d.route && d.route->upstream) e.upstream = d.route->upstream->name;
  e.duration_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - s.started).count();
  e.bytes_sent = s.bytes_sent;
  loop_.shared.log->write(e);
}

// ---------------------------------------------------------------------------
// Upstream events: they come from the call's own I/O handlers, never from
// inside nghttp2, so each ends by having what nghttp2 now holds written out.

void h2_stream::on_response_head(upstream_call& c) {
  session.loop().metrics.observe_upstream_latency(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - upstream_sent).count());
  session.submit_response_head(*this, c);
  session.flush_soon();
}

void h2_stream::on_response_data(upstream_call&) {
  session.resume_stream(*this);
  session.flush_soon();
}

void h2_stream::on_response_end(upstream_call&) {
  session.resume_stream(*this);
  session.flush_soon();
}

void h2_stream::on_call_failed(upstream_call&, unsigned st, std::string_view why) {
  auto keep = call;  // the reply below may drop the stream's reference
  session.fail_stream(*this, st, why);
  session.flush_soon();
}

void h2_stream::on_request_body_sent(upstream_call&, std::size_t n) {
  body_unsent -= std::min(n, body_unsent);
  session.consume_stream(*this, n);
  session.flush_soon();
}

}  // namespace

void start_h2_session(loop_context& loop, connection_stream stream, bool https, std::string client_ip,
                      std::string_view already_read) {
  auto s = std::make_shared<h2_session>(loop, std::move(stream), https, std::move(client_ip));
  s->start(already_read);
}

bool starts_like_h2_preface(std::string_view bytes, bool& complete) noexcept {
  std::size_t n = std::min(bytes.size(), preface.size());
  complete = n == preface.size();
  return bytes.substr(0, n) == preface.substr(0, n);
}

}  // namespace jwtgate::proxy
