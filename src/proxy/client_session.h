#pragma once
// One client connection: the HTTP/1 codec (HTTP/1.0 and 1.1, keep-alive,
// pipelining answered in order). For each request: read the head under
// header_timeout, check framing, ask the auth pipeline for a decision, then
// either reply itself or relay the request through an upstream_call (the
// same one HTTP/2 streams use, whatever the upstream speaks) and frame the
// response back, bodies in both directions through bounded buffers (never a
// whole body in memory). An authorized WebSocket upgrade answered 101
// becomes a raw two-way tunnel.

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
  // the references the session holds to itself while the control loop
  // answers a back-channel logout, or while an upstream call is under way.
  void drop_self_references() noexcept override;

 private:
  using error_code = boost::beast::error_code;

  // A fault of the HTTP message itself, as opposed to the connection's.
  static bool is_http_error(const error_code& ec) noexcept {
    return ec.category() == boost::beast::http::make_error_code(boost::beast::http::error::end_of_stream).category();
  }

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

  // Relaying through an upstream_call (client_session_relay.cpp): the body
  // moves as the call takes it.
  void forward();
  void build_outgoing_request(const config::upstream_config& up);
  void send_continue();
  void read_call_body();
  void on_call_body(error_code ec);
  void pump_call_response();
  void on_call_response_written(error_code ec);
  bool append_relayed_fields(std::string& out, const flat_head& res);
  void end_response_head(std::string& out, unsigned version, bool unknown_length);
  void release_call();
  void end_call(bool keep_alive);
  bool valid_websocket_accept(const flat_head& res) const noexcept;
  void on_upgraded(upstream_call& c);
  void on_response_head(upstream_call& c) override;
  void on_response_data(upstream_call& c) override;
  void on_response_end(upstream_call& c) override;
  void on_call_failed(upstream_call& c, unsigned status, std::string_view why) override;
  void on_request_body_sent(upstream_call& c, std::size_t n) override;
  void on_ready_for_body(upstream_call& c) override;
  boost::beast::http::verb method() const noexcept { return static_cast<boost::beast::http::verb>(req_in_.method); }

  // WebSocket tunnel after a relayed 101.
  void start_tunnel();
  void pump(bool client_to_upstream);
  void on_pumped(bool client_to_upstream, error_code ec, std::size_t n);
  void check_tunnel_idle();

  // Deadlines: only the side being waited on has one (see connection_stream).
  void wait_on_client(std::chrono::milliseconds limit);

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
  std::unique_ptr<char[]> body_buf_;   // request body (and the tunnel's client side)
  std::unique_ptr<char[]> body_buf2_;  // the tunnel's upstream side
  std::unique_ptr<char[]> response_buf_;  // response body bytes in the write under way
  bool idle_ = false;                  // waiting for the next request
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
  bool websocket_ = false;
  bool response_started_ = false;
  bool close_after_read_ = false;  // close_gracefully waits for the body read under way
  std::chrono::steady_clock::time_point upstream_sent_;
  outgoing_request out_req_;  // storage reused between requests
  std::string forwarded_for_;
  std::unique_ptr<upstream_connection> upstream_;  // a WebSocket tunnel's upstream

  // The response head as sent, built into a string whose capacity is kept
  // between requests; each write is one gather list of head, chunk framing
  // and body bytes.
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
  std::string res_head_;
  gather res_out_;
  chunk_line_storage res_chunk_line_{};
  bool res_chunked_ = false;       // the response body goes to the client chunked
  bool res_close_delimited_ = false;  // ... or ends where the connection does (HTTP/1.0)
  bool res_done_ = false;             // no body is relayed (HEAD, 204, 304)
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
