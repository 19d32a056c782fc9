// Relaying an HTTP/1 request to its upstream through an upstream_call,
// whatever protocol the upstream speaks: the rewritten head is handed over,
// the request body moves as the call takes it, the response is framed for
// this client as the call receives it, and a 101 to a WebSocket handshake
// turns the connection into a tunnel (client_session.cpp).

#include <algorithm>
#include <cstring>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <spdlog/spdlog.h>

#include "client_session.h"
#include "exchange.h"
#include "forwarded_fields.h"
#include "jwtgate/proxy/h2_heads.h"
#include "jwtgate/proxy/header_rewrite.h"
#include "jwtgate/routing/cors.h"

namespace jwtgate::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";
// Up to this many body bytes sent together with the head are copied after it.
constexpr std::size_t small_body_bytes = 4096;
// The largest TLS record's payload: smaller gather writes go out as one record.
constexpr std::size_t tls_record_bytes = 16 * 1024;

}  // namespace

void client_session::forward() {
  const auto* route = decision_.route;
  if (!route || !route->upstream) return reply_error(404, "no route serves this request", false);
  const auto& in = parser_->get();
  websocket_ = parser_->upgrade() && list_has_token(in[http::field::upgrade], "websocket");
  if (websocket_) {
    // RFC 6455 section 4.1: without one key and version 13 this is no WebSocket
    // handshake, and the upstream's 101 could not be checked against the key.
    auto key = in[http::field::sec_websocket_key];
    if (in.count(http::field::sec_websocket_key) != 1 || key.empty() ||
        in.count(http::field::sec_websocket_version) != 1 || in[http::field::sec_websocket_version] != "13")
      return reply_error(400, "a WebSocket upgrade needs one Sec-WebSocket-Key and Sec-WebSocket-Version: 13",
                         true);
    // The upstream may answer 101 before a body has gone out, and the
    // tunnel would then start with part of it unread.
    if (request_has_body_) return reply_error(400, "a WebSocket handshake has no body", true);
    if (route->upstream->protocol == config::upstream_config::wire::h2)
      return reply_error(502, "WebSocket needs an HTTP/1.1 upstream", true);
  }
  if (!forwardable(decision_)) {
    spdlog::error("request {}: refusing to forward a target or identity header with control characters",
                  request_id_);
    return reply_error(400, "the request cannot be forwarded safely", true);
  }
  const auto& up = *route->upstream;
  build_outgoing_request(up);
  upstream_sent_ = std::chrono::steady_clock::now();
  call_body_unsent_ = 0;
  call_reading_body_ = false;
  call_response_writing_ = false;
  call_head_pending_ = false;
  call_last_written_ = false;
  call_keepalive_ = shared_from_this();
  call_ = start_upstream_call(loop_, up, out_req_, *this);
  stream_.expires_never();  // the call has the upstream's deadline
  if (!request_has_body_) {
    expect_continue_ = false;  // nothing to continue with
    return;
  }
  // Expect: 100-continue is answered once the upstream is there to take the
  // body (on_ready_for_body), so a refused request never uploads it.
  if (expect_continue_) {
    if (call_->ready_for_body()) send_continue();
    return;
  }
  read_call_body();
}

// The request as the upstream gets it, in storage kept between requests.
// The routed host is sent (an absolute-form target's authority replaces the
// client's Host; see handle_request); an HTTP/1.0 client may send no Host at
// all, and the upstream then gets its own name. The client's framing is
// re-made: a chunked body is decoded and chunked again (its trailers
// dropped), a Content-Length body keeps its field.
void client_session::build_outgoing_request(const config::upstream_config& up) {
  const auto& in = parser_->get();
  auto& out = out_req_;
  std::string connection_joined;
  auto connection = in.joined(static_cast<int>(http::field::connection), connection_joined);
  out.method.assign(in.method_string());
  out.path.assign(decision_.target);
  if (host_.empty()) out.authority = upstream_host_value(up.host, up.port, up.https);
  else out.authority.assign(host_);
  out.fields.clear();
  for_each_forwarded_field(*snap_, decision_, in, connection, forward_origin{client_ip_, https_, host_, request_id_},
                           forwarded_for_, [&](std::string_view name, std::string_view value) {
                             out.fields.add(0, name, value);  // sent by name only
                           });
  out.upgrade = websocket_;
  if (websocket_) {
    out.fields.add(0, "Connection", "Upgrade");
    out.fields.add(0, "Upgrade", in[http::field::upgrade]);
  }
  out.trailers = list_has_token(in[http::field::te], "trailers");
  out.has_body = request_has_body_;
  out.content_length.reset();
  if (auto cl = parser_->content_length(); cl && !parser_->chunked()) out.content_length = *cl;
}

