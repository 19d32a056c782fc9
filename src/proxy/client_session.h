#pragma once
// One client connection (HTTP/1.0 and 1.1, keep-alive, pipelining answered in
// order). For each request: read the head under header_timeout, check framing,
// ask the auth pipeline for a decision, then either reply itself or relay the
// request to the upstream and stream the response back, bodies in both
// directions through a fixed 64 KiB buffer (never a whole body in memory).
// An authorized WebSocket upgrade answered 101 becomes a raw two-way tunnel.

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "connection_stream.h"
#include "head_parser.h"
#include "jwtgate/auth/decision.h"
#include "jwtgate/proxy/head_writer.h"
#include "loop.h"
#include "upstream_call.h"

namespace jwtgate::proxy {

class client_session final : public std::enable_shared_from_this<client_session>,
                             public loop_connection,
                             private call_events {
 public:
  client_session(loop_context& loop, connection_stream stream, bool https, std::string client_ip);
  ~client_session();

  void start();
  // Drain: a session waiting for its next request is closed.
  void close_if_idle() override;
  // Closes whichever of its connections passed its deadline (see connection_stream).
  void expire_if_due(std::chrono::steady_clock::time_point now) override;
  // At shutdown, on the loop's own thread (or after it was joined): lets go of
  // the reference a back-channel logout holds while the control loop answers.
  void drop_store_wait() noexcept override { awaiting_store_.reset(); }

 private:
  using error_code = boost::beast::error_code;

  // HTTP/2: ALPN on TLS, the client preface on plain connections.
  bool alpn_chose_h2() noexcept;
  void sniff_preface();
  void hand_over_to_h2();

  // Reading a request head.
  void wait_for_request();
  void release_large_heads();
  void park_heads();    // idle: head storage and per-request state go back to the loop
  void unpark_heads();  // the next request is here
  void read_head();
  void on_head(error_code ec);
  void handle_request();

  // Gateway-made replies.
  // Back-channel logout (SPEC 8): read the form, verify, store on the control loop.
  void backchannel_logout();
  void read_logout_body();
  void on_logout_body();
  void logout_reply(unsigned status, std::string_view error, std::string_view description);

  void reply_error(unsigned status, std::string_view description, bool close);
  void reply(const auth::reply& r, bool close);
  void on_reply_written(error_code ec, bool close);

  // Relaying to the upstream.
  void forward();
  bool build_upstream_request();
  void connect_upstream();
  void on_upstream_ready();
  void on_upstream_head_written(error_code ec);
  void read_request_body();
  void on_request_body(error_code ec);
  void on_request_body_written(error_code ec);
  void read_response_head();
  bool upstream_answered_early() noexcept;
  void watch_upstream_while_sending();
  void read_early_response();
  void on_response_head(error_code ec);
  void write_response_head();
  void append_relayed_fields(std::string& out);
  void end_response_head(std::string& out, unsigned version, bool unknown_length);
  void on_response_head_written(error_code ec);
  void read_response_body();
  void on_response_body(error_code ec);
  void on_response_body_written(error_code ec);
  bool may_retry() const noexcept;
  void retry_on_fresh_connection();
  void upstream_failed(unsigned status, std::string_view description, bool close_client = false);
  bool valid_websocket_accept() const noexcept;
  boost::beast::http::verb method() const noexcept { return static_cast<boost::beast::http::verb>(req_in_.method); }

  // Relaying through an upstream_call (an upstream with protocol: h2;
  // client_session_call.cpp): the body moves as the call takes it.
  void forward_via_call();
  void read_call_body();
  void pump_call_response();
  void end_call(bool keep_alive);
  void on_response_head(upstream_call& c) override;
  void on_response_data(upstream_call& c) override;
  void on_response_end(upstream_call& c) override;
  void on_call_failed(upstream_call& c, unsigned status, std::string_view why) override;
  void on_request_body_sent(upstream_call& c, std::size_t n) override;

  // WebSocket tunnel after a relayed 101.
  void start_tunnel();
  void pump(bool client_to_upstream);
  void on_pumped(bool client_to_upstream, error_code ec, std::size_t n);
  void check_tunnel_idle();

  // Deadlines: only the side being waited on has one (see connection_stream).
  void wait_on_client(std::chrono::milliseconds limit);
  void wait_on_upstream(std::chrono::milliseconds limit);

  void finish_request(bool keep_alive);
  void log_request();
  void close_gracefully();
  void linger(std::size_t discarded);
  void close_now();
  void set_path_for_log();
  void begin_request_state();

  loop_context& loop_;
  connection_stream stream_;
  bool https_;
  std::string client_ip_;
  boost::beast::flat_buffer buffer_;  // request heads; lent by the loop, none while idle
  std::array<char, 1024> idle_buf_;   // the first bytes after an idle wait
  std::unique_ptr<char[]> body_buf_;   // relay buffer, allocated on first body
  std::unique_ptr<char[]> body_buf2_;  // second direction (tunnel only)
  bool idle_ = false;                  // waiting for the next request
  bool first_request_ = true;
  bool closed_ = false;
  // While a back-channel logout waits for the revocation store on the control
  // loop, the session keeps itself alive here; the control side holds only a
  // weak reference. So the last reference is always dropped on this loop's
  // thread: ~client_session touches loop state (sessions, buffer pools,
  // metrics) that only this loop may touch.
  std::shared_ptr<client_session> awaiting_store_;

  // The current request.
  std::shared_ptr<const config::snapshot> snap_;
  flat_head req_in_;  // the request head; storage reused between requests
  std::optional<request_head_parser> parser_;
  std::chrono::steady_clock::time_point started_;
  std::string request_id_;
  std::string_view host_;  // the host this request was routed by (a view into req_in_)
  std::string log_path_;
  auth::decision decision_;
  std::string auth_result_;
  unsigned status_ = 0;
  std::uint64_t bytes_sent_ = 0;
  bool client_keep_alive_ = false;
  bool expect_continue_ = false;
  bool request_has_body_ = false;
  bool request_body_sent_ = false;
  bool websocket_ = false;
  bool response_started_ = false;
  bool retried_ = false;
  std::chrono::steady_clock::time_point upstream_sent_;

  std::unique_ptr<upstream_connection> upstream_;
  bool upstream_reused_ = false;
  bool early_response_ = false;  // the upstream answered before reading the whole request body
  bool sending_body_ = false;    // the request body is going to the upstream
  bool upstream_spoke_ = false;  // ... and the upstream sent something meanwhile
  flat_head res_in_;  // the upstream's response head; storage reused between requests
  std::optional<response_head_parser> up_res_;

  // Heads as sent, built into strings whose capacity is kept between requests;
  // each write is one gather list of head, chunk framing and body bytes.
  struct gather {
    std::array<boost::asio::const_buffer, 5> parts;
    std::size_t count = 0;
    void clear() noexcept { count = 0; }
    void add(const void* data, std::size_t size) noexcept {
      if (size != 0) parts[count++] = boost::asio::const_buffer(data, size);
    }
    void add(std::string_view s) noexcept { add(s.data(), s.size()); }
    std::span<const boost::asio::const_buffer> buffers() const noexcept { return {parts.data(), count}; }
    std::size_t total() const noexcept {
      std::size_t n = 0;
      for (std::size_t i = 0; i < count; ++i) n += parts[i].size();
      return n;
    }
    // Copies the pieces into one buffer (`flat`, capacity kept): a TLS stream
    // writes one record per buffer it is given.
    void coalesce() {
      flat.clear();
      for (std::size_t i = 0; i < count; ++i) flat.append(static_cast<const char*>(parts[i].data()), parts[i].size());
      parts[0] = boost::asio::const_buffer(flat.data(), flat.size());
      count = 1;
    }
    std::string flat;
    // Drops the first n bytes (a partial write).
    void consume(std::size_t n) noexcept {
      std::size_t first = 0;
      while (first < count && n >= parts[first].size()) n -= parts[first++].size();
      std::size_t k = 0;
      for (std::size_t i = first; i < count; ++i) parts[k++] = parts[i];
      count = k;
      if (count != 0) parts[0] += n;
    }
  };
  template <class Handler>
  void write_gather(connection_stream& to, gather& g, Handler&& done);
  void add_body(gather& out, std::size_t n, bool done);  // n bytes of body_buf_, framed for the client
  std::string up_head_;
  gather up_out_;
  chunk_line_storage up_chunk_line_{};
  bool up_chunked_ = false;        // the request body goes upstream chunked
  bool up_request_done_ = false;   // the whole request is written upstream
  std::string res_head_;
  gather res_out_;
  chunk_line_storage res_chunk_line_{};
  bool res_chunked_ = false;       // the response body goes to the client chunked
  bool res_close_delimited_ = false;  // ... or ends where the connection does (HTTP/1.0)
  bool res_head_pending_ = false;  // res_head_ goes out with the first body bytes
  bool res_done_ = false;          // the last write of the response is under way
  std::optional<boost::beast::http::response<boost::beast::http::string_body>> reply_;

  // upstream_call state.
  std::shared_ptr<upstream_call> call_;
  std::shared_ptr<client_session> call_keepalive_;  // the call refers to this session
  std::size_t call_body_unsent_ = 0;  // request body bytes the call has not taken yet
  std::size_t call_writing_ = 0;      // response body bytes in the write under way
  bool call_reading_body_ = false;
  bool call_response_writing_ = false;
  bool call_head_pending_ = false;    // res_head_ is not written yet
  bool call_last_written_ = false;

  // Tunnel state.
  std::optional<boost::asio::steady_timer> tunnel_timer_;
  std::chrono::steady_clock::time_point tunnel_activity_;
  int tunnel_open_directions_ = 0;
};

}  // namespace jwtgate::proxy
