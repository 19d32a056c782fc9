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

#include "fields_view.h"
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
constexpr unsigned status_client_closed = 499;

// Protections (SPEC 9). Token buckets per connection: `burst` events at once,
// `per_second` sustained. Legitimate clients stay far below; an attack
// exhausts the bucket within a second and gets a GOAWAY.
struct bucket {
  double tokens, burst, per_second;
  std::chrono::steady_clock::time_point last;
  bucket(double b, double rate) : tokens(b), burst(b), per_second(rate), last(coarse_now()) {}
  bool take() noexcept {
    auto now = coarse_now();
    tokens = std::min(burst, tokens + std::chrono::duration<double>(now - last).count() * per_second);
    last = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  }
};

nghttp2_nv make_nv(std::string_view name, std::string_view value) noexcept {
  return nghttp2_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
                    NGHTTP2_NV_FLAG_NONE};
}

// Header lists for nghttp2_submit_*: names lowered into one arena (nghttp2
// copies the list when it is submitted).
class header_list {
 public:
  void clear() {
    nv_.clear();
    arena_.clear();
    spans_.clear();
  }
  void add(std::string_view name, std::string_view value) {
    std::size_t n = arena_.size();
    arena_.append(name);
    for (std::size_t i = n; i < arena_.size(); ++i) arena_[i] = util::ascii_lower(arena_[i]);
    std::size_t v = arena_.size();
    arena_.append(value);
    spans_.push_back({n, name.size(), v, value.size()});
  }
  std::vector<nghttp2_nv>& nv() {
    nv_.clear();
    for (const auto& s : spans_) nv_.push_back(make_nv({arena_.data() + s[0], s[1]}, {arena_.data() + s[2], s[3]}));
    return nv_;
  }

 private:
  std::string arena_;
  std::vector<std::array<std::size_t, 4>> spans_;
  std::vector<nghttp2_nv> nv_;
};

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

bool acceptable_request_id(std::string_view id) noexcept {
  return !id.empty() && id.size() <= 200 && is_safe_field_value(id);
}

class h2_session;

// One client stream: one request through the pipeline.
struct h2_stream final : call_events {
  h2_stream(h2_session& s, std::int32_t stream_id) : session(s), id(stream_id) {}
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
  std::int32_t id;
  std::shared_ptr<const config::snapshot> snap;
  h2_request_head req;
  std::chrono::steady_clock::time_point started;
  std::string request_id;
  auth::decision decision;
  std::string auth_result = "none";
  std::string log_path;
  unsigned status = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t body_received = 0;
  bool grpc = false;
  bool head_request = false;
  bool request_done = false;   // END_STREAM from the client
  bool decided = false;
  bool responded = false;      // a response was submitted
  bool refused = false;        // answered or reset; further DATA is dropped
  bool logout = false;         // back-channel logout: the body is collected
  std::string reply_body;      // a gateway reply's body, or a logout form
  std::size_t reply_sent = 0;
  std::shared_ptr<upstream_call> call;
};

class h2_session final : public std::enable_shared_from_this<h2_session>, public loop_connection {
 public:
  h2_session(loop_context& loop, connection_stream stream, bool https, std::string client_ip)
      : loop_(loop),
        stream_(std::move(stream)),
        https_(https),
        client_ip_(std::move(client_ip)),
        resets_(200, 100),
        pings_(50, 10),
        settings_(50, 10) {
    loop_.sessions.insert(this);
    loop_.metrics.connection_opened();
    loop_.metrics.http2_connection_opened();
    loop_.shared.open_connections.fetch_add(1, std::memory_order_relaxed);
  }

  ~h2_session() {
    streams_.clear();  // cancels their calls
    if (ng_) nghttp2_session_del(ng_);
    loop_.sessions.erase(this);
    loop_.metrics.connection_closed();
    loop_.metrics.http2_connection_closed();
    loop_.shared.open_connections.fetch_sub(1, std::memory_order_relaxed);
  }

