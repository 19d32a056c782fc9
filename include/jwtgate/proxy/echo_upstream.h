#pragma once
// A tiny HTTP backend that answers every request with a JSON description of
// it (method, target, headers), so `jwtgate demo` users see exactly what the
// gateway forwards, identity headers included. Not for production traffic.

#include <cstdint>
#include <memory>
#include <string>

namespace jwtgate::proxy {

class echo_upstream {
 public:
  // Listens on 127.0.0.1 (ephemeral port) and serves on its own thread.
  static std::unique_ptr<echo_upstream> start(std::string& error);
  ~echo_upstream();  // stops the thread

  std::uint16_t port() const noexcept;

 private:
  struct impl;
  explicit echo_upstream(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

}  // namespace jwtgate::proxy
