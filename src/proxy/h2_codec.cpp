#include "h2_codec.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <chrono>
#include <ctime>

#include "jwtgate/util/ascii.h"

namespace jwtgate::proxy {

namespace {

constexpr int max_continuations = 16;

std::int64_t monotonic_ms() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

// nghttp2 copies a header list when it is submitted.
std::vector<nghttp2_nv> nv_of(const h2_header_list& h) {
  std::vector<nghttp2_nv> nv;
  nv.reserve(h.size());
  for (std::size_t i = 0; i < h.size(); ++i) nv.push_back(make_nv(h.name(i), h.value(i)));
  return nv;
}

}  // namespace

void h2_header_list::add(std::string_view name, std::string_view value) {
  std::size_t n = arena_.size();
  arena_.append(name);
  for (std::size_t i = n; i < arena_.size(); ++i) arena_[i] = util::ascii_lower(arena_[i]);
  std::size_t v = arena_.size();
  arena_.append(value);
  spans_.push_back({n, name.size(), v, value.size()});
}

h2_server_codec::bucket::bucket(double b, double rate) : tokens(b), burst(b), per_second(rate), last_ms(monotonic_ms()) {}

bool h2_server_codec::bucket::take() noexcept {
  auto now = monotonic_ms();
  tokens = std::min(burst, tokens + static_cast<double>(now - last_ms) / 1000.0 * per_second);
  last_ms = now;
  if (tokens < 1) return false;
  tokens -= 1;
  return true;
}

struct h2_codec_callbacks {
  static h2_server_codec& self(void* p) { return *static_cast<h2_server_codec*>(p); }
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
  // nghttp2 ends the connection itself for some violations; this is where
  // the gateway learns which, for its metrics.
  static int error(nghttp2_session*, int lib_error_code, const char* msg, std::size_t len, void* p) {
    std::string_view text(msg, len);
    if (text.find("max concurrent streams exceeded") != std::string_view::npos) self(p).on_protection("stream_limit");
    else if (lib_error_code == NGHTTP2_ERR_PROTO || lib_error_code == NGHTTP2_ERR_HTTP_HEADER ||
             lib_error_code == NGHTTP2_ERR_HTTP_MESSAGING)
      self(p).on_protection("protocol_error");
    return 0;
  }
  static ssize_t read(nghttp2_session* ng, std::int32_t id, std::uint8_t* buf, std::size_t length,
                      std::uint32_t* flags, nghttp2_data_source* source, void* p) {
    auto& codec = self(p);
    auto* s = static_cast<h2_server_codec::stream*>(source->ptr);
    std::size_t written = 0;
    bool eof = false;
    h2_header_list trailers;
    auto r = codec.read_response(*s, buf, length, written, eof, trailers);
    if (r == h2_server_codec::read_result::reset) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    if (r == h2_server_codec::read_result::deferred && written == 0 && !eof) return NGHTTP2_ERR_DEFERRED;
    if (eof) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      if (!trailers.empty()) {
        auto nv = nv_of(trailers);
        if (nghttp2_submit_trailer(ng, id, nv.data(), nv.size()) == 0) *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      }
    }
    return static_cast<ssize_t>(written);
  }
};

h2_server_codec::~h2_server_codec() {
  streams_.clear();
  if (ng_) nghttp2_session_del(ng_);
}

bool h2_server_codec::start_codec() {
  nghttp2_session_callbacks* cbs = nullptr;
  if (nghttp2_session_callbacks_new(&cbs) != 0) return false;
  nghttp2_session_callbacks_set_on_begin_frame_callback(cbs, h2_codec_callbacks::begin_frame);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, h2_codec_callbacks::begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cbs, h2_codec_callbacks::header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, h2_codec_callbacks::frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, h2_codec_callbacks::data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, h2_codec_callbacks::stream_close);
  nghttp2_session_callbacks_set_error_callback2(cbs, h2_codec_callbacks::error);
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  // Window updates follow the consumer's progress, not the bytes' arrival.
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_option_set_max_settings(opt, 32);
  // Control frames (SETTINGS and PING acknowledgements, resets) queued for a
  // client that does not read: past this many the library ends the session.
  nghttp2_option_set_max_outbound_ack(opt, 1000);
  int rv = nghttp2_session_server_new2(&ng_, cbs, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  if (rv != 0) {
    ng_ = nullptr;
    return false;
  }
  const std::array<nghttp2_settings_entry, 3> settings{{
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 2 * limits_.max_concurrent_streams},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
       static_cast<std::uint32_t>(std::min<std::size_t>(limits_.max_header_bytes, UINT32_MAX))},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, NGHTTP2_INITIAL_WINDOW_SIZE},
  }};
  nghttp2_submit_settings(ng_, NGHTTP2_FLAG_NONE, settings.data(), settings.size());
  // A larger connection window than any one stream's, so one slow consumer
  // does not stall the connection's other streams.
  nghttp2_session_set_local_window_size(ng_, NGHTTP2_FLAG_NONE, 0, 16 * 1024 * 1024);
  return true;
}