  void start(std::string_view already_read);
  void close_if_idle() override;
  void expire_if_due(std::chrono::steady_clock::time_point now) override;

  // For the streams.
  void flush();
  void resume(std::int32_t id) {
    if (ng_ && !closed_) nghttp2_session_resume_data(ng_, id);
  }
  void consume(std::int32_t id, std::size_t n) {
    if (ng_ && !closed_ && n != 0) nghttp2_session_consume(ng_, id, n);
  }
  void submit_response_head(h2_stream& s, upstream_call& c);
  void fail_stream(h2_stream& s, unsigned status, std::string_view why);
  loop_context& loop() noexcept { return loop_; }

 private:
  friend struct callbacks;

  // nghttp2 callbacks.
  int on_begin_frame(const nghttp2_frame_hd& hd);
  int on_begin_headers(const nghttp2_frame& frame);
  int on_header(const nghttp2_frame& frame, std::string_view name, std::string_view value);
  int on_frame_recv(const nghttp2_frame& frame);
  int on_data_chunk(std::int32_t id, const std::uint8_t* data, std::size_t len);
  int on_stream_close(std::int32_t id, std::uint32_t error_code);

  void read();
  void on_read(error_code ec, std::size_t n);
  void feed(const std::uint8_t* data, std::size_t n);
  void arm_deadline();
  void protect(std::string_view kind);  // GOAWAY ENHANCE_YOUR_CALM
  void close_now();

  void handle_request(h2_stream& s);
  void forward(h2_stream& s);
  void reply(h2_stream& s, const auth::reply& r);
  void reply_error(h2_stream& s, unsigned status, std::string_view description);
  void backchannel_logout(h2_stream& s);
  void on_logout_body(h2_stream& s);
  void logout_reply(h2_stream& s, unsigned status, std::string_view error, std::string_view description);
  void log_request(h2_stream& s);
  h2_stream* find(std::int32_t id) const noexcept {
    return ng_ ? static_cast<h2_stream*>(nghttp2_session_get_stream_user_data(ng_, id)) : nullptr;
  }

  static ssize_t read_reply(nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t length,
                            std::uint32_t* flags, nghttp2_data_source* source, void*);
  static ssize_t read_relayed(nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t length,
                              std::uint32_t* flags, nghttp2_data_source* source, void*);

  loop_context& loop_;
  connection_stream stream_;
  bool https_;
  std::string client_ip_;
  nghttp2_session* ng_ = nullptr;
  std::unordered_map<std::int32_t, std::unique_ptr<h2_stream>> streams_;
  std::unique_ptr<std::uint8_t[]> read_buf_;
  std::string out_;
  bool writing_ = false;
  bool reading_ = false;
  bool closed_ = false;
  bool goaway_ = false;
  bool flushing_ = false;
  bool receiving_ = false;
  std::size_t header_block_bytes_ = 0;  // HEADERS + CONTINUATION of the block being read
  bucket resets_, pings_, settings_;
  header_list headers_;
  std::string scratch_;
};

struct callbacks {
  static h2_session& self(void* p) { return *static_cast<h2_session*>(p); }
  static int begin_frame(nghttp2_session*, const nghttp2_frame_hd* hd, void* p) { return self(p).on_begin_frame(*hd); }
  static int begin_headers(nghttp2_session*, const nghttp2_frame* f, void* p) { return self(p).on_begin_headers(*f); }
  static int header(nghttp2_session*, const nghttp2_frame* f, const std::uint8_t* name, std::size_t namelen,
                    const std::uint8_t* value, std::size_t valuelen, std::uint8_t, void* p) {
    return self(p).on_header(*f, {reinterpret_cast<const char*>(name), namelen},
                             {reinterpret_cast<const char*>(value), valuelen});
  }
  static int frame_recv(nghttp2_session*, const nghttp2_frame* f, void* p) { return self(p).on_frame_recv(*f); }
  static int data_chunk(nghttp2_session*, std::uint8_t, std::int32_t id, const std::uint8_t* data, std::size_t len,
                        void* p) {
    return self(p).on_data_chunk(id, data, len);
  }
  static int stream_close(nghttp2_session*, std::int32_t id, std::uint32_t code, void* p) {
    return self(p).on_stream_close(id, code);
  }
};