void client_session::on_ready_for_body(upstream_call&) {
  if (expect_continue_ && call_ && request_has_body_ && !parser_->is_done()) send_continue();
}

void client_session::send_continue() {
  expect_continue_ = false;
  wait_on_client(loop_.snap->source.server.idle_timeout);
  asio::async_write(stream_, asio::buffer(continue_line.data(), continue_line.size()),
                    [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                      if (ec) return self->close_now();
                      self->read_call_body();
                    });
}

void client_session::read_call_body() {
  if (closed_ || !call_ || call_reading_body_ || !parser_ || parser_->is_done()) return;
  if (!body_buf_) body_buf_ = loop_.take_relay_buffer();
  parser_->body_buffer(body_buf_.get(), loop_context::relay_buffer_size);
  call_reading_body_ = true;
  wait_on_client(loop_.snap->source.server.idle_timeout);
  http::async_read_some(stream_, buffer_, *parser_, [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
    self->on_call_body(ec);
  });
}

void client_session::on_call_body(boost::system::error_code ec) {
  call_reading_body_ = false;
  if (close_after_read_) {
    close_after_read_ = false;
    return close_gracefully();
  }
  if (closed_ || !call_) return;
  if (ec == http::error::need_buffer) ec = {};
  if (ec) {
    bool too_large = ec == http::error::body_limit;
    bool malformed = is_http_error(ec) && ec != http::error::end_of_stream && ec != http::error::partial_message;
    if ((too_large || malformed) && !response_started_) {
      // The upstream has seen the head and part of the body: its connection goes.
      release_call();
      if (too_large) return reply_error(413, "the request body is larger than the gateway accepts", true);
      return reply_error(400, "malformed request body: " + ec.message(), true);
    }
    status_ = too_large ? 413 : status_client_closed;
    log_request();
    return close_now();
  }
  std::size_t n = loop_context::relay_buffer_size - parser_->body_room();
  bool done = parser_->is_done();
  call_body_unsent_ += n;
  call_->send_body(std::string_view(body_buf_.get(), n), done);
  // The next read waits until the upstream took these bytes (on_request_body_sent).
  if (!done && call_body_unsent_ == 0) read_call_body();
  if (!call_response_writing_ && !call_reading_body_) stream_.expires_never();
}

void client_session::on_request_body_sent(upstream_call&, std::size_t n) {
  call_body_unsent_ = n >= call_body_unsent_ ? 0 : call_body_unsent_ - n;
  if (call_body_unsent_ == 0 && parser_ && !parser_->is_done()) read_call_body();
}

void client_session::on_response_head(upstream_call& c) {
  const auto& res = c.response();
  if (res.status == 101) return on_upgraded(c);
  loop_.metrics.observe_upstream_latency(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - upstream_sent_).count());
  // Answered before the whole body came (a 413 or 401 of the upstream's
  // own): the rest of the body is never relayed, so this connection cannot
  // carry another request.
  if (request_has_body_ && !parser_->is_done()) client_keep_alive_ = false;
  const auto& req = parser_->get();
  auto& out = res_head_;
  out.clear();
  auto reason = res.reason();
  if (reason.empty() && http::int_to_status(res.status) != http::status::unknown)
    reason = http::obsolete_reason(http::int_to_status(res.status));
  append_status_line(out, req.version, res.status, reason);
  bool has_length = append_relayed_fields(out, res);
  bool no_body = method() == http::verb::head || res.status == 204 || res.status == 304;
  bool known = no_body || has_length || c.response_done();
  if (!no_body && !has_length && c.response_done())
    append_field(out, "Content-Length", std::to_string(c.body().size()));
  end_response_head(out, req.version, !known);
  status_ = res.status;
  response_started_ = true;
  res_done_ = no_body;
  call_head_pending_ = true;
  pump_call_response();
}

// The upstream's fields minus hop-by-hop ones and those its Connection
// names; on a route with `cors` the gateway's CORS fields replace the
// upstream's. True when a Content-Length was among them.
bool client_session::append_relayed_fields(std::string& out, const flat_head& res) {
  std::string connection_joined;
  auto connection = res.joined(static_cast<int>(http::field::connection), connection_joined);
  const bool cors_route = decision_.route && decision_.route->cors;
  bool has_length = false;
  for (const auto& e : res.entries()) {
    auto name = res.name(e);
    if (must_drop_for_http2_response(name, connection)) continue;
    if (cors_route && routing::is_cors_response_field(name)) continue;
    if (e.id == static_cast<int>(http::field::content_length)) has_length = true;
    append_field(out, name, res.value(e));
  }
  if (decision_.cors) {
    routing::cors_fields fields;
    std::size_t n = decision_.cors->response_fields(decision_.origin, fields);
    for (std::size_t i = 0; i < n; ++i) append_field(out, fields[i].name, fields[i].value);
  }
  return has_length;
}