bool h2_server_codec::receive(const std::uint8_t* data, std::size_t n) {
  if (!ng_) return false;
  in_library_ = true;
  auto rv = nghttp2_session_mem_recv(ng_, data, n);
  in_library_ = false;
  if (rv >= 0) return !fatal_;
  if (rv == NGHTTP2_ERR_FLOODED) on_protection("slow_reader");
  else if (rv == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS) on_protection("continuation_flood");  // nghttp2's own limit
  else if (rv != NGHTTP2_ERR_CALLBACK_FAILURE && rv != NGHTTP2_ERR_BAD_CLIENT_MAGIC) on_protection("protocol_error");
  // For a protocol error nghttp2 has queued its GOAWAY; this makes sure.
  if (!fatal_) terminate(NGHTTP2_PROTOCOL_ERROR);
  fatal_ = true;
  return false;
}

bool h2_server_codec::produce(std::string& out, std::size_t limit) {
  if (!ng_) return false;
  in_library_ = true;
  while (out.size() < limit) {
    const std::uint8_t* data = nullptr;
    auto n = nghttp2_session_mem_send(ng_, &data);
    if (n < 0) {
      in_library_ = false;
      return false;
    }
    if (n == 0) break;
    std::size_t at = out.size();
    out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    if (!settings_sent_) {
      settings_sent_ = true;
      advertise_stream_limit(out, at);
    }
  }
  in_library_ = false;
  return true;
}

// RFC 9113 section 5.1.2 asks for a stream error when a client opens more
// streams than advertised; nghttp2 ends the whole connection instead, and
// with it the streams already under way. So the library is given twice the
// limit, the client is told the limit (the value is rewritten in the first
// SETTINGS frame, always the first bytes out), and the gateway refuses
// streams over it itself with REFUSED_STREAM.
void h2_server_codec::advertise_stream_limit(std::string& out, std::size_t at) {
  if (out.size() < at + 9 || static_cast<std::uint8_t>(out[at + 3]) != NGHTTP2_SETTINGS) return;
  std::size_t length = (static_cast<std::uint8_t>(out[at]) << 16) | (static_cast<std::uint8_t>(out[at + 1]) << 8) |
                       static_cast<std::uint8_t>(out[at + 2]);
  for (std::size_t p = at + 9; p + 6 <= at + 9 + length && p + 6 <= out.size(); p += 6) {
    unsigned id = (static_cast<std::uint8_t>(out[p]) << 8) | static_cast<std::uint8_t>(out[p + 1]);
    if (id != NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS) continue;
    std::uint32_t v = limits_.max_concurrent_streams;
    out[p + 2] = static_cast<char>(v >> 24);
    out[p + 3] = static_cast<char>(v >> 16);
    out[p + 4] = static_cast<char>(v >> 8);
    out[p + 5] = static_cast<char>(v);
  }
}

std::int64_t h2_server_codec::header_block_open_ms() const noexcept {
  return header_block_since_ms_ == 0 ? 0 : monotonic_ms() - header_block_since_ms_;
}

std::int32_t h2_server_codec::send_window(const stream& s) const noexcept {
  if (!ng_) return 0;
  return std::min(nghttp2_session_get_stream_remote_window_size(ng_, s.id), nghttp2_session_get_remote_window_size(ng_));
}

bool h2_server_codec::wants_read() const noexcept { return ng_ && nghttp2_session_want_read(ng_); }
bool h2_server_codec::wants_write() const noexcept { return ng_ && nghttp2_session_want_write(ng_); }

void h2_server_codec::submit_head_only(stream& s, const h2_header_list& head) {
  auto nv = nv_of(head);
  nghttp2_submit_response(ng_, s.id, nv.data(), nv.size(), nullptr);
}

void h2_server_codec::submit_with_body(stream& s, const h2_header_list& head) {
  auto nv = nv_of(head);
  nghttp2_data_provider prd{};
  prd.source.ptr = &s;
  prd.read_callback = h2_codec_callbacks::read;
  nghttp2_submit_response(ng_, s.id, nv.data(), nv.size(), &prd);
}

void h2_server_codec::resume(stream& s) {
  if (ng_) nghttp2_session_resume_data(ng_, s.id);
}

void h2_server_codec::consume(std::int32_t id, std::size_t n) {
  if (ng_ && n != 0) nghttp2_session_consume(ng_, id, n);
}

void h2_server_codec::reset(stream& s, std::uint32_t error_code) {
  if (ng_) nghttp2_submit_rst_stream(ng_, NGHTTP2_FLAG_NONE, s.id, error_code);
}

void h2_server_codec::goaway() {
  if (!ng_ || ending_) return;
  nghttp2_submit_goaway(ng_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(ng_), NGHTTP2_NO_ERROR,
                        nullptr, 0);
  ending_ = true;
  if (streams_.empty()) nghttp2_session_terminate_session(ng_, NGHTTP2_NO_ERROR);
}