// ---------------------------------------------------------------------------
// Connection

void h2_session::start(std::string_view already_read) {
  const auto& server = loop_.snap->source.server;
  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_begin_frame_callback(cbs, callbacks::begin_frame);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, callbacks::begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cbs, callbacks::header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, callbacks::frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, callbacks::data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, callbacks::stream_close);
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  // Window updates follow the upstream's progress, not the bytes' arrival.
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_option_set_max_settings(opt, 32);
  nghttp2_option_set_max_outbound_ack(opt, 1000);
  // The decoded header list is limited per stream by max_header_bytes; the
  // HPACK table itself stays at the default 4 KiB.
  nghttp2_option_set_max_deflate_dynamic_table_size(opt, 4096);
  int rv = nghttp2_session_server_new2(&ng_, cbs, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  if (rv != 0) {
    spdlog::error("cannot start an HTTP/2 session: {}", nghttp2_strerror(rv));
    return close_now();
  }
  const std::array<nghttp2_settings_entry, 3> settings{{
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, server.max_concurrent_streams},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<std::uint32_t>(std::min<std::size_t>(server.max_header_bytes, UINT32_MAX))},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, NGHTTP2_INITIAL_WINDOW_SIZE},
  }};
  nghttp2_submit_settings(ng_, NGHTTP2_FLAG_NONE, settings.data(), settings.size());
  // A larger connection window than any one stream's, so one slow upstream
  // does not stall the connection's other streams.
  nghttp2_session_set_local_window_size(ng_, NGHTTP2_FLAG_NONE, 0, 16 * 1024 * 1024);
  read_buf_ = std::make_unique<std::uint8_t[]>(read_size);
  stream_.expires_after(server.header_timeout);
  if (!already_read.empty()) feed(reinterpret_cast<const std::uint8_t*>(already_read.data()), already_read.size());
  if (closed_) return;
  flush();
  read();
}

void h2_session::feed(const std::uint8_t* data, std::size_t n) {
  receiving_ = true;
  auto rv = nghttp2_session_mem_recv(ng_, data, n);
  receiving_ = false;
  if (rv < 0) {
    spdlog::debug("HTTP/2 client {}: {}", client_ip_, nghttp2_strerror(static_cast<int>(rv)));
    if (rv == NGHTTP2_ERR_FLOODED) loop_.metrics.count_http2_protection("slow_reader");
    else if (rv == NGHTTP2_ERR_BAD_CLIENT_MAGIC) return close_now();
    else loop_.metrics.count_http2_protection("protocol_error");
    // nghttp2 has queued a GOAWAY for protocol errors; send what it has.
    goaway_ = true;
    nghttp2_session_terminate_session(ng_, NGHTTP2_PROTOCOL_ERROR);
  }
}

void h2_session::read() {
  if (closed_ || reading_) return;
  if (!nghttp2_session_want_read(ng_)) return;
  reading_ = true;
  stream_.async_read_some(asio::buffer(read_buf_.get(), read_size),
                          [self = shared_from_this()](error_code ec, std::size_t n) { self->on_read(ec, n); });
}

void h2_session::on_read(error_code ec, std::size_t n) {
  reading_ = false;
  if (closed_) return;
  if (ec) return close_now();  // the client went away, or a deadline passed
  feed(read_buf_.get(), n);
  if (closed_) return;
  flush();
  read();
}