// Framing and persistence of a relayed response head, then its end. A body
// of unknown length is chunked for HTTP/1.1 clients and delimited by the
// close for HTTP/1.0 ones. HTTP/1.1 is persistent unless it says close,
// HTTP/1.0 only if it says keep-alive.
void client_session::end_response_head(std::string& out, unsigned version, bool unknown_length) {
  bool keep = client_keep_alive_ && !loop_.shared.draining.load(std::memory_order_relaxed);
  res_chunked_ = unknown_length && version >= 11;
  res_close_delimited_ = unknown_length && version < 11;
  if (res_close_delimited_) keep = false;
  if (version >= 11) {
    if (!keep) append_field(out, "Connection", "close");
  } else if (keep) {
    append_field(out, "Connection", "keep-alive");
  }
  if (res_chunked_) append_field(out, "Transfer-Encoding", "chunked");
  out.append(crlf);
  client_keep_alive_ = keep;
}

void client_session::on_response_data(upstream_call&) { pump_call_response(); }

void client_session::on_response_end(upstream_call&) { pump_call_response(); }

// One write at a time: the head (first), the body bytes the call holds, and
// the last chunk once the upstream's response is complete. The bytes are
// copied out and taken at once: the call's buffer may move while the write
// is under way. A small body that came with the head rides in the head's
// buffer, one contiguous write, which the kernel copies more cheaply than
// several pieces.
void client_session::pump_call_response() {
  if (closed_ || !call_ || call_response_writing_ || call_last_written_) return;
  auto& c = *call_;
  std::string_view body;
  bool in_head = false;
  if (res_done_) {
    c.take_body(c.body().size());  // HEAD, 204, 304: nothing is relayed
  } else if (!c.body().empty()) {
    auto held = c.body();
    if (call_head_pending_ && held.size() <= small_body_bytes) {
      in_head = true;
      body = held;
    } else {
      // Not body_buf_: the request body may still be read into that one
      // while this write is under way (an early answer, full duplex).
      if (!response_buf_) response_buf_ = loop_.take_relay_buffer();
      std::size_t n = std::min(held.size(), loop_context::relay_buffer_size);
      std::memcpy(response_buf_.get(), held.data(), n);
      body = std::string_view(response_buf_.get(), n);
    }
  }
  bool last = res_done_ || (c.response_done() && c.body().size() == body.size());
  res_out_.clear();
  if (in_head) {
    if (res_chunked_) {
      res_head_.append(chunk_size_line(body.size(), res_chunk_line_));
      res_head_.append(body);
      res_head_.append(crlf);
      if (last) res_head_.append(last_chunk);
    } else {
      res_head_.append(body);
    }
    res_out_.add(res_head_);
  } else {
    if (call_head_pending_) res_out_.add(res_head_);
    if (res_chunked_) {
      if (!body.empty()) {
        res_out_.add(chunk_size_line(body.size(), res_chunk_line_));
        res_out_.add(body);
        res_out_.add(crlf);
      }
      if (last) res_out_.add(last_chunk);
    } else {
      res_out_.add(body);
    }
  }
  std::size_t n = body.size();
  if (n != 0) c.take_body(n);  // after the copy into res_head_ or body_buf_
  if (res_out_.count == 0) {
    if (last) end_call(client_keep_alive_);
    return;
  }
  call_head_pending_ = false;
  call_response_writing_ = true;
  call_writing_ = n;
  call_last_written_ = last;
  wait_on_client(loop_.snap->source.server.idle_timeout);
  write_gather(stream_, res_out_, [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
    self->on_call_response_written(ec);
  });
}

void client_session::on_call_response_written(boost::system::error_code ec) {
  call_response_writing_ = false;
  if (closed_ || !call_) return;
  if (ec) {
    status_ = status_client_closed;
    log_request();
    return close_now();
  }
  bytes_sent_ += call_writing_;
  call_writing_ = 0;
  if (call_last_written_) return end_call(client_keep_alive_ && !res_close_delimited_);
  if (!call_reading_body_) stream_.expires_never();
  pump_call_response();
}

