#pragma once
// Beast's HTTP/1 parser (framing, chunked decoding, limits) with the head
// stored in a session-owned flat_head instead of a node-based field map, and
// the body copied into a caller-given buffer the way http::buffer_body does:
// need_buffer when the buffer is full.

#include <cstring>

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

#include "jwtgate/proxy/flat_head.h"

namespace jwtgate::proxy {

template <bool isRequest>
class head_parser final : public boost::beast::http::basic_parser<isRequest> {
 public:
  explicit head_parser(flat_head& head) : head_(head) { head_.clear(); }

  const flat_head& get() const noexcept { return head_; }

  // Where the next body bytes go; the room counts down as they arrive.
  void body_buffer(char* data, std::size_t size) noexcept {
    data_ = data;
    size_ = size;
  }
  std::size_t body_room() const noexcept { return size_; }

 private:
  using error_code = boost::beast::error_code;
  using string_view = boost::beast::string_view;

  static std::string_view view(string_view s) noexcept { return {s.data(), s.size()}; }

  void on_request_impl(boost::beast::http::verb method, string_view method_string, string_view target, int version,
                       error_code&) override {
    head_.set_request_line(static_cast<int>(method), view(method_string), view(target));
    head_.version = static_cast<unsigned>(version);
  }

  void on_response_impl(int code, string_view reason, int version, error_code&) override {
    head_.status = static_cast<unsigned>(code);
    head_.version = static_cast<unsigned>(version);
    head_.set_reason(view(reason));
  }

  void on_field_impl(boost::beast::http::field id, string_view name, string_view value, error_code&) override {
    head_.add(static_cast<int>(id), view(name), view(value));
  }

  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  std::size_t on_body_impl(string_view body, error_code& ec) override { return take(body, ec); }
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code& ec) override { return take(body, ec); }
  void on_finish_impl(error_code&) override {}

  std::size_t take(string_view body, error_code& ec) {
    std::size_t n = body.size() < size_ ? body.size() : size_;
    if (n != 0) {
      std::memcpy(data_, body.data(), n);
      data_ += n;
      size_ -= n;
    }
    if (n != body.size()) ec = boost::beast::http::error::need_buffer;
    return n;
  }

  flat_head& head_;
  char* data_ = nullptr;
  std::size_t size_ = 0;
};

using request_head_parser = head_parser<true>;
using response_head_parser = head_parser<false>;

}  // namespace jwtgate::proxy