void h2_session::flush() {
  // Never from inside nghttp2 (a callback may end up here): the caller of
  // mem_recv flushes once it returns.
  if (closed_ || writing_ || flushing_ || receiving_) return;
  flushing_ = true;
  out_.clear();
  while (out_.size() < write_limit) {
    const std::uint8_t* data = nullptr;
    auto n = nghttp2_session_mem_send(ng_, &data);
    if (n < 0) {
      flushing_ = false;
      return close_now();
    }
    if (n == 0) break;
    out_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
  }
  flushing_ = false;
  if (out_.empty()) {
    if (!nghttp2_session_want_read(ng_) && !nghttp2_session_want_write(ng_)) return close_now();
    arm_deadline();
    return;
  }
  writing_ = true;
  arm_deadline();
  asio::async_write(stream_, asio::buffer(out_), [self = shared_from_this()](error_code ec, std::size_t) {
    self->writing_ = false;
    if (ec) return self->close_now();
    self->flush();
    self->read();
  });
}

// One deadline for the connection: a write that does not drain (a client that
// never reads), or no stream open for idle_timeout. Open streams wait on
// their upstream calls, which have deadlines of their own.
void h2_session::arm_deadline() {
  const auto& server = loop_.snap->source.server;
  if (writing_ || streams_.empty()) stream_.expires_after(server.idle_timeout);
  else stream_.expires_never();
}

void h2_session::expire_if_due(std::chrono::steady_clock::time_point now) {
  if (closed_) return;
  for (auto& [id, s] : streams_)
    if (s->call) s->call->expire_if_due(now);
  if (stream_.expire_if_due(now) && writing_) loop_.metrics.count_http2_protection("slow_reader");
}

void h2_session::close_if_idle() {
  if (closed_ || goaway_) return;
  // Drain: no new streams; those open finish, then the session ends.
  goaway_ = true;
  nghttp2_submit_goaway(ng_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(ng_), NGHTTP2_NO_ERROR,
                        nullptr, 0);
  if (streams_.empty()) nghttp2_session_terminate_session(ng_, NGHTTP2_NO_ERROR);
  flush();
}

void h2_session::protect(std::string_view kind) {
  loop_.metrics.count_http2_protection(kind);
  spdlog::warn("HTTP/2 client {}: {}; the connection ends with GOAWAY", client_ip_, kind);
  goaway_ = true;
  nghttp2_session_terminate_session(ng_, NGHTTP2_ENHANCE_YOUR_CALM);
}

void h2_session::close_now() {
  if (closed_) return;
  closed_ = true;
  stream_.close();
  for (auto& [id, s] : streams_)
    if (s->call) {
      s->call->cancel();
      s->call.reset();
    }
}

// ---------------------------------------------------------------------------
// Frames

int h2_session::on_begin_frame(const nghttp2_frame_hd& hd) {
  const auto limit = loop_.snap->source.server.max_header_bytes;
  switch (hd.type) {
    case NGHTTP2_HEADERS:
      header_block_bytes_ = hd.length;
      break;
    case NGHTTP2_CONTINUATION:
      // CVE-2024-27316: a header block that never ends. Compressed bytes
      // beyond twice the decoded limit cannot make a header list within it.
      header_block_bytes_ += hd.length;
      if (header_block_bytes_ > 2 * limit + 16 * 1024) {
        protect("continuation_flood");
        return NGHTTP2_ERR_CALLBACK_FAILURE;
      }
      break;
    case NGHTTP2_PING:
      if (!(hd.flags & NGHTTP2_FLAG_ACK) && !pings_.take()) {
        protect("ping_flood");
        return NGHTTP2_ERR_CALLBACK_FAILURE;
      }
      break;
    case NGHTTP2_SETTINGS:
      if (!(hd.flags & NGHTTP2_FLAG_ACK) && !settings_.take()) {
        protect("settings_flood");
        return NGHTTP2_ERR_CALLBACK_FAILURE;
      }
      break;
    case NGHTTP2_RST_STREAM:
      // CVE-2023-44487: streams opened and reset at once cost the gateway
      // work (and the upstream a request) while never counting against
      // max_concurrent_streams.
      if (!resets_.take()) {
        protect("rapid_reset");
        return NGHTTP2_ERR_CALLBACK_FAILURE;
      }
      break;
    default:
      break;
  }
  return 0;
}

