#pragma once
// A byte stream that is either a plain stream or TLS over one, chosen at run
// time, so code is written once for both. The TLS type must expose the plain
// one as next_layer() (Asio's ssl::stream and Beast's ssl_stream both do).
// Derived types add the executor and whatever else their users need.

#include <utility>
#include <variant>

namespace jwtgate::net {

template <class Plain, class Tls>
class plain_or_tls {
 public:
  // The plain layer: the whole stream without TLS, the one under it with.
  Plain& plain() noexcept {
    if (auto* t = std::get_if<1>(&v_)) return t->next_layer();
    return std::get<0>(v_);
  }
  // The TLS layer, or nullptr for a plain stream.
  Tls* tls() noexcept { return std::get_if<1>(&v_); }

  template <class MutableBuffers, class Handler>
  void async_read_some(const MutableBuffers& b, Handler&& h) {
    if (auto* t = std::get_if<1>(&v_)) t->async_read_some(b, std::forward<Handler>(h));
    else std::get<0>(v_).async_read_some(b, std::forward<Handler>(h));
  }

  template <class ConstBuffers, class Handler>
  void async_write_some(const ConstBuffers& b, Handler&& h) {
    if (auto* t = std::get_if<1>(&v_)) t->async_write_some(b, std::forward<Handler>(h));
    else std::get<0>(v_).async_write_some(b, std::forward<Handler>(h));
  }

 protected:
  template <class... Args>
  explicit plain_or_tls(Args&&... args) : v_(std::forward<Args>(args)...) {}

  std::variant<Plain, Tls> v_;
};

}  // namespace jwtgate::net
