// libFuzzer target over the HTTP/2 server side: the gateway's codec
// (nghttp2's session, the request heads it collects, the SPEC 9
// protections) fed a client's byte stream after the preface, in pieces whose
// sizes the first input byte picks. Each request is answered the ways the
// gateway answers: a body from a buffer that is sometimes empty (deferred),
// a gRPC trailers-only reply, or a body ended with trailers; request bodies
// are consumed late, as an upstream would take them.
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "proxy/h2_codec.h"

namespace {

using jwtgate::proxy::h2_header_list;
using jwtgate::proxy::h2_server_codec;

constexpr std::string_view preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

class fuzz_codec final : public h2_server_codec {
 public:
  fuzz_codec() : h2_server_codec({8, 4096}) {}

  struct fuzz_stream final : stream {
    std::string body;
    std::size_t unconsumed = 0;
    std::size_t reads = 0;
  };

  void release_late() {
    // The "upstream" takes what it was sent, and a stalled body resumes.
    for_each_stream([&](stream& st) {
      auto& s = static_cast<fuzz_stream&>(st);
      consume(s.id, s.unconsumed);
      s.unconsumed = 0;
      resume(s);
    });
  }

 private:
  std::unique_ptr<stream> make_stream() override { return std::make_unique<fuzz_stream>(); }

  void on_request(stream& st) override {
    auto& s = static_cast<fuzz_stream&>(st);
    // The views the head hands out are all read.
    std::size_t total = s.req.method().size() + s.req.path().size() + s.req.host().size();
    for (const auto& e : s.req.head().entries()) total += s.req.head().name(e).size() + s.req.head().value(e).size();
    if (total > limits().max_header_bytes * 4 + 4096) __builtin_trap();
    h2_header_list head;
    head.add(":status", s.too_large ? "431" : "200");
    head.add("x-request-path", s.req.path());
    switch (s.id % 3) {
      case 0:
        head.add("content-type", "application/grpc");
        head.add("grpc-status", "16");
        submit_head_only(s, head);
        break;
      default:
        s.body.assign(static_cast<std::size_t>(s.id % 7) * 5000, 'x');
        submit_with_body(s, head);
        break;
    }
  }

  void on_request_data(stream& st, std::string_view bytes) override {
    static_cast<fuzz_stream&>(st).unconsumed += bytes.size();
  }
  void on_request_end(stream&) override {}
  void on_stream_closed(stream& st, std::uint32_t) override {
    consume(st.id, static_cast<fuzz_stream&>(st).unconsumed);
  }
  void on_protection(std::string_view kind) override {
    if (kind.empty()) __builtin_trap();
  }

  read_result read_response(stream& st, std::uint8_t* buf, std::size_t length, std::size_t& written, bool& eof,
                            h2_header_list& trailers) override {
    auto& s = static_cast<fuzz_stream&>(st);
    if (++s.reads % 2 == 0) return read_result::deferred;  // nothing buffered this time
    std::size_t n = std::min(length, s.body.size());
    std::memcpy(buf, s.body.data(), n);
    s.body.erase(0, n);
    written = n;
    eof = s.body.empty();
    if (eof && s.id % 3 == 2) trailers.add("grpc-status", "0");
    return read_result::data;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t piece = 1 + data[0] % 64;
  ++data;
  --size;
  fuzz_codec codec;
  if (!codec.start_codec()) return 0;
  std::string out;
  bool alive = codec.receive(reinterpret_cast<const std::uint8_t*>(preface.data()), preface.size());
  while (alive && size != 0) {
    std::size_t n = std::min(piece, size);
    alive = codec.receive(data, n);
    data += n;
    size -= n;
    out.clear();
    if (!codec.produce(out, 64 * 1024)) break;
    codec.release_late();
  }
  codec.goaway();
  for (int i = 0; i < 4; ++i) {
    out.clear();
    if (!codec.produce(out, 64 * 1024) || out.empty()) break;
    codec.release_late();
  }
  return 0;
}