int h2_session::on_begin_headers(const nghttp2_frame& frame) {
  if (frame.hd.type != NGHTTP2_HEADERS || frame.headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  auto s = std::make_unique<h2_stream>(*this, frame.hd.stream_id);
  s->started = std::chrono::steady_clock::now();
  s->snap = loop_.snap;
  nghttp2_session_set_stream_user_data(ng_, frame.hd.stream_id, s.get());
  streams_.emplace(frame.hd.stream_id, std::move(s));
  loop_.metrics.http2_stream_begun();
  return 0;
}

int h2_session::on_header(const nghttp2_frame& frame, std::string_view name, std::string_view value) {
  auto* s = find(frame.hd.stream_id);
  if (!s || s->refused) return 0;
  if (frame.headers.cat != NGHTTP2_HCAT_REQUEST) return 0;  // request trailers: not relayed
  s->req.add(name, value);
  if (s->req.decoded_bytes() > s->snap->source.server.max_header_bytes) {
    // The rest of the block is still decoded (HPACK state must stay in step)
    // but not kept; the stream is answered 431 once it is complete.
    loop_.metrics.count_http2_protection("header_list_too_large");
    s->refused = true;
  }
  return 0;
}

int h2_session::on_frame_recv(const nghttp2_frame& frame) {
  switch (frame.hd.type) {
    case NGHTTP2_HEADERS: {
      auto* s = find(frame.hd.stream_id);
      if (!s) return 0;
      if (frame.hd.flags & NGHTTP2_FLAG_END_STREAM) s->request_done = true;
      if (frame.headers.cat == NGHTTP2_HCAT_REQUEST && !s->decided) {
        s->decided = true;
        handle_request(*s);
      } else if (s->request_done && s->call) {
        s->call->send_body({}, true);
      } else if (s->request_done && s->logout) {
        on_logout_body(*s);
      }
      return 0;
    }
    case NGHTTP2_DATA: {
      auto* s = find(frame.hd.stream_id);
      if (!s || !(frame.hd.flags & NGHTTP2_FLAG_END_STREAM)) return 0;
      s->request_done = true;
      if (s->call) s->call->send_body({}, true);
      else if (s->logout) on_logout_body(*s);
      return 0;
    }
    default:
      return 0;
  }
}

int h2_session::on_data_chunk(std::int32_t id, const std::uint8_t* data, std::size_t len) {
  auto* s = find(id);
  if (!s) {
    consume(id, len);
    return 0;
  }
  s->body_received += len;
  const auto max_body = s->snap->source.server.max_body_bytes;
  if (!s->refused && max_body != 0 && s->body_received > max_body) {
    consume(id, len);
    if (s->call) {
      s->call->cancel();
      s->call.reset();
    }
    if (!s->responded) reply_error(*s, 413, "the request body is larger than the gateway accepts");
    else nghttp2_submit_rst_stream(ng_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
    s->refused = true;
    return 0;
  }
  std::string_view bytes(reinterpret_cast<const char*>(data), len);
  if (s->call && !s->refused) {
    s->call->send_body(bytes, false);  // consumed once the upstream took it
    return 0;
  }
  if (s->logout && !s->refused) {
    if (s->reply_body.size() + len > loop_context::relay_buffer_size) {
      s->logout = false;
      logout_reply(*s, 400, "invalid_request", "the logout request body is too large");
    } else {
      s->reply_body.append(bytes);
    }
  }
  consume(id, len);
  return 0;
}

int h2_session::on_stream_close(std::int32_t id, std::uint32_t error_code) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return 0;
  auto& s = *it->second;
  if (s.call) {
    s.call->cancel();
    s.call.reset();
  }
  if (s.decided) {
    if (error_code != NGHTTP2_NO_ERROR && s.status == 0) s.status = status_client_closed;
    log_request(s);
  }
  nghttp2_session_set_stream_user_data(ng_, id, nullptr);
  streams_.erase(it);
  if (goaway_ && streams_.empty()) nghttp2_session_terminate_session(ng_, NGHTTP2_NO_ERROR);
  return 0;
}

// ---------------------------------------------------------------------------
// A stream's request

void h2_session::handle_request(h2_stream& s) {
  auto err = s.req.finish();
  const auto& head = s.req.head();
  if (auto id = head["x-request-id"]; head.count(std::string_view("x-request-id")) == 1 && acceptable_request_id(id))
    s.request_id.assign(id);
  else
    loop_.ids.next(s.request_id);
  s.grpc = is_grpc_content_type(head[http::field::content_type]);
  s.head_request = s.req.method() == "HEAD";
  if (s.refused) {
    s.refused = false;
    return reply_error(s, 431, "the request head is larger than the gateway accepts");
  }
  if (err != h2_request_head::error::none) return reply_error(s, 400, describe(err));
  if (s.req.content_length_invalid()) return reply_error(s, 400, "the request has an invalid content-length");
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
  if (d.preflight) s.auth_result = "preflight";
  else if (d.route && d.route->cfg && d.route->cfg->auth.type == config::route_auth::mode::none) s.auth_result = "none";
  else if (d.reason != jose::status::ok) s.auth_result = jose::to_string(d.reason);
  else if (d.route && d.provider == nullptr) s.auth_result = "anonymous";
  else if (d.route) s.auth_result = "ok";
  unsigned st = d.response.status;
  if (d.what == auth::decision::action::respond && (st == 401 || st == 403) && d.reason != jose::status::ok) {
    std::string_view provider =
        d.provider && d.provider->cfg ? std::string_view(d.provider->cfg->name) : std::string_view();
    loop_.metrics.count_auth_failure(provider, jose::to_string(d.reason));
  }
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
  outgoing_request out;
  out.method = s.req.method();
  out.path = s.decision.target;
  std::string_view host = s.req.host();
  out.authority = host.empty() ? upstream_host_value(up.host, up.port, up.https) : std::string(host);
  for_each_forwarded_field(*s.snap, s.decision, s.req.head(), {},
                           forward_origin{client_ip_, https_, host, s.request_id}, scratch_,
                           [&](std::string_view name, std::string_view value) {
                             out.fields.add(static_cast<int>(http::string_to_field(name)), name, value);
                           });
  out.trailers = list_has_token(s.req.head().first(static_cast<int>(http::field::te)), "trailers");
  out.has_body = !s.request_done;
  if (s.req.has_content_length()) out.content_length = s.req.content_length();
  s.call = start_upstream_call(loop_, up, std::move(out), s);
  if (s.request_done) s.call->send_body({}, true);
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
  auto& nv = headers_.nv();
  bool no_body = s.head_request || res.status == 204 || res.status == 304 ||
                 (c.response_done() && c.body().empty() && c.trailers().entries().empty());
  s.responded = true;
  if (no_body) {
    nghttp2_submit_response(ng_, s.id, nv.data(), nv.size(), nullptr);
    return;
  }
  nghttp2_data_provider prd{};
  prd.source.ptr = &s;
  prd.read_callback = read_relayed;
  nghttp2_submit_response(ng_, s.id, nv.data(), nv.size(), &prd);
}

ssize_t h2_session::read_relayed(nghttp2_session* ng, std::int32_t id, std::uint8_t* buf, std::size_t length,
                                 std::uint32_t* flags, nghttp2_data_source* source, void*) {
  auto* s = static_cast<h2_stream*>(source->ptr);
  if (!s->call) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // the upstream went away: reset
  auto& c = *s->call;
  auto body = c.body();
  std::size_t n = std::min(length, body.size());
  std::memcpy(buf, body.data(), n);
  c.take_body(n);
  s->bytes_sent += n;
  if (c.response_done() && c.body().empty()) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    const auto& t = c.trailers();
    if (!t.entries().empty()) {
      header_list trailers;
      for (const auto& e : t.entries()) trailers.add(t.name(e), t.value(e));
      auto& nv = trailers.nv();
      if (nghttp2_submit_trailer(ng, id, nv.data(), nv.size()) == 0) *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
    }
    return static_cast<ssize_t>(n);
  }
  if (n == 0) return NGHTTP2_ERR_DEFERRED;
  return static_cast<ssize_t>(n);
}

