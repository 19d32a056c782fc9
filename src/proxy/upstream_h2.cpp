#include "upstream_h2.h"

#include <nghttp2/nghttp2.h>

#include <array>
#include <cstring>
#include <map>
#include <unordered_map>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/field.hpp>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include "h2_codec.h"
#include "jwtgate/proxy/h2_heads.h"
#include "jwtgate/proxy/header_rewrite.h"
#include "loop.h"

namespace jwtgate::proxy {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using error_code = boost::system::error_code;

namespace {

constexpr std::size_t read_size = 16 * 1024;
constexpr std::size_t write_limit = 64 * 1024;
constexpr std::size_t max_response_head = 64 * 1024;

class h2_connection;

class h2_call final : public upstream_call, public std::enable_shared_from_this<h2_call> {
 public:
  h2_call(loop_context& loop, std::weak_ptr<h2_connection> conn, const outgoing_request& req, call_events& events,
          std::chrono::steady_clock::time_point deadline)
      : upstream_call(loop, events), req_(req), conn_(std::move(conn)), deadline_(deadline) {
    if (!req_.has_body) req_end_ = true;
  }

  void send_body(std::string_view data, bool end) override;
  void send_trailers(const flat_head& trailers) override { req_trailers_ = trailers; }
  void cancel() override;
  void expire_if_due(std::chrono::steady_clock::time_point now) override;

  // What the connection reports is kept here, then delivered once nghttp2
  // has returned (deliver), so no event reaches the client side from
  // inside the library.
  void deliver();
  void fail_later(unsigned status, std::string_view why) {
    if (failed_) return;
    failed_ = true;
    fail_status_ = status;
    fail_why_.assign(why);
  }

  outgoing_request req_;
  flat_head req_trailers_;
  std::string req_body_;
  std::size_t req_taken_ = 0;
  bool req_end_ = false;
  std::int32_t stream_id = -1;
  std::size_t head_bytes = 0;
  bool head_seen = false;
  bool ev_head = false, ev_data = false, ev_end = false;
  std::size_t ev_sent = 0;
  std::size_t body_sent = 0;  // request body bytes handed to nghttp2
  bool retried = false;       // sent again after REFUSED_STREAM

  flat_head& response_head() noexcept { return response_; }
  flat_head& trailer_head() noexcept { return trailers_; }
  bool store_body(const char* data, std::size_t n) { return body_append(data, n); }
  void mark_done() noexcept { done_ = true; }
  bool cancelled() const noexcept { return events_ == nullptr; }

 private:
  void on_body_taken(std::size_t n) override;

  std::weak_ptr<h2_connection> conn_;
  std::chrono::steady_clock::time_point deadline_;  // for the response head
  bool failed_ = false;
  unsigned fail_status_ = 0;
  std::string fail_why_;
};

class h2_connection final : public std::enable_shared_from_this<h2_connection> {
 public:
  h2_connection(loop_context& loop, config::upstream_config up) : loop_(loop), up_(std::move(up)) {}
  ~h2_connection() {
    if (ng_) nghttp2_session_del(ng_);
  }
  h2_connection(const h2_connection&) = delete;
  h2_connection& operator=(const h2_connection&) = delete;

  bool usable() const noexcept { return !dead_ && !going_away_; }
  const config::upstream_config& upstream() const noexcept { return up_; }

  void add(const std::shared_ptr<h2_call>& c) {
    if (dead_) {
      c->fail_later(502, "the upstream connection failed");
      return later(c);
    }
    if (!ng_) {
      waiting_.push_back(c);
      if (!connecting_) connect();
      return;
    }
    submit(c);
    schedule_flush();
  }

  void resume(const h2_call& c) {
    if (ng_ && c.stream_id > 0) nghttp2_session_resume_data(ng_, c.stream_id);
    schedule_flush();
  }
  void consume(const h2_call& c, std::size_t n) {
    if (ng_ && c.stream_id > 0 && n != 0) nghttp2_session_consume(ng_, c.stream_id, n);
    schedule_flush();
  }
  void reset(h2_call& c) {
    if (ng_ && c.stream_id > 0) nghttp2_submit_rst_stream(ng_, NGHTTP2_FLAG_NONE, c.stream_id, NGHTTP2_CANCEL);
    std::erase_if(waiting_, [&](const auto& w) { return w.get() == &c; });
    schedule_flush();
  }

