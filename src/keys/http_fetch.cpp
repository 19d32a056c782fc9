#include "jwtgate/keys/http_fetch.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/url/parse.hpp>
#include <openssl/ssl.h>

#include <charconv>
#include <memory>

#include "jwtgate/net/any_stream.h"
#include "jwtgate/net/tls_context.h"
#include "jwtgate/util/ascii.h"

namespace jwtgate::keys {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

class fetch_op : public std::enable_shared_from_this<fetch_op> {
 public:
  fetch_op(asio::io_context& ioc, fetch_request req, fetch_handler done)
      : ioc_(ioc), req_(std::move(req)), done_(std::move(done)), resolver_(ioc) {}

  void start() {
    auto parsed = boost::urls::parse_absolute_uri(req_.url);
    if (!parsed) return finish("invalid URL");
    const auto& u = *parsed;
    https_ = u.scheme() == "https";
    if (!https_ && u.scheme() != "http") return finish("unsupported URL scheme");
    host_ = std::string(u.encoded_host());
    if (host_.size() > 2 && host_.front() == '[') host_ = host_.substr(1, host_.size() - 2);
    port_ = u.has_port() ? std::string(u.port()) : (https_ ? "443" : "80");
    target_ = std::string(u.encoded_path());
    if (target_.empty()) target_ = "/";
    if (u.has_query()) target_ += "?" + std::string(u.encoded_query());
    host_header_ = std::string(u.encoded_host_and_port());

    if (https_) {
      std::string error;
      tls_ = net::make_client_tls_context(req_.ca_file, true, error);
      if (!tls_) return finish(error);
    }
    deadline_ = std::chrono::steady_clock::now() + req_.connect_timeout + req_.timeout;
    resolver_.async_resolve(host_, port_, [self = shared_from_this()](auto ec, auto results) {
      self->on_resolve(ec, results);
    });
  }

 private:
  void on_resolve(boost::system::error_code ec, const tcp::resolver::results_type& results) {
    if (ec) return finish("cannot resolve " + host_ + ": " + ec.message());
    beast::tcp_stream tcp_stream(ioc_);
    tcp_stream.expires_after(req_.connect_timeout);
    stream_ = https_ ? std::make_unique<net::any_stream>(std::move(tcp_stream), *tls_)
                     : std::make_unique<net::any_stream>(std::move(tcp_stream));
    stream_->tcp().async_connect(results, [self = shared_from_this()](auto ec, auto) {
      self->on_connect(ec);
    });
  }

  void on_connect(boost::system::error_code ec) {
    if (ec) return finish("cannot connect to " + host_header_ + ": " + ec.message());
    stream_->tcp().expires_at(deadline_);
    if (auto* tls = stream_->tls()) {
      // SNI carries host names only (RFC 6066 section 3), never IP literals.
      boost::system::error_code not_ip;
      asio::ip::make_address(host_, not_ip);
      if (not_ip && !SSL_set_tlsext_host_name(tls->native_handle(), host_.c_str()))
        return finish("cannot set TLS server name");
      tls->set_verify_callback(asio::ssl::host_name_verification(host_));
      tls->async_handshake(asio::ssl::stream_base::client,
                           [self = shared_from_this()](auto ec) { self->on_handshake(ec); });
      return;
    }
    send();
  }

  void on_handshake(boost::system::error_code ec) {
    if (ec) return finish("TLS handshake with " + host_header_ + " failed: " + ec.message());
    send();
  }

  void send() {
    request_.method(http::verb::get);
    request_.target(target_);
    request_.version(11);
    request_.set(http::field::host, host_header_);
    request_.set(http::field::user_agent, "jwtgate");
    request_.set(http::field::accept, "application/json");
    request_.set(http::field::connection, "close");
    http::async_write(*stream_, request_, [self = shared_from_this()](auto ec, std::size_t) {
      self->on_write(ec);
    });
  }

  void on_write(boost::system::error_code ec) {
    if (ec) return finish("cannot send request: " + ec.message());
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    parser_->body_limit(req_.max_body_bytes);
    http::async_read(*stream_, buffer_, *parser_, [self = shared_from_this()](auto ec, std::size_t) {
      self->on_read(ec);
    });
  }

  void on_read(boost::system::error_code ec) {
    if (ec == http::error::body_limit)
      return finish("document larger than " + std::to_string(req_.max_body_bytes) + " bytes");
    if (ec == beast::error::timeout) return finish("timed out");
    if (ec) return finish("cannot read response: " + ec.message());
    auto& res = parser_->get();
    fetch_response out;
    out.status = res.result_int();
    if (auto it = res.find(http::field::cache_control); it != res.end())
      out.max_age = parse_max_age(std::string_view(it->value().data(), it->value().size()));
    out.body = std::move(res.body());
    stream_->close();
    complete(std::move(out));
  }

  void finish(std::string error) {
    if (stream_) stream_->close();
    fetch_response out;
    out.error = std::move(error);
    complete(std::move(out));
  }

  void complete(fetch_response out) {
    if (!done_) return;
    auto done = std::move(done_);
    done_ = nullptr;
    done(std::move(out));
  }

  asio::io_context& ioc_;
  fetch_request req_;
  fetch_handler done_;
  tcp::resolver resolver_;
  std::shared_ptr<asio::ssl::context> tls_;
  std::unique_ptr<net::any_stream> stream_;
  bool https_ = false;
  std::string host_, port_, target_, host_header_;
  std::chrono::steady_clock::time_point deadline_;
  http::request<http::empty_body> request_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
};

}  // namespace

void http_fetch(asio::io_context& ioc, fetch_request req, fetch_handler done) {
  std::make_shared<fetch_op>(ioc, std::move(req), std::move(done))->start();
}

std::chrono::milliseconds next_refresh(std::chrono::milliseconds refresh, std::chrono::milliseconds min_refresh,
                                       std::optional<std::chrono::seconds> max_age) noexcept {
  using std::chrono::milliseconds;
  if (!max_age || max_age->count() <= 0) return refresh;  // no-store, no-cache, max-age=0: jwks_refresh
  // Compared in seconds first: a huge max-age must not overflow into a short one.
  if (*max_age >= std::chrono::duration_cast<std::chrono::seconds>(refresh) + std::chrono::seconds(1)) return refresh;
  milliseconds wanted = *max_age;
  milliseconds floor = std::min(std::max(min_refresh, milliseconds(1000)), refresh);
  return std::min(std::max(wanted, floor), refresh);
}

std::optional<std::chrono::seconds> parse_max_age(std::string_view cc) noexcept {
  std::optional<std::chrono::seconds> result;
  while (!cc.empty()) {
    auto comma = cc.find(',');
    std::string_view directive = util::trim_ows(cc.substr(0, comma));
    cc = comma == std::string_view::npos ? std::string_view{} : cc.substr(comma + 1);
    if (util::iequals(directive, "no-store") || util::iequals(directive, "no-cache")) return std::chrono::seconds(0);
    auto eq = directive.find('=');
    if (eq == std::string_view::npos || !util::iequals(util::trim_ows(directive.substr(0, eq)), "max-age")) continue;
    std::string_view value = util::trim_ows(directive.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    long long seconds = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec != std::errc() || ptr != value.data() + value.size() || seconds < 0) continue;
    result = std::chrono::seconds(seconds);
  }
  return result;
}

}  // namespace jwtgate::keys
