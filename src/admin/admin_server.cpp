#include "jwtgate/admin/admin_server.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace jwtgate::admin {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto admin_timeout = std::chrono::seconds(10);

class admin_session : public std::enable_shared_from_this<admin_session> {
 public:
  admin_session(tcp::socket s, const admin_hooks& hooks) : stream_(std::move(s)), hooks_(hooks) {}

  void start() {
    parser_.header_limit(8192);
    parser_.body_limit(64 * 1024);
    stream_.expires_after(admin_timeout);
    http::async_read(stream_, buffer_, parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->close();
      self->route();
    });
  }

 private:
  void route() {
    const auto& req = parser_.get();
    auto target = req.target();
    auto path = target.substr(0, target.find('?'));
    if (hooks_.api) {
      admin_request r;
      r.method = std::string_view(req.method_string().data(), req.method_string().size());
      r.path = std::string_view(path.data(), path.size());
      r.authorization_count = static_cast<unsigned>(req.count(http::field::authorization));
      auto auth = req[http::field::authorization];
      r.authorization = std::string_view(auth.data(), auth.size());
      r.body = req.body();
      bool served = hooks_.api(r, [self = shared_from_this()](admin_response res) {
        if (!res.www_authenticate.empty()) self->res_.set(http::field::www_authenticate, res.www_authenticate);
        self->respond(static_cast<http::status>(res.status), "application/json", std::move(res.body));
      });
      if (served) return;
    }
    if (req.method() != http::verb::get && req.method() != http::verb::head)
      return respond(http::status::method_not_allowed, "application/json",
                     R"({"error":"method_not_allowed","error_description":"the admin endpoints answer GET only"})");
    if (path == "/healthz") return respond(http::status::ok, "application/json", R"({"status":"ok"})");
    if (path == "/readyz") {
      auto reason = hooks_.not_ready ? hooks_.not_ready() : std::string();
      if (reason.empty()) return respond(http::status::ok, "application/json", R"({"status":"ready"})");
      return respond(http::status::service_unavailable, "application/json", reason);
    }
    if (path == "/metrics" && hooks_.metrics) {
      hooks_.metrics([self = shared_from_this()](std::string text) {
        self->respond(http::status::ok, "text/plain; version=0.0.4; charset=utf-8", std::move(text));
      });
      return;
    }
    respond(http::status::not_found, "application/json",
            R"({"error":"not_found","error_description":"unknown admin endpoint"})");
  }

  void respond(http::status status, std::string_view type, std::string body) {
    res_.result(status);
    res_.version(parser_.get().version());
    res_.set(http::field::content_type, type);
    res_.set(http::field::cache_control, "no-store");
    res_.body() = std::move(body);
    res_.keep_alive(false);
    res_.prepare_payload();
    if (parser_.get().method() == http::verb::head) res_.body().clear();
    http::async_write(stream_, res_, [self = shared_from_this()](beast::error_code, std::size_t) { self->close(); });
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  const admin_hooks& hooks_;
  beast::flat_buffer buffer_;
  http::request_parser<http::string_body> parser_;
  http::response<http::string_body> res_;
};

}  // namespace

struct admin_server::impl {
  impl(asio::io_context& ioc, admin_hooks h) : ioc(ioc), acceptor(ioc), hooks(std::move(h)) {}

  void accept() {
    acceptor.async_accept(ioc, [this](beast::error_code ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      if (!ec) std::make_shared<admin_session>(std::move(s), hooks)->start();
      accept();
    });
  }

  asio::io_context& ioc;
  tcp::acceptor acceptor;
  admin_hooks hooks;
};

admin_server::admin_server(std::unique_ptr<impl> i) : impl_(std::move(i)) {}
admin_server::~admin_server() = default;

std::unique_ptr<admin_server> admin_server::create(asio::io_context& ioc, const std::string& address,
                                                   std::uint16_t port, admin_hooks hooks, std::string& error) {
  auto i = std::make_unique<impl>(ioc, std::move(hooks));
  beast::error_code ec;
  auto addr = asio::ip::make_address(address, ec);
  if (ec) {
    error = "admin.address '" + address + "' is not an IP address";
    return nullptr;
  }
  tcp::endpoint ep(addr, port);
  i->acceptor.open(ep.protocol(), ec);
  if (!ec) i->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) i->acceptor.bind(ep, ec);
  if (!ec) i->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    error = "cannot listen on " + address + ":" + std::to_string(port) + " (admin): " + ec.message();
    return nullptr;
  }
  return std::unique_ptr<admin_server>(new admin_server(std::move(i)));
}

std::uint16_t admin_server::port() const noexcept {
  beast::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void admin_server::start() { impl_->accept(); }

void admin_server::stop() {
  beast::error_code ec;
  impl_->acceptor.close(ec);
}

}  // namespace jwtgate::admin
