// An HTTP/1 request relayed through an upstream_call: to an upstream with
// protocol: h2. The HTTP/1.1 pool path in client_session.cpp stays the fast
// one for HTTP/1 upstreams; this one translates heads and moves each body as
// the other side takes it.

#include <algorithm>
#include <cstring>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <spdlog/spdlog.h>

#include "client_session.h"
#include "forwarded_fields.h"
#include "jwtgate/proxy/h2_heads.h"
#include "jwtgate/proxy/header_rewrite.h"
#include "jwtgate/routing/cors.h"

namespace jwtgate::proxy {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {
constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr unsigned status_client_closed = 499;
}  // namespace

void client_session::forward_via_call() {
  if (!forwardable(decision_)) {
    spdlog::error("request {}: refusing to forward a target or identity header with control characters",
                  request_id_);
    return reply_error(400, "the request cannot be forwarded safely", true);
  }
  const auto& in = parser_->get();
  const auto& up = *decision_.route->upstream;
  std::string connection_joined;
  auto connection = in.joined(static_cast<int>(http::field::connection), connection_joined);
  outgoing_request out;
  out.method = in.method_string();
  out.path = decision_.target;
  out.authority = host_.empty() ? upstream_host_value(up.host, up.port, up.https) : std::string(host_);
  std::string forwarded_for;
  for_each_forwarded_field(*snap_, decision_, in, connection, forward_origin{client_ip_, https_, host_, request_id_},
                           forwarded_for, [&](std::string_view name, std::string_view value) {
                             out.fields.add(0, name, value);  // sent by name only
                           });
  out.trailers = list_has_token(in[http::field::te], "trailers");
  out.has_body = request_has_body_;
  if (auto cl = parser_->content_length(); cl && !parser_->chunked()) out.content_length = *cl;
  upstream_sent_ = std::chrono::steady_clock::now();
  call_body_unsent_ = 0;
  call_reading_body_ = false;
  call_response_writing_ = false;
  call_head_pending_ = false;
  call_last_written_ = false;
  call_keepalive_ = shared_from_this();
  call_ = start_upstream_call(loop_, up, out, *this);
  stream_.expires_never();  // the call has the upstream's deadline
  if (!request_has_body_) return;
  if (expect_continue_) {
    expect_continue_ = false;
    wait_on_client(loop_.snap->source.server.idle_timeout);
    asio::async_write(stream_, asio::buffer(continue_line.data(), continue_line.size()),
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        if (ec) return self->close_now();
                        self->read_call_body();
                      });
    return;
  }
  read_call_body();
}

void client_session::read_call_body() {
  if (closed_ || !call_ || call_reading_body_) return;
  if (!body_buf_) body_buf_ = loop_.take_relay_buffer();
  parser_->body_buffer(body_buf_.get(), loop_context::relay_buffer_size);
  call_reading_body_ = true;
  wait_on_client(loop_.snap->source.server.idle_timeout);
  http::async_read_some(stream_, buffer_, *parser_, [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
    self->call_reading_body_ = false;
    if (self->closed_ || !self->call_) return;
    if (ec == http::error::need_buffer) ec = {};
    if (ec) {
      self->status_ = ec == http::error::body_limit ? 413 : status_client_closed;
      if (ec == http::error::body_limit && !self->response_started_) {
        self->call_->cancel();
        self->call_.reset();
        asio::post(self->loop_.ioc, [keep = std::move(self->call_keepalive_)] {});
        return self->reply_error(413, "the request body is larger than the gateway accepts", true);
      }
      self->log_request();
      return self->close_now();
    }
    std::size_t n = loop_context::relay_buffer_size - self->parser_->body_room();
    bool done = self->parser_->is_done();
    self->call_body_unsent_ += n;
    self->call_->send_body(std::string_view(self->body_buf_.get(), n), done);
    if (done) self->request_body_sent_ = true;
    // The next read waits until the upstream took these bytes (on_request_body_sent).
    if (!done && self->call_body_unsent_ == 0) self->read_call_body();
    if (!self->call_response_writing_) self->stream_.expires_never();
  });
}

