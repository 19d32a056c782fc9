#include "client_session.h"

#include <array>
#include <ctime>
#include <span>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include "fields_view.h"
#include "exchange.h"
#include "h2_session.h"
#include "jwtgate/auth/logout_token.h"
#include "jwtgate/proxy/framing.h"
#include "jwtgate/proxy/header_rewrite.h"
#include "jwtgate/revocation/service.h"
#include "jwtgate/routing/cors.h"
#include "jwtgate/routing/path.h"

namespace jwtgate::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t relay_buffer_size = loop_context::relay_buffer_size;
constexpr std::size_t max_linger_bytes = 1024 * 1024;
constexpr auto linger_time = std::chrono::seconds(2);

}  // namespace

client_session::client_session(loop_context& loop, connection_stream stream, bool https, std::string client_ip)
    : loop_(loop), stream_(std::move(stream)), https_(https), client_ip_(std::move(client_ip)) {
  // Room for a typical request head in one read (the buffer would start at 512 bytes).
  loop_.take_read_buffer(buffer_);
  loop_.sessions.insert(this);
  loop_.metrics.connection_opened();
  loop_.shared.open_connections.fetch_add(1, std::memory_order_relaxed);
}

client_session::~client_session() {
  loop_.give_read_buffer(buffer_);
  loop_.give_relay_buffer(std::move(body_buf_));
  loop_.give_relay_buffer(std::move(body_buf2_));
  loop_.give_relay_buffer(std::move(response_buf_));
  loop_.sessions.erase(this);
  loop_.metrics.connection_closed();
  loop_.shared.open_connections.fetch_sub(1, std::memory_order_relaxed);
}

void client_session::start() {
  const auto& server = loop_.snap->source.server;
  wait_on_client(server.header_timeout);
  if (auto* tls = stream_.tls()) {
    // The handshake counts against header_timeout, like the head itself.
    tls->async_handshake(asio::ssl::stream_base::server,
                         [self = shared_from_this()](error_code ec) {
                           if (ec) return self->close_now();
                           if (self->alpn_chose_h2()) return self->hand_over_to_h2();
                           self->read_head();
                         });
    return;
  }
  if (loop_.shared.http2) return sniff_preface();
  read_head();
}

bool client_session::alpn_chose_h2() noexcept {
  const unsigned char* proto = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(stream_.tls()->native_handle(), &proto, &len);
  return len == 2 && proto[0] == 'h' && proto[1] == '2';
}

// h2c with prior knowledge (RFC 9113 section 3.3): the first bytes tell.
void client_session::sniff_preface() {
  stream_.async_read_some(buffer_.prepare(loop_context::read_buffer_size - buffer_.size()),
                          [self = shared_from_this()](error_code ec, std::size_t n) {
                            if (ec) return self->close_now();
                            self->buffer_.commit(n);
                            auto data = self->buffer_.data();
                            std::string_view seen(static_cast<const char*>(data.data()), data.size());
                            bool complete = false;
                            if (!starts_like_h2_preface(seen, complete)) return self->read_head();
                            if (complete) return self->hand_over_to_h2();
                            self->sniff_preface();
                          });
}

void client_session::hand_over_to_h2() {
  auto data = buffer_.data();
  std::string already(static_cast<const char*>(data.data()), data.size());
  buffer_.consume(buffer_.size());
  closed_ = true;  // this session ends here; the connection lives on
  stream_.expires_never();
  start_h2_session(loop_, std::move(stream_), https_, std::move(client_ip_), already);
}

void client_session::close_if_idle() {
  if (idle_) close_now();
}

void client_session::wait_on_client(std::chrono::milliseconds limit) {
  stream_.expires_after(limit);
  if (upstream_) upstream_->stream.expires_never();
}

void client_session::expire_if_due(std::chrono::steady_clock::time_point now) {
  if (closed_) return;
  // The failed operation's handler sees timed_out() and answers 504 or closes.
  if (upstream_) upstream_->stream.expire_if_due(now);
  if (call_) call_->expire_if_due(now);
  stream_.expire_if_due(now);
}

// ---------------------------------------------------------------------------
// Request heads