template <class Handler>
void client_session::write_gather(connection_stream& to, gather& g, Handler&& done) {
  if (!to.tls()) {
    // Offer the bytes to the socket first, as nginx does: a head with a small
    // body nearly always fits in its send buffer, and a write finished here
    // needs no trip through the event queue. Only the rest waits.
    boost::system::error_code ec;
    std::size_t n = to.socket().write_some(g.buffers(), ec);
    if (ec != asio::error::would_block && ec != asio::error::try_again) {
      if (ec || n == g.total()) return done(ec, n);
    }
    g.consume(n);
  } else if (g.count > 1 && g.total() <= tls_record_bytes) {
    g.coalesce();  // one TLS record instead of one per piece
  }
  asio::async_write(to, g.buffers(), std::forward<Handler>(done));
}

// The call has nothing more to say to this session; a complete exchange
// lets its upstream connection go back to the pool.
void client_session::release_call() {
  if (!call_) return;
  call_->cancel();
  call_.reset();
  // Released from the queue: it may be the last reference to this session.
  asio::post(loop_.ioc, [keep = std::move(call_keepalive_)] {});
}

void client_session::drop_self_references() noexcept {
  // Moved out first: the last of them may destroy this session.
  auto store_wait = std::move(awaiting_store_);
  auto call = std::move(call_);
  auto keep = std::move(call_keepalive_);
  if (call) call->cancel();
}

void client_session::end_call(bool keep_alive) {
  auto keep = std::move(call_keepalive_);
  log_request();
  call_->cancel();
  call_.reset();
  loop_.give_relay_buffer(std::move(response_buf_));
  // A read of the request body may still be filling body_buf_ (the upstream
  // answered early): the buffer stays with the session until it is done.
  if (!call_reading_body_) loop_.give_relay_buffer(std::move(body_buf_));
  // A body the client is still sending (the upstream answered early) would be
  // read as the next request.
  if (request_has_body_ && parser_ && !parser_->is_done()) keep_alive = false;
  if (keep_alive && !loop_.shared.draining.load(std::memory_order_relaxed)) return wait_for_request();
  close_gracefully();
}

void client_session::on_call_failed(upstream_call&, unsigned status, std::string_view why) {
  auto keep = std::move(call_keepalive_);
  call_.reset();
  if (response_started_) {
    log_request();
    // Part of the response is out: only a close tells the client. A reset
    // would also destroy earlier pipelined responses the client has not read
    // yet, so a plain connection whose framing (length or chunks) shows the
    // truncation gets a lingering close. A close-delimited body, or TLS, where
    // close_notify would mark the truncated body complete, is cut at once.
    if (!res_close_delimited_ && !stream_.tls()) return close_gracefully();
    return close_now();
  }
  reply_error(status, why, request_has_body_ && !parser_->is_done());
}

// ---------------------------------------------------------------------------
// WebSocket

// RFC 6455 section 4.1 (client side checks): the 101 must name websocket and
// carry the accept value derived from this request's key; anything else is not
// the protocol the client asked for.
bool client_session::valid_websocket_accept(const flat_head& res) const noexcept {
  constexpr int upgrade = static_cast<int>(http::field::upgrade);
  constexpr int accept = static_cast<int>(http::field::sec_websocket_accept);
  if (res.count(upgrade) != 1 || !list_has_token(res.first(upgrade), "websocket")) return false;
  if (res.count(accept) != 1) return false;
  auto expected = websocket_accept(parser_->get()[http::field::sec_websocket_key]);
  return res.first(accept) == std::string_view(expected.data(), expected.size());
}

void client_session::on_upgraded(upstream_call& c) {
  const auto& res = c.response();
  if (!valid_websocket_accept(res)) {
    spdlog::warn("request {}: upstream '{}' answered 101 without a valid WebSocket handshake", request_id_,
                 decision_.route->upstream->name);
    // Neither side may go on: the client expects a tunnel, the upstream may
    // already be speaking something else.
    release_call();
    return reply_error(502, "the upstream sent an invalid WebSocket handshake", true);
  }
  auto& out = res_head_;
  out.clear();
  append_status_line(out, 11, 101, "Switching Protocols");
  append_relayed_fields(out, res);
  append_field(out, "Connection", "Upgrade");
  append_field(out, "Upgrade", res.first(static_cast<int>(http::field::upgrade)));
  out.append(crlf);
  upstream_ = c.take_upgraded_connection();
  release_call();
  start_tunnel();
}

}  // namespace jwtgate::proxy