void client_session::on_request_body_sent(upstream_call&, std::size_t n) {
  call_body_unsent_ = n >= call_body_unsent_ ? 0 : call_body_unsent_ - n;
  if (call_body_unsent_ == 0 && parser_ && !parser_->is_done()) read_call_body();
}

void client_session::on_response_head(upstream_call& c) {
  const auto& res = c.response();
  const auto& req = parser_->get();
  auto& out = res_head_;
  out.clear();
  auto reason = http::int_to_status(res.status) != http::status::unknown
                    ? std::string_view(http::obsolete_reason(http::int_to_status(res.status)))
                    : std::string_view();
  append_status_line(out, req.version, res.status, reason);
  const bool cors_route = decision_.route && decision_.route->cors;
  bool has_length = false;
  for (const auto& e : res.entries()) {
    auto name = res.name(e);
    if (must_drop_for_http2_response(name, {})) continue;
    if (cors_route && routing::is_cors_response_field(name)) continue;
    if (e.id == static_cast<int>(http::field::content_length)) has_length = true;
    append_field(out, name, res.value(e));
  }
  if (decision_.cors) {
    routing::cors_fields fields;
    std::size_t n = decision_.cors->response_fields(decision_.origin, fields);
    for (std::size_t i = 0; i < n; ++i) append_field(out, fields[i].name, fields[i].value);
  }
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

void client_session::on_response_data(upstream_call&) { pump_call_response(); }

void client_session::on_response_end(upstream_call&) {
  loop_.metrics.observe_upstream_latency(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - upstream_sent_).count());
  pump_call_response();
}

// One write at a time: the head (first), the body bytes the call holds, and
// the last chunk once the upstream's response is complete.
void client_session::pump_call_response() {
  if (closed_ || !call_ || call_response_writing_ || call_last_written_) return;
  auto& c = *call_;
  // The bytes are copied out and taken at once: the call's buffer may grow
  // (and move) while the write is under way.
  std::size_t n = 0;
  if (res_done_) {
    c.take_body(c.body().size());  // HEAD, 204, 304: nothing is relayed
  } else if (!c.body().empty()) {
    if (!body_buf_) body_buf_ = loop_.take_relay_buffer();
    n = std::min(c.body().size(), loop_context::relay_buffer_size);
    std::memcpy(body_buf_.get(), c.body().data(), n);
    c.take_body(n);
  }
  std::string_view body(body_buf_ ? body_buf_.get() : nullptr, n);
  bool last = res_done_ || (c.response_done() && c.body().empty());
  res_out_.clear();
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
  if (res_out_.count == 0) {
    if (last) end_call(client_keep_alive_);
    return;
  }
  call_head_pending_ = false;
  call_response_writing_ = true;
  call_writing_ = body.size();
  call_last_written_ = last;
  wait_on_client(loop_.snap->source.server.idle_timeout);
  asio::async_write(stream_, res_out_.buffers(), [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
    self->call_response_writing_ = false;
    if (self->closed_ || !self->call_) return;
    if (ec) {
      self->status_ = status_client_closed;
      self->log_request();
      return self->close_now();
    }
    self->bytes_sent_ += self->call_writing_;
    self->call_writing_ = 0;
    if (self->call_last_written_) return self->end_call(self->client_keep_alive_ && !self->res_close_delimited_);
    self->stream_.expires_never();
    self->pump_call_response();
  });
}

void client_session::end_call(bool keep_alive) {
  auto keep = std::move(call_keepalive_);
  log_request();
  call_->cancel();  // no more events for this session
  call_.reset();
  loop_.give_relay_buffer(std::move(body_buf_));
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
    return close_now();  // only a close tells an HTTP/1 client the response is cut
  }
  reply_error(status, why, request_has_body_ && !parser_->is_done());
}

}  // namespace jwtgate::proxy