void client_session::wait_for_request() {
  if (closed_) return;
  if (buffer_.size() != 0) return read_head();  // pipelined request already here
  // An idle keep-alive connection holds no head buffer: thousands of them must
  // not pin the previous request's head or a full-size buffer. The first
  // bytes of the next request land in a small array inside the session. (A
  // read, not a readiness wait: Asio re-arms epoll with a system call for a
  // wait, while a read on a socket known to be empty just queues.)
  parser_.reset();
  loop_.give_read_buffer(buffer_);
  release_large_heads();
  park_heads();
  idle_ = true;
  wait_on_client(loop_.snap->source.server.idle_timeout);
  stream_.async_read_some(asio::buffer(idle_buf_), [self = shared_from_this()](error_code ec, std::size_t n) {
    self->idle_ = false;
    if (ec) return self->close_now();  // idle timeout or the client went away
    self->loop_.take_read_buffer(self->buffer_);
    self->unpark_heads();
    self->buffer_.commit(asio::buffer_copy(self->buffer_.prepare(n), asio::buffer(self->idle_buf_.data(), n)));
    self->read_head();
  });
}

// The head stores keep their capacity between requests (no allocation per
// request), but not beyond a typical head: a client or upstream that once sent
// a large one must not make every idle connection hold that much.
void client_session::release_large_heads() {
  constexpr std::size_t keep = 4096;
  auto release = [](std::string& s) {
    if (s.capacity() > keep) std::string().swap(s);
  };
  release(res_head_);
  release(res_out_.flat);
  req_in_.release_if_larger(keep);
  out_req_.fields.release_if_larger(keep);
}

void client_session::park_heads() {
  decision_ = auth::decision{};
  snap_.reset();  // an idle connection does not keep a replaced configuration alive
  if (loop_.spare_heads.size() < loop_context::max_spare_relay_buffers) {
    auto& h = loop_.spare_heads.emplace_back();
    std::swap(h.res_head, res_head_);
    std::swap(h.req_in, req_in_);
    std::swap(h.out_fields, out_req_.fields);
    return;
  }
  std::string().swap(res_head_);
  req_in_ = flat_head{};
  out_req_.fields = flat_head{};
}

void client_session::unpark_heads() {
  if (loop_.spare_heads.empty()) return;
  auto& h = loop_.spare_heads.back();
  std::swap(h.res_head, res_head_);
  std::swap(h.req_in, req_in_);
  std::swap(h.out_fields, out_req_.fields);
  loop_.spare_heads.pop_back();
}

void client_session::read_head() {
  if (closed_) return;
  const auto& server = loop_.snap->source.server;
  parser_.emplace(req_in_);
  parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(server.max_header_bytes, UINT32_MAX)));
  if (server.max_body_bytes != 0) parser_->body_limit(server.max_body_bytes);
  else parser_->body_limit(boost::none);
  if (buffer_.size() != 0) {
    // Usually the whole head came with the first read: parse it here. (Beast's
    // async read would post its completion through the queue when it needs
    // no I/O, one more trip per request.)
    error_code ec;
    buffer_.consume(parser_->put(buffer_.data(), ec));
    if (ec != http::error::need_more && (ec || parser_->is_header_done())) return on_head(ec);
  }
  // The whole head must arrive within header_timeout (slowloris).
  wait_on_client(server.header_timeout);
  http::async_read_header(stream_, buffer_, *parser_, [self = shared_from_this()](error_code ec, std::size_t) {
    self->on_head(ec);
  });
}

void client_session::begin_request_state() {
  started_ = std::chrono::steady_clock::now();
  snap_ = loop_.snap;
  request_id_.clear();
  host_ = {};
  log_path_.clear();
  decision_ = auth::decision{};
  auth_result_ = "none";
  status_ = 0;
  bytes_sent_ = 0;
  client_keep_alive_ = false;
  expect_continue_ = false;
  request_has_body_ = false;
  websocket_ = false;
  response_started_ = false;
}

void client_session::on_head(error_code ec) {
  begin_request_state();
  if (ec) {
    if (!is_http_error(ec) || ec == http::error::end_of_stream ||
        ec == http::error::partial_message)
      return close_now();  // timeout, reset, or the client closed mid-head: nobody to answer
    set_path_for_log();
    if (ec == http::error::header_limit)
      return reply_error(431, "the request head is larger than the gateway accepts", true);
    if (ec == http::error::body_limit)
      return reply_error(413, "the request body is larger than the gateway accepts", true);
    return reply_error(400, "malformed HTTP request: " + ec.message(), true);
  }
  handle_request();
}

