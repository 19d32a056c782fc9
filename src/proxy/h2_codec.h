#pragma once
// The server side of HTTP/2 without sockets: libnghttp2's session (framing,
// HPACK, flow control), the request head of each stream, and the
// protections of SPEC 9. Bytes go in with receive() and come out of
// produce(); what a stream needs is asked of the class deriving from it (the
// session, or a fuzz target). No Asio and no Beast here (nghttp2's own C
// header only), so the whole codec is fed frames in a fuzzer.

#include <nghttp2/nghttp2.h>
#include <sys/types.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "jwtgate/proxy/h2_heads.h"


namespace jwtgate::proxy {

// A name/value pair for nghttp2's submit calls, which copy it.
inline nghttp2_nv make_nv(std::string_view name, std::string_view value) noexcept {
  return nghttp2_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
                    NGHTTP2_NV_FLAG_NONE};
}

// A header list to submit; names are lowered as they are added.
class h2_header_list {
 public:
  void clear() {
    arena_.clear();
    spans_.clear();
  }
  void add(std::string_view name, std::string_view value);
  bool empty() const noexcept { return spans_.empty(); }
  std::size_t size() const noexcept { return spans_.size(); }
  std::string_view name(std::size_t i) const noexcept { return {arena_.data() + spans_[i][0], spans_[i][1]}; }
  std::string_view value(std::size_t i) const noexcept { return {arena_.data() + spans_[i][2], spans_[i][3]}; }

 private:
  std::string arena_;
  std::vector<std::array<std::size_t, 4>> spans_;
};

struct h2_limits {
  std::uint32_t max_concurrent_streams = 100;
  std::size_t max_header_bytes = 16384;
};

class h2_server_codec {
 public:
  // One client stream; the deriving class extends it with its own state.
  struct stream {
    virtual ~stream() = default;
    std::int32_t id = 0;
    h2_request_head req;
    flat_head trailers;         // request trailers (HEADERS after the body)
    std::size_t trailer_bytes = 0;
    bool too_large = false;     // the decoded header list passed max_header_bytes
    bool request_done = false;  // END_STREAM from the client
    bool head_seen = false;     // on_request was called
  };

  // What a response body read gives back.
  enum class read_result { data, deferred, reset };

  explicit h2_server_codec(h2_limits limits) : limits_(limits) {}
  virtual ~h2_server_codec();
  h2_server_codec(const h2_server_codec&) = delete;
  h2_server_codec& operator=(const h2_server_codec&) = delete;

  // Creates the session and queues the server's SETTINGS.
  bool start_codec();
  // Client bytes. False: the connection is to end once produce() has
  // written the GOAWAY queued for it (a protocol error or a protection).
  bool receive(const std::uint8_t* data, std::size_t n);
  // Appends frames to `out` up to about `limit` bytes; false on a fatal error.
  bool produce(std::string& out, std::size_t limit);
  bool wants_read() const noexcept;
  bool wants_write() const noexcept;
  bool in_library() const noexcept { return in_library_; }

  // A response with no body (END_STREAM on HEADERS): gRPC trailers-only too.
  void submit_head_only(stream& s, const h2_header_list& head);
  // A response whose body read_response() gives.
  void submit_with_body(stream& s, const h2_header_list& head);
  void resume(stream& s);
  void consume(std::int32_t id, std::size_t n);
  void reset(stream& s, std::uint32_t error_code);
  // Drain: a GOAWAY with the last stream seen; open streams finish.
  void goaway();
  void terminate(std::uint32_t error_code);
  stream* find(std::int32_t id) const noexcept;
  // How long a header block has been waiting for its END_HEADERS (0: none).
  std::int64_t header_block_open_ms() const noexcept;
  // What the client's flow-control windows let the gateway send on s now.
  std::int32_t send_window(const stream& s) const noexcept;
  template <class F>
  void for_each_stream(F&& f) {
    for (auto& [id, s] : streams_) f(*s);
  }
  std::size_t open_streams() const noexcept { return streams_.size(); }
  const h2_limits& limits() const noexcept { return limits_; }

 protected:
  virtual std::unique_ptr<stream> make_stream() = 0;
  // A closed stream, after on_stream_closed: the deriving class may keep it
  // for a later make_stream() (its buffers' capacity is what is worth
  // keeping), or let it go.
  virtual void recycle_stream(std::unique_ptr<stream>) {}
  // The request head is complete (s.req.finish() was called).
  virtual void on_request(stream& s) = 0;
  // Request body bytes; the deriving class calls consume() once they are used.
  virtual void on_request_data(stream& s, std::string_view bytes) = 0;
  virtual void on_request_end(stream& s) = 0;
  // The stream is over; it is destroyed after this returns.
  virtual void on_stream_closed(stream& s, std::uint32_t error_code) = 0;
  // A protection ended the connection or refused a stream (for metrics).
  virtual void on_protection(std::string_view kind) = 0;
  // Fills up to `length` bytes of s's response body. `eof` after the last;
  // then `trailers` may be filled to end the stream with them.
  virtual read_result read_response(stream& s, std::uint8_t* buf, std::size_t length, std::size_t& written,
                                    bool& eof, h2_header_list& trailers) = 0;

 private:
  friend struct h2_codec_callbacks;
  int on_begin_frame(const nghttp2_frame_hd& hd);
  int on_begin_headers(const nghttp2_frame& frame);
  int on_header(const nghttp2_frame& frame, std::string_view name, std::string_view value);
  int on_frame_recv(const nghttp2_frame& frame);
  int on_data_chunk(std::int32_t id, const std::uint8_t* data, std::size_t len);
  int on_stream_close(std::int32_t id, std::uint32_t error_code);
  void protect(std::string_view kind);
  void advertise_stream_limit(std::string& out, std::size_t at);

  // Token buckets per connection: `burst` events at once, `per_second`
  // sustained. Legitimate clients stay far below them.
  struct bucket {
    double tokens, burst, per_second;
    std::int64_t last_ms;
    bucket(double b, double rate);
    bool take() noexcept;
  };

  h2_limits limits_;
  nghttp2_session* ng_ = nullptr;
  std::unordered_map<std::int32_t, std::unique_ptr<stream>> streams_;
  std::size_t header_block_bytes_ = 0;
  int continuations_ = 0;
  std::int64_t header_block_since_ms_ = 0;
  bool settings_sent_ = false;
  bucket resets_{200, 100}, pings_{50, 10}, settings_{50, 10};
  bool in_library_ = false;
  bool ending_ = false;  // GOAWAY sent: no new streams
  bool fatal_ = false;   // a protection or protocol error ends the connection
};

}  // namespace jwtgate::proxy
