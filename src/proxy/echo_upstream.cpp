#include "jwtgate/proxy/echo_upstream.h"

#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "jwtgate/proxy/access_log.h"

namespace jwtgate::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

class echo_session : public std::enable_shared_from_this<echo_session> {
 public:
  explicit echo_session(tcp::socket s) : stream_(std::move(s)) {}

  void read() {
    req_ = {};
    stream_.expires_after(std::chrono::seconds(60));
    http::async_read(stream_, buffer_, req_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return;
      self->respond();
    });
  }

 private:
  void respond() {
    std::string body = "{\"method\":";
    append_json_string(body, req_.method_string());
    body += ",\"target\":";
    append_json_string(body, req_.target());
    body += ",\"headers\":{";
    bool first = true;
    for (const auto& f : req_) {
      if (!first) body += ",";
      first = false;
      append_json_string(body, f.name_string());
      body += ":";
      append_json_string(body, f.value());
    }
    body += "},\"body_bytes\":" + std::to_string(req_.body().size()) + "}\n";
    res_ = {};
    res_.result(http::status::ok);
    res_.version(req_.version());
    res_.set(http::field::content_type, "application/json");
    res_.body() = std::move(body);
    res_.keep_alive(req_.keep_alive());
    res_.prepare_payload();
    http::async_write(stream_, res_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec || !self->res_.keep_alive()) return;
      self->read();
    });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
};

}  // namespace

struct echo_upstream::impl {
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  std::thread thread;

  void accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) std::make_shared<echo_session>(std::move(s))->read();
      accept();
    });
  }
};

echo_upstream::echo_upstream(std::unique_ptr<impl> i) : impl_(std::move(i)) {}

echo_upstream::~echo_upstream() {
  impl_->ioc.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::unique_ptr<echo_upstream> echo_upstream::start(std::string& error) {
  auto i = std::make_unique<impl>();
  beast::error_code ec;
  tcp::endpoint ep(asio::ip::make_address_v4("127.0.0.1"), 0);
  i->acceptor.open(ep.protocol(), ec);
  if (!ec) i->acceptor.bind(ep, ec);
  if (!ec) i->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    error = "cannot start the echo upstream: " + ec.message();
    return nullptr;
  }
  i->accept();
  auto* raw = i.get();
  i->thread = std::thread([raw] { raw->ioc.run(); });
  return std::unique_ptr<echo_upstream>(new echo_upstream(std::move(i)));
}

std::uint16_t echo_upstream::port() const noexcept {
  beast::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

}  // namespace jwtgate::proxy