void client_session::set_path_for_log() {
  if (!parser_) return;
  auto target = parser_->get().target();
  routing::normalized_target nt;
  if (!target.empty() && routing::normalize_target(target, nt) == routing::target_error::none) {
    log_path_ = std::move(nt.path);
  } else {
    auto raw = target.substr(0, target.find('?'));  // never the query: it may carry a token
    log_path_.assign(raw.data(), raw.size());
  }
}

void client_session::handle_request() {
  const auto& req = parser_->get();
  client_keep_alive_ = parser_->keep_alive();

  // Exactly one acceptable client id is kept; none, several or an unusable one
  // get a fresh id. The upstream always receives this one value (see
  // build_outgoing_request), so the log and the backend agree.
  if (req.count("X-Request-Id") == 1 && acceptable_request_id(req["X-Request-Id"])) {
    auto given_id = req["X-Request-Id"];
    request_id_.assign(given_id.data(), given_id.size());
  } else {
    loop_.ids.next(request_id_);
  }

  // Framing (request smuggling) before anything else reads the head.
  std::array<std::string_view, 2> cl{}, te{};
  std::size_t ncl = 0, nte = 0;
  for (const auto& e : req.entries()) {
    if (e.id == static_cast<int>(http::field::content_length)) { if (ncl < cl.size()) cl[ncl] = req.value(e); ++ncl; }
    else if (e.id == static_cast<int>(http::field::transfer_encoding)) { if (nte < te.size()) te[nte] = req.value(e); ++nte; }
  }
  auto framing = check_request_framing(std::span(cl.data(), std::min(ncl, cl.size())),
                                       std::span(te.data(), std::min(nte, te.size())),
                                       req.version < 11);
  if (framing == framing_error::none && (ncl > cl.size() || nte > te.size()))
    framing = ncl > 1 ? framing_error::repeated_content_length : framing_error::unsupported_transfer_encoding;
  if (framing != framing_error::none) return reply_error(400, describe(framing), true);

  auto hosts = req.count(http::field::host);
  if (hosts > 1) return reply_error(400, "the request has more than one Host header", true);
  if (hosts == 0 && req.version >= 11) return reply_error(400, "HTTP/1.1 requests need a Host header", true);

  request_has_body_ = parser_->chunked() || (parser_->content_length() && *parser_->content_length() > 0);

  // RFC 9112 section 3.2.2: with an absolute-form target the authority names
  // the host and the received Host is ignored. Routing, the forwarded Host and
  // X-Forwarded-Host all use it, so a route restricted by host cannot be
  // bypassed by naming another host in the target than in Host.
  std::string_view authority;
  auto form = classify_target_host(req.target(), authority);
  if (form == target_host::invalid)
    return reply_error(400, "the request-target must be a path or an http(s) URL with a plain host", true);

  if (loop_.shared.draining.load(std::memory_order_relaxed))
    return reply_error(503, "the gateway is shutting down", true);

  auto expect = req[http::field::expect];
  expect_continue_ = iequals(expect, "100-continue") && req.version >= 11;

  fields_view view(req);
  auth::request_head head;
  head.method = req.method_string();
  head.target = req.target();
  host_ = form == target_host::absolute ? authority : std::string_view(req[http::field::host]);
  head.host = host_;
  head.headers = &view;
  auto now = static_cast<std::int64_t>(std::time(nullptr));

  try {
    // decide() answers requests to forward_auth.path itself.
    auto started = std::chrono::steady_clock::now();
    decision_ = auth::decide(*snap_, head, loop_.auth, now);
    loop_.metrics.observe_auth_latency(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  } catch (const std::exception& ex) {  // boundary: a bug there must not take the loop down
    spdlog::error("request {}: the auth pipeline failed: {}", request_id_, ex.what());
    return reply_error(500, "the gateway failed to process the request", true);
  }

  auth_result_ = auth_result_of(decision_);
  count_auth_failure(loop_.metrics, decision_);

  if (decision_.what == auth::decision::action::backchannel_logout) return backchannel_logout();
  if (decision_.what == auth::decision::action::respond) return reply(decision_.response, false);
  forward();
}

// ---------------------------------------------------------------------------
// Back-channel logout: never proxied

void client_session::logout_reply(unsigned status, std::string_view error, std::string_view description) {
  auth::reply r;
  r.status = status;
  boost::json::object body;
  body["error"] = error;
  body["error_description"] = description;
  r.body = boost::json::serialize(body);
  // An unread body would be taken for the next request.
  reply(r, request_has_body_ && !parser_->is_done());
}

void client_session::backchannel_logout() {
  auth_result_ = "backchannel_logout";
  if (method() != http::verb::post)
    return logout_reply(400, "invalid_request", "a back-channel logout is a POST");
  auto type = parser_->get()[http::field::content_type];
  auto media = type.substr(0, type.find(';'));
  if (!iequals(util::trim_ows(media), "application/x-www-form-urlencoded"))
    return logout_reply(400, "invalid_request", "a back-channel logout is an application/x-www-form-urlencoded form");
  if (!request_has_body_) return logout_reply(400, "invalid_request", "the body has no logout_token");
  if (!body_buf_) body_buf_ = loop_.take_relay_buffer();
  parser_->body_buffer(body_buf_.get(), relay_buffer_size);
  read_logout_body();
}

void client_session::read_logout_body() {
  if (parser_->is_done()) return on_logout_body();
  wait_on_client(loop_.snap->source.server.header_timeout);
  http::async_read_some(stream_, buffer_, *parser_, [self = shared_from_this()](error_code ec, std::size_t) {
    if (ec == http::error::need_buffer)
      return self->logout_reply(400, "invalid_request", "the logout request body is too large");
    if (ec) {
      if (is_http_error(ec) && ec != http::error::end_of_stream && ec != http::error::partial_message)
        return self->logout_reply(400, "invalid_request", "malformed request body: " + ec.message());
      self->status_ = status_client_closed;
      self->log_request();
      return self->close_now();
    }
    self->read_logout_body();
  });
}

void client_session::on_logout_body() {
  std::string_view body(body_buf_.get(), relay_buffer_size - parser_->body_room());
  std::string token, why;
  if (!auth::logout_token_from_form(body, token, why)) return logout_reply(400, "invalid_request", why);
  auto* store = loop_.shared.revocations;
  if (store == nullptr || decision_.provider == nullptr)
    return logout_reply(400, "invalid_request", "revocation is not configured");
  auto now = static_cast<std::int64_t>(std::time(nullptr));
  auto ttl = std::chrono::duration_cast<std::chrono::seconds>(store->config().default_ttl).count();
  auth::logout_request logout;
  if (!auth::verify_logout_token(*decision_.provider, token, now, ttl, logout, why))
    return logout_reply(400, "invalid_request", why);
  decision_.subject = logout.entry.type == revocation::kind::sub ? logout.entry.value : std::string();

  // The store lives on the control loop; the answer comes back to this one.
  // The control side never owns the session (see awaiting_store_): its copies
  // of `answer` may be destroyed on the control thread or another loop's.
  wait_on_client(loop_.snap->source.server.idle_timeout);
  awaiting_store_ = shared_from_this();
  auto answer = [weak = weak_from_this(), &ioc = loop_.ioc](revocation::outcome o) {
    asio::post(ioc, [weak, o] {
      auto self = weak.lock();
      if (!self) return;  // released at shutdown (drop_self_references)
      auto keep = std::move(self->awaiting_store_);
      if (self->closed_) return;
      switch (o) {
        case revocation::outcome::ok: {
          auth::reply r;
          r.status = 200;
          r.body = "{}";
          return self->reply(r, false);
        }
        case revocation::outcome::replayed:
          return self->logout_reply(400, "invalid_request", "the logout token's jti was seen before (a replay)");
        case revocation::outcome::unavailable:
          return self->logout_reply(503, "temporarily_unavailable", "the revocation store is unavailable; retry");
        default:
          return self->logout_reply(500, "server_error", "the revocation store failed");
      }
    });
  };
  store_logout(loop_.shared, std::move(logout), answer);
}

// ---------------------------------------------------------------------------
// Replies made by the gateway

void client_session::reply_error(unsigned status, std::string_view description, bool close) {
  auth::reply r;
  r.status = status;
  r.body = auth::error_body(status, description);
  if (status >= 500 || status == 413 || status == 431)
    spdlog::warn("request {}: {} {}", request_id_.empty() ? "-" : request_id_, status, description);
  reply(r, close);
}

void client_session::reply(const auth::reply& r, bool close) {
  if (request_id_.empty()) loop_.ids.next(request_id_);
  bool head_request = parser_ && parser_->is_header_done() && method() == http::verb::head;
  close = close || !parser_ || !parser_->is_header_done() || !client_keep_alive_ ||
          loop_.shared.draining.load(std::memory_order_relaxed) || (request_has_body_ && !parser_->is_done());

  reply_.emplace();
  auto& res = *reply_;
  res.result(r.status);
  res.version(parser_ && parser_->is_header_done() ? parser_->get().version : 11);
  if (!r.www_authenticate.empty()) res.set(http::field::www_authenticate, r.www_authenticate);
  for (const auto& [name, value] : r.headers) res.insert(name, value);
  if (decision_.cors && !decision_.preflight) {
    // The gateway's own errors carry the route's CORS fields too, so that a
    // browser page can read them (SPEC section 10).
    routing::cors_fields fields;
    std::size_t n = decision_.cors->response_fields(decision_.origin, fields);
    for (std::size_t i = 0; i < n; ++i) res.insert(fields[i].name, fields[i].value);
  }
  if (!r.body.empty()) {
    res.set(http::field::content_type, "application/json");
    res.set(http::field::cache_control, "no-store");
  }
  res.set("X-Request-Id", request_id_);
  res.body() = r.body;
  res.keep_alive(!close);
  res.prepare_payload();
  if (head_request) res.body().clear();  // Content-Length stays: the size a GET would get
  status_ = r.status;
  bytes_sent_ = res.body().size();

  wait_on_client(loop_.snap->source.server.idle_timeout);
  http::async_write(stream_, res, [self = shared_from_this(), close](error_code ec, std::size_t) {
    self->on_reply_written(ec, close);
  });
}

void client_session::on_reply_written(error_code ec, bool close) {
  log_request();
  reply_.reset();
  if (ec) return close_now();
  if (close) return close_gracefully();
  wait_for_request();
}

// ---------------------------------------------------------------------------
// WebSocket tunnel

// The 101 head is in res_head_ (on_upgraded) and the upstream connection in upstream_.
void client_session::start_tunnel() {
  status_ = 101;
  response_started_ = true;
  res_out_.clear();
  res_out_.add(res_head_);
  wait_on_client(loop_.snap->source.server.idle_timeout);
  asio::async_write(stream_, res_out_.buffers(), [self = shared_from_this()](error_code ec, std::size_t) {
    self->log_request();
    if (ec) return self->close_now();
    self->stream_.expires_never();
    self->upstream_->stream.expires_never();
    if (!self->body_buf_) self->body_buf_ = self->loop_.take_relay_buffer();
    self->body_buf2_ = self->loop_.take_relay_buffer();
    self->tunnel_open_directions_ = 2;
    self->tunnel_activity_ = std::chrono::steady_clock::now();
    self->tunnel_timer_.emplace(self->loop_.ioc);
    self->check_tunnel_idle();
    self->pump(true);
    self->pump(false);
  });
}

void client_session::pump(bool client_to_upstream) {
  if (closed_) return;
  auto& from = client_to_upstream ? stream_ : upstream_->stream;
  auto& to = client_to_upstream ? upstream_->stream : stream_;
  auto& leftover = client_to_upstream ? buffer_ : upstream_->buffer;
  auto self = shared_from_this();
  if (leftover.size() != 0) {
    // Bytes read past the heads belong to the tunnel: send them first.
    asio::async_write(to, leftover.data(), [self, client_to_upstream](error_code ec, std::size_t n) {
      auto& lo = client_to_upstream ? self->buffer_ : self->upstream_->buffer;
      if (!ec) lo.consume(n);
      self->on_pumped(client_to_upstream, ec, 0);
    });
    return;
  }
  char* buf = client_to_upstream ? body_buf_.get() : body_buf2_.get();
  from.async_read_some(asio::buffer(buf, relay_buffer_size),
                       [self, client_to_upstream, buf](error_code ec, std::size_t n) {
                         if (self->closed_) return;
                         if (ec) return self->on_pumped(client_to_upstream, ec, 0);
                         self->tunnel_activity_ = std::chrono::steady_clock::now();
                         auto& dst = client_to_upstream ? self->upstream_->stream : self->stream_;
                         asio::async_write(dst, asio::buffer(buf, n),
                                           [self, client_to_upstream](error_code ec, std::size_t n) {
                                             self->on_pumped(client_to_upstream, ec, n);
                                           });
                       });
}

void client_session::on_pumped(bool client_to_upstream, error_code ec, std::size_t n) {
  if (closed_) return;
  if (!client_to_upstream) bytes_sent_ += n;
  if (!ec) return pump(client_to_upstream);
  if (ec == asio::error::eof && !stream_.tls() && !upstream_->stream.tls()) {
    // Half-close: pass the FIN on and keep the other direction running.
    auto& dst = client_to_upstream ? upstream_->stream : stream_;
    error_code ignored;
    dst.socket().shutdown(tcp::socket::shutdown_send, ignored);
    if (--tunnel_open_directions_ > 0) return;
  }
  close_now();
}

void client_session::check_tunnel_idle() {
  if (closed_) return;
  auto idle = loop_.snap->source.server.idle_timeout;
  tunnel_timer_->expires_at(tunnel_activity_ + idle);
  tunnel_timer_->async_wait([self = shared_from_this(), idle](error_code ec) {
    if (ec || self->closed_) return;
    if (std::chrono::steady_clock::now() - self->tunnel_activity_ >= idle) return self->close_now();
    self->check_tunnel_idle();
  });
}

// ---------------------------------------------------------------------------
// Ending

void client_session::log_request() {
  std::string_view route = decision_.route && decision_.route->cfg ? std::string_view(decision_.route->cfg->name) : "";
  loop_.metrics.count_request(route, status_);
  if (!loop_.shared.log || !loop_.shared.log->enabled()) return;
  if (log_path_.empty()) {
    // A forwarded request's target is already normalized: its path is the one to log.
    if (decision_.what == auth::decision::action::forward && !decision_.target.empty())
      log_path_.assign(std::string_view(decision_.target).substr(0, decision_.target.find('?')));
    else
      set_path_for_log();
  }
  access_entry e;
  e.time = std::chrono::system_clock::now();
  e.request_id = request_id_;
  e.client = client_ip_;
  if (parser_ && parser_->is_header_done()) e.method = parser_->get().method_string();
  e.path = log_path_;
  e.route = route;
  e.status = status_;
  e.auth = auth_result_;
  e.subject = decision_.subject;
  if (decision_.what == auth::decision::action::forward && decision_.route && decision_.route->upstream)
    e.upstream = decision_.route->upstream->name;
  e.duration_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_).count();
  e.bytes_sent = bytes_sent_;
  loop_.shared.log->write(e);
}