  // The loop is going away: drop every call without a word.
  void shut() {
    dead_ = true;
    if (conn_) conn_->stream.close();
    waiting_.clear();
    active_.clear();
    dirty_.clear();
    retry_.clear();
  }

  void expire_if_due(std::chrono::steady_clock::time_point now) {
    if (conn_) conn_->stream.expire_if_due(now);
  }

  friend struct h2_client_callbacks;

  // Delivers c's events from a handler of its own.
  void later(const std::shared_ptr<h2_call>& c) {
    dirty_.push_back(c);
    schedule_flush();
  }

 private:

  void connect() {
    connecting_ = true;
    loop_.pool.connect(up_, [self = shared_from_this()](connect_failure why, std::string message,
                                                        std::unique_ptr<upstream_connection> conn) {
      self->connecting_ = false;
      if (self->dead_) {
        if (conn) conn->stream.close();
        return;
      }
      if (why != connect_failure::none) {
        spdlog::warn("cannot connect to upstream '{}': {}", self->up_.name, message);
        return self->die(502, "the upstream is unreachable");  // connect_timeout included
      }
      if (auto* tls = conn->stream.tls()) {
        const unsigned char* proto = nullptr;
        unsigned int len = 0;
        SSL_get0_alpn_selected(tls->native_handle(), &proto, &len);
        if (len != 2 || std::memcmp(proto, "h2", 2) != 0) {
          spdlog::warn("upstream '{}' did not accept h2 through ALPN", self->up_.name);
          conn->stream.close();
          return self->die(502, "the upstream does not speak HTTP/2");
        }
      }
      self->conn_ = std::move(conn);
      self->start_session();
    });
  }

  void start_session();
  void submit(const std::shared_ptr<h2_call>& c);
  void schedule_flush() {
    if (flush_posted_) return;
    flush_posted_ = true;
    asio::post(loop_.ioc, [self = shared_from_this()] {
      self->flush_posted_ = false;
      self->flush();
      self->deliver();
    });
  }
  void flush();
  void read();
  void deliver() {
    auto calls = std::move(dirty_);
    dirty_.clear();
    for (auto& c : calls) c->deliver();
  }
  void die(unsigned status, std::string_view why) {
    dead_ = true;
    if (conn_) conn_->stream.close();
    for (auto& c : waiting_) {
      c->fail_later(status, why);
      dirty_.push_back(c);
    }
    waiting_.clear();
    for (auto& [id, c] : active_) {
      c->fail_later(c->head_seen ? 502 : status, c->head_seen ? "the upstream connection broke off" : why);
      dirty_.push_back(c);
    }
    active_.clear();
    deliver();
  }

  // Refused streams go out again, outside nghttp2's callbacks; on a
  // connection that is going away they fail instead.
  void resubmit_refused() {
    auto calls = std::move(retry_);
    retry_.clear();
    for (auto& c : calls) {
      if (c->cancelled()) continue;
      if (going_away_ || dead_) {
        c->fail_later(502, "the upstream refused the stream");
        dirty_.push_back(c);
        continue;
      }
      submit(c);
    }
  }

  h2_call* find(std::int32_t id) {
    auto it = active_.find(id);
    return it == active_.end() ? nullptr : it->second.get();
  }
  void touch(h2_call* c) {
    for (const auto& d : dirty_)
      if (d.get() == c) return;
    if (auto it = active_.find(c->stream_id); it != active_.end()) dirty_.push_back(it->second);
  }

  static ssize_t read_body(nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t length,
                           std::uint32_t* flags, nghttp2_data_source* source, void* user) {
    auto* c = static_cast<h2_call*>(source->ptr);
    auto& self = *static_cast<h2_connection*>(user);
    std::size_t avail = c->req_body_.size() - c->req_taken_;
    std::size_t n = std::min(length, avail);
    std::memcpy(buf, c->req_body_.data() + c->req_taken_, n);
    c->req_taken_ += n;
    if (c->req_taken_ == c->req_body_.size()) {
      c->req_body_.clear();
      c->req_taken_ = 0;
    }
    if (n != 0) {
      c->ev_sent += n;
      c->body_sent += n;
      self.touch(c);
    }
    if (c->req_end_ && c->req_body_.empty()) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      if (!c->req_trailers_.entries().empty()) {
        std::vector<nghttp2_nv> nv;
        std::string lowered;
        lowered.reserve(4096);
        for (const auto& e : c->req_trailers_.entries()) {
          auto name = c->req_trailers_.name(e);
          if (lowered.size() + name.size() > lowered.capacity()) break;  // views below must stay valid
          std::size_t at = lowered.size();
          for (char ch : name) lowered.push_back(util::ascii_lower(ch));
          nv.push_back(make_nv(std::string_view(lowered).substr(at, name.size()), c->req_trailers_.value(e)));
        }
        if (nghttp2_submit_trailer(self.ng_, c->stream_id, nv.data(), nv.size()) == 0)
          *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      }
      return static_cast<ssize_t>(n);
    }
    if (n == 0) return NGHTTP2_ERR_DEFERRED;
    return static_cast<ssize_t>(n);
  }