ssize_t h2_session::read_reply(nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t length,
                               std::uint32_t* flags, nghttp2_data_source* source, void*) {
  auto* s = static_cast<h2_stream*>(source->ptr);
  std::size_t n = std::min(length, s->reply_body.size() - s->reply_sent);
  std::memcpy(buf, s->reply_body.data() + s->reply_sent, n);
  s->reply_sent += n;
  if (s->reply_sent == s->reply_body.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return static_cast<ssize_t>(n);
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
    auto& nv = headers_.nv();
    nghttp2_submit_response(ng_, s.id, nv.data(), nv.size(), nullptr);
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
    auto& nv = headers_.nv();
    if (r.body.empty() || s.head_request) {
      nghttp2_submit_response(ng_, s.id, nv.data(), nv.size(), nullptr);
    } else {
      s.reply_body = r.body;
      s.reply_sent = 0;
      s.bytes_sent = r.body.size();
      nghttp2_data_provider prd{};
      prd.source.ptr = &s;
      prd.read_callback = read_reply;
      nghttp2_submit_response(ng_, s.id, nv.data(), nv.size(), &prd);
    }
  }
  // The client need not send the rest of its body (RFC 9113 section 8.1).
  // Not for gRPC: its clients take that reset for an INTERNAL error and
  // lose the status; what they still send is read and dropped.
  if (!s.request_done && !s.grpc) nghttp2_submit_rst_stream(ng_, NGHTTP2_FLAG_NONE, s.id, NGHTTP2_NO_ERROR);
}

