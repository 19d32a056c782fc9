// libFuzzer target over the proxy's HTTP/1 head parsing: Beast's parser with
// jwtgate's flat head store and body copying. The first input byte picks
// request or response and the piece sizes; the rest is fed as the bytes would
// arrive from a socket, with a small body buffer that is often full.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include <boost/asio/buffer.hpp>

#include "proxy/head_parser.h"

namespace {

using jwtgate::proxy::flat_head;

// Every view the store hands out must lie inside the bytes that were fed.
void check(const flat_head& h, std::size_t fed) {
  std::size_t total = h.reason().size() + h.target().size();
  for (const auto& e : h.entries()) {
    total += h.name(e).size() + h.value(e).size();
    if (h.name(e).empty()) __builtin_trap();  // Beast refuses empty field names
  }
  if (total > fed) __builtin_trap();
}

template <class Parser>
void run(const std::uint8_t* data, std::size_t size, std::uint8_t shape) {
  flat_head head;
  Parser p(head);
  p.header_limit(8 * 1024);
  p.body_limit(64 * 1024);
  std::string pending;
  std::array<char, 17> room{};
  const std::size_t step = 1 + (shape >> 2) * 7;  // 1 .. 442 bytes per read
  std::size_t fed = 0;
  std::size_t body = 0;
  for (int rounds = 0; rounds < 100000; ++rounds) {
    if (fed < size) {
      auto n = std::min(step, size - fed);
      pending.append(reinterpret_cast<const char*>(data) + fed, n);
      fed += n;
    }
    if (pending.empty()) {
      // The proxy never hands the parser an empty buffer (it reads first);
      // at the end of the input that is where a socket would report EOF.
      if (fed == size) return;
      continue;
    }
    p.body_buffer(room.data(), room.size());
    boost::beast::error_code ec;
    auto used = p.put(boost::asio::buffer(pending), ec);
    if (used > pending.size()) __builtin_trap();
    pending.erase(0, used);
    body += room.size() - p.body_room();
    if (p.is_header_done()) check(head, fed);
    if (ec && ec != boost::beast::http::error::need_more && ec != boost::beast::http::error::need_buffer) return;
    if (p.is_done()) return;
    if (fed == size && used == 0 && ec != boost::beast::http::error::need_buffer) return;
  }
  if (body > size) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t shape = data[0];
  ++data;
  --size;
  if (shape & 1) run<jwtgate::proxy::request_head_parser>(data, size, shape);
  else run<jwtgate::proxy::response_head_parser>(data, size, shape);
  return 0;
}