  loop_context& loop_;
  config::upstream_config up_;  // a copy: the connection outlives reloads
  std::unique_ptr<upstream_connection> conn_;
  nghttp2_session* ng_ = nullptr;
  std::vector<std::shared_ptr<h2_call>> waiting_;
  std::unordered_map<std::int32_t, std::shared_ptr<h2_call>> active_;
  std::vector<std::shared_ptr<h2_call>> dirty_;
  std::vector<std::shared_ptr<h2_call>> retry_;  // refused streams to send again
  std::unique_ptr<std::uint8_t[]> read_buf_;
  std::string out_;
  bool connecting_ = false, writing_ = false, reading_ = false, flushing_ = false, flush_posted_ = false;
  bool dead_ = false;        // the connection is gone
  bool going_away_ = false;  // the upstream sent GOAWAY: no new streams
};

struct h2_client_callbacks {
  static h2_connection& self(void* p) { return *static_cast<h2_connection*>(p); }

  static int header(nghttp2_session*, const nghttp2_frame* f, const std::uint8_t* name, std::size_t namelen,
                    const std::uint8_t* value, std::size_t valuelen, std::uint8_t, void* p) {
    auto* c = self(p).find(f->hd.stream_id);
    if (!c || f->hd.type != NGHTTP2_HEADERS) return 0;
    std::string_view n(reinterpret_cast<const char*>(name), namelen);
    std::string_view v(reinterpret_cast<const char*>(value), valuelen);
    c->head_bytes += namelen + valuelen + 32;
    if (c->head_bytes > max_response_head) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // resets the stream
    if (c->head_seen) {
      c->trailer_head().add(static_cast<int>(http::string_to_field(n)), n, v);
      return 0;
    }
    if (n == ":status") {
      unsigned st = 0;
      for (char ch : v) st = st * 10 + static_cast<unsigned>(ch - '0');
      c->response_head().status = st;
      return 0;
    }
    if (!n.empty() && n.front() == ':') return 0;
    c->response_head().add(static_cast<int>(http::string_to_field(n)), n, v);
    return 0;
  }

  static int frame_recv(nghttp2_session*, const nghttp2_frame* f, void* p) {
    auto& conn = self(p);
    if (f->hd.type == NGHTTP2_GOAWAY) {
      conn.going_away_ = true;  // no new streams here; open ones may finish
      return 0;
    }
    auto* c = conn.find(f->hd.stream_id);
    if (!c) return 0;
    if (f->hd.type == NGHTTP2_HEADERS && !c->head_seen) {
      auto st = c->response_head().status;
      if (st >= 100 && st < 200) {
        c->response_head().clear();  // interim: the real head follows
        c->head_bytes = 0;
        return 0;
      }
      c->head_seen = true;
      c->ev_head = true;
      conn.touch(c);
    }
    if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) && (f->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
      c->mark_done();
      c->ev_end = true;
      conn.touch(c);
    }
    return 0;
  }

  static int data_chunk(nghttp2_session*, std::uint8_t, std::int32_t id, const std::uint8_t* data, std::size_t len,
                        void* p) {
    auto& conn = self(p);
    auto* c = conn.find(id);
    if (!c) {
      nghttp2_session_consume(conn.ng_, id, len);
      return 0;
    }
    // Consumed when the client side takes it: the stream's window (64 KiB)
    // keeps it within the buffer, and an upstream that overruns it is cut.
    if (!c->store_body(reinterpret_cast<const char*>(data), len)) {
      nghttp2_session_consume(conn.ng_, id, len);
      c->fail_later(502, "the upstream overran its flow-control window");
      nghttp2_submit_rst_stream(conn.ng_, NGHTTP2_FLAG_NONE, id, NGHTTP2_FLOW_CONTROL_ERROR);
      conn.touch(c);
      return 0;
    }
    c->ev_data = true;
    conn.touch(c);
    return 0;
  }