void h2_session::fail_stream(h2_stream& s, unsigned status, std::string_view why) {
  if (!s.responded) return reply_error(s, status, why);
  // Part of the response is out: only a reset tells the client.
  if (s.status == 0) s.status = status;
  nghttp2_submit_rst_stream(ng_, NGHTTP2_FLAG_NONE, s.id, NGHTTP2_INTERNAL_ERROR);
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
      auto* st = self->find(id);
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
  asio::post(*loop_.shared.control, [store, logout = std::move(logout), answer]() mutable {
    if (!store->status().up) return answer(revocation::outcome::unavailable);
    auto entry = std::move(logout.entry);
    store->claim_logout_jti(std::move(logout.replay_key), logout.replay_until,
                            [store, entry = std::move(entry), answer](revocation::outcome o, std::string) mutable {
                              if (o != revocation::outcome::ok) return answer(o);
                              store->add(std::move(entry), [answer](revocation::outcome added, std::string) {
                                answer(added);
                              });
                            });
  });
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
// inside nghttp2, so each ends by writing what nghttp2 now has to send.

void h2_stream::on_response_head(upstream_call& c) {
  session.submit_response_head(*this, c);
  session.flush();
}

void h2_stream::on_response_data(upstream_call&) {
  session.resume(id);
  session.flush();
}

void h2_stream::on_response_end(upstream_call& c) {
  if (c.response_done()) session.loop().metrics.observe_upstream_latency(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  session.resume(id);
  session.flush();
}

void h2_stream::on_call_failed(upstream_call&, unsigned st, std::string_view why) {
  auto keep = call;  // the reply below may drop the stream's reference
  session.fail_stream(*this, st, why);
  session.flush();
}

void h2_stream::on_request_body_sent(upstream_call&, std::size_t n) {
  session.consume(id, n);
  session.flush();
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