void h2_server_codec::terminate(std::uint32_t error_code) {
  if (!ng_) return;
  ending_ = true;
  nghttp2_session_terminate_session(ng_, error_code);
}

h2_server_codec::stream* h2_server_codec::find(std::int32_t id) const noexcept {
  return ng_ ? static_cast<stream*>(nghttp2_session_get_stream_user_data(ng_, id)) : nullptr;
}

void h2_server_codec::protect(std::string_view kind) {
  on_protection(kind);
  terminate(NGHTTP2_ENHANCE_YOUR_CALM);
  fatal_ = true;
}

int h2_server_codec::on_begin_frame(const nghttp2_frame_hd& hd) {
  switch (hd.type) {
    case NGHTTP2_HEADERS:
      header_block_bytes_ = hd.length;
      continuations_ = 0;
      header_block_since_ms_ = (hd.flags & NGHTTP2_FLAG_END_HEADERS) ? 0 : monotonic_ms();
      break;
    case NGHTTP2_CONTINUATION:
      // CVE-2024-27316: a header block that never ends. Compressed bytes
      // beyond twice the decoded limit cannot make a header list within it,
      // and no client needs more than a few frames for one (nghttp2 1.61
      // allows 8; empty frames cost nothing but the loop's time).
      header_block_bytes_ += hd.length;
      if (header_block_bytes_ > 2 * limits_.max_header_bytes + 16 * 1024 || ++continuations_ > max_continuations) {
        protect("continuation_flood");
        return NGHTTP2_ERR_CALLBACK_FAILURE;
      }
      if (hd.flags & NGHTTP2_FLAG_END_HEADERS) header_block_since_ms_ = 0;
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

int h2_server_codec::on_begin_headers(const nghttp2_frame& frame) {
  if (frame.hd.type != NGHTTP2_HEADERS || frame.headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  if (ending_) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // after a GOAWAY: refused
  if (streams_.size() >= limits_.max_concurrent_streams) {
    // No stream object: its header block is decoded and dropped.
    on_protection("stream_limit");
    nghttp2_submit_rst_stream(ng_, NGHTTP2_FLAG_NONE, frame.hd.stream_id, NGHTTP2_REFUSED_STREAM);
    return 0;
  }
  auto s = make_stream();
  s->id = frame.hd.stream_id;
  nghttp2_session_set_stream_user_data(ng_, frame.hd.stream_id, s.get());
  streams_.emplace(frame.hd.stream_id, std::move(s));
  return 0;
}

int h2_server_codec::on_header(const nghttp2_frame& frame, std::string_view name, std::string_view value) {
  auto* s = find(frame.hd.stream_id);
  if (!s || s->too_large) return 0;
  if (frame.headers.cat != NGHTTP2_HCAT_REQUEST) {
    // Trailers, within the same limit as the head; pseudo-headers are not allowed there.
    s->trailer_bytes += name.size() + value.size() + 32;
    if (s->trailer_bytes > limits_.max_header_bytes || name.empty() || name.front() == ':') return 0;
    s->trailers.add(0, name, value);
    return 0;
  }
  s->req.add(name, value);
  if (s->req.decoded_bytes() > limits_.max_header_bytes) {
    // The rest of the block is still decoded (HPACK state must stay in step)
    // but not kept; the stream is answered 431 once it is complete.
    on_protection("header_list_too_large");
    s->too_large = true;
  }
  return 0;
}

int h2_server_codec::on_frame_recv(const nghttp2_frame& frame) {
  if (frame.hd.type != NGHTTP2_HEADERS && frame.hd.type != NGHTTP2_DATA) return 0;
  auto* s = find(frame.hd.stream_id);
  if (!s) return 0;
  bool end = (frame.hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (end) s->request_done = true;
  if (frame.hd.type == NGHTTP2_HEADERS && frame.headers.cat == NGHTTP2_HCAT_REQUEST && !s->head_seen) {
    s->head_seen = true;
    s->req.finish();
    on_request(*s);
    // on_request may have closed the stream (a reply and a reset).
    s = find(frame.hd.stream_id);
    if (!s) return 0;
  }
  if (end) on_request_end(*s);
  return 0;
}

int h2_server_codec::on_data_chunk(std::int32_t id, const std::uint8_t* data, std::size_t len) {
  auto* s = find(id);
  if (!s) {
    consume(id, len);
    return 0;
  }
  on_request_data(*s, std::string_view(reinterpret_cast<const char*>(data), len));
  return 0;
}

int h2_server_codec::on_stream_close(std::int32_t id, std::uint32_t error_code) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return 0;
  on_stream_closed(*it->second, error_code);
  nghttp2_session_set_stream_user_data(ng_, id, nullptr);
  auto closed = std::move(it->second);
  streams_.erase(it);
  recycle_stream(std::move(closed));
  if (ending_ && streams_.empty()) nghttp2_session_terminate_session(ng_, NGHTTP2_NO_ERROR);
  return 0;
}

}  // namespace jwtgate::proxy