  static int stream_close(nghttp2_session*, std::int32_t id, std::uint32_t code, void* p) {
    auto& conn = self(p);
    auto it = conn.active_.find(id);
    if (it == conn.active_.end()) return 0;
    auto c = it->second;
    conn.active_.erase(it);
    if (!c->response_done()) {
      // RFC 9113 section 8.7: a refused stream was not processed, so it is
      // sent again once (a new connection's burst can outrun the upstream's
      // SETTINGS_MAX_CONCURRENT_STREAMS). Not once body bytes are out: they
      // cannot be sent again.
      if (code == NGHTTP2_REFUSED_STREAM && !c->head_seen && c->body_sent == 0 && !c->retried &&
          !c->cancelled()) {
        c->retried = true;
        c->stream_id = -1;
        c->head_bytes = 0;
        c->response_head().clear();
        conn.retry_.push_back(c);
        return 0;
      }
      c->fail_later(502, code == NGHTTP2_REFUSED_STREAM ? "the upstream refused the stream"
                         : c->head_seen ? "the upstream reset the stream"
                                        : "the upstream reset the stream before answering");
    }
    conn.dirty_.push_back(c);
    return 0;
  }
};

void h2_connection::start_session() {
  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_header_callback(cbs, h2_client_callbacks::header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, h2_client_callbacks::frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, h2_client_callbacks::data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, h2_client_callbacks::stream_close);
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  nghttp2_option_set_no_auto_window_update(opt, 1);  // consumed as the client takes it
  int rv = nghttp2_session_client_new2(&ng_, cbs, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  if (rv != 0) {
    ng_ = nullptr;
    return die(502, "cannot start an HTTP/2 session");
  }
  const std::array<nghttp2_settings_entry, 2> settings{{
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<std::uint32_t>(upstream_call::max_buffered_body)},
  }};
  nghttp2_submit_settings(ng_, NGHTTP2_FLAG_NONE, settings.data(), settings.size());
  nghttp2_session_set_local_window_size(ng_, NGHTTP2_FLAG_NONE, 0, 16 * 1024 * 1024);
  read_buf_ = std::make_unique_for_overwrite<std::uint8_t[]>(read_size);  // untouched pages cost no RSS
  auto waiting = std::move(waiting_);
  waiting_.clear();
  for (auto& c : waiting)
    if (!c->cancelled()) submit(c);
  flush();
  read();
}

void h2_connection::submit(const std::shared_ptr<h2_call>& c) {
  const auto& req = c->req_;
  std::vector<nghttp2_nv> nv;
  std::string lowered;
  // Names lowered into one buffer, sized first so views into it stay valid.
  std::size_t total = 0;
  for (const auto& e : req.fields.entries()) total += e.name_size;
  lowered.reserve(total);
  nv.reserve(req.fields.entries().size() + 5);
  nv.push_back(make_nv(":method", req.method));
  nv.push_back(make_nv(":scheme", up_.https ? "https" : "http"));
  nv.push_back(make_nv(":authority", req.authority));
  nv.push_back(make_nv(":path", req.path));
  for (const auto& e : req.fields.entries()) {
    auto name = req.fields.name(e);
    auto value = req.fields.value(e);
    if (is_connection_specific(name, value) || iequals(name, "te") || iequals(name, "host")) continue;
    std::size_t at = lowered.size();
    for (char ch : name) lowered.push_back(util::ascii_lower(ch));
    nv.push_back(make_nv(std::string_view(lowered).substr(at, name.size()), value));
  }
  if (req.trailers) nv.push_back(make_nv("te", "trailers"));
  nghttp2_data_provider prd{};
  prd.source.ptr = c.get();
  prd.read_callback = read_body;
  auto id = nghttp2_submit_request(ng_, nullptr, nv.data(), nv.size(), req.has_body ? &prd : nullptr, nullptr);
  if (id < 0) {
    c->fail_later(502, "the upstream connection cannot take another request");
    return later(c);
  }
  c->stream_id = id;
  active_.emplace(id, c);
}