void client_session::close_gracefully() {
  if (closed_) return;
  if (call_reading_body_) {
    // A read of the request body is under way on this stream: the close
    // follows once it completes (on_call_body), within linger_time.
    close_after_read_ = true;
    wait_on_client(linger_time);
    return;
  }
  if (auto* tls = stream_.tls()) {
    // A TLS connection ends with close_notify (RFC 8446 6.1), so the client can
    // tell the end of a close-delimited response from a truncation. The
    // client's own close_notify is waited for only up to linger_time.
    wait_on_client(linger_time);
    tls->async_shutdown([self = shared_from_this()](error_code) { self->close_now(); });
    return;
  }
  // Lingering close: stop sending, then read and drop what the client still
  // sends for a moment, so a reset does not destroy the reply in flight.
  error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  wait_on_client(linger_time);
  linger(0);
}

void client_session::linger(std::size_t discarded) {
  buffer_.consume(buffer_.size());
  if (discarded > max_linger_bytes) return close_now();
  stream_.async_read_some(buffer_.prepare(16 * 1024), [self = shared_from_this(), discarded](error_code ec, std::size_t n) {
    if (ec) return self->close_now();
    self->buffer_.commit(n);
    self->linger(discarded + n);
  });
}

void client_session::close_now() {
  if (closed_) return;
  closed_ = true;
  idle_ = false;
  stream_.close();
  // Only closed: a pending operation may still refer to it until its handler runs.
  if (upstream_) upstream_->stream.close();
  if (tunnel_timer_) tunnel_timer_->cancel();
  release_call();
}

}  // namespace jwtgate::proxy