void h2_connection::read() {
  if (reading_ || dead_ || !conn_) return;
  reading_ = true;
  conn_->stream.async_read_some(asio::buffer(read_buf_.get(), read_size),
                                [self = shared_from_this()](error_code ec, std::size_t n) {
                                  self->reading_ = false;
                                  if (!self->ng_ || !self->conn_) return;
                                  if (ec) {
                                    if (!self->going_away_) spdlog::warn("upstream '{}': HTTP/2 connection: {}",
                                                                   self->up_.name, ec.message());
                                    return self->die(502, "the upstream connection failed");
                                  }
                                  auto rv = nghttp2_session_mem_recv(self->ng_, self->read_buf_.get(), n);
                                  if (rv < 0) {
                                    spdlog::warn("upstream '{}': HTTP/2: {}", self->up_.name,
                                                 nghttp2_strerror(static_cast<int>(rv)));
                                    return self->die(502, "the upstream broke the HTTP/2 protocol");
                                  }
                                  self->resubmit_refused();
                                  self->flush();
                                  self->deliver();
                                  if (!nghttp2_session_want_read(self->ng_) && !nghttp2_session_want_write(self->ng_))
                                    return self->die(502, "the upstream closed the connection");
                                  self->read();
                                });
}

void h2_connection::flush() {
  if (!ng_ || !conn_ || writing_ || flushing_) return;
  flushing_ = true;
  out_.clear();
  while (out_.size() < write_limit) {
    const std::uint8_t* data = nullptr;
    auto n = nghttp2_session_mem_send(ng_, &data);
    if (n < 0) {
      flushing_ = false;
      return die(502, "the upstream connection failed");
    }
    if (n == 0) break;
    out_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
  }
  flushing_ = false;
  if (!out_.empty()) {
    writing_ = true;
    asio::async_write(conn_->stream, asio::buffer(out_), [self = shared_from_this()](error_code ec, std::size_t) {
      self->writing_ = false;
      if (ec) return self->die(502, "the upstream connection failed");
      self->flush();
      self->deliver();
    });
  }
  deliver();
}

// ---------------------------------------------------------------------------

void h2_call::send_body(std::string_view data, bool end) {
  if (events_ == nullptr || req_end_) return;
  req_body_.append(data);
  if (end) req_end_ = true;
  if (auto c = conn_.lock()) c->resume(*this);
}

void h2_call::cancel() {
  if (events_ == nullptr) return;
  events_ = nullptr;
  if (done_) return;  // the stream is over already
  if (auto c = conn_.lock()) c->reset(*this);
}

void h2_call::expire_if_due(std::chrono::steady_clock::time_point now) {
  // Called while the client side walks its streams: the failure is reported
  // from a later handler, never from here.
  if (events_ == nullptr || head_seen || failed_ || now < deadline_) return;
  fail_later(504, "the upstream did not answer in time");
  if (auto c = conn_.lock()) {
    c->reset(*this);
    c->later(shared_from_this());
  }
}

void h2_call::on_body_taken(std::size_t n) {
  // Bytes the client side took open the upstream's window again.
  if (auto c = conn_.lock()) c->consume(*this, n);
}

void h2_call::deliver() {
  auto self = shared_from_this();
  if (events_ && ev_sent != 0) {
    auto n = ev_sent;
    ev_sent = 0;
    events_->on_request_body_sent(*this, n);
  }
  if (events_ && ev_head) {
    ev_head = false;
    events_->on_response_head(*this);
  }
  if (events_ && ev_data) {
    ev_data = false;
    if (!ev_end) events_->on_response_data(*this);
  }
  if (events_ && ev_end) {
    ev_end = false;
    events_->on_response_end(*this);
  }
  if (events_ && failed_) {
    auto* events = events_;
    events_ = nullptr;
    events->on_call_failed(*this, fail_status_, fail_why_);
  }
}

struct registry {
  std::map<std::string, std::shared_ptr<h2_connection>, std::less<>> by_key;
  ~registry() {
    for (auto& [key, c] : by_key) c->shut();
  }
};

std::string key_of(const config::upstream_config& up) {
  return up.url + '\n' + up.tls.ca_file + '\n' + up.tls.server_name + (up.tls.verify ? "1" : "0");
}

}  // namespace

std::shared_ptr<upstream_call> start_h2_call(loop_context& loop, const config::upstream_config& up,
                                             const outgoing_request& req, call_events& events) {
  if (!loop.h2_upstreams) loop.h2_upstreams = std::make_shared<registry>();
  auto& reg = *std::static_pointer_cast<registry>(loop.h2_upstreams);
  auto key = key_of(up);
  auto& conn = reg.by_key[key];
  if (!conn || !conn->usable()) conn = std::make_shared<h2_connection>(loop, up);
  auto call = std::make_shared<h2_call>(loop, conn, req, events, coarse_now() + up.timeout);
  conn->add(call);
  return call;
}

}  // namespace jwtgate::proxy
