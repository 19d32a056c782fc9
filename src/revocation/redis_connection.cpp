#include "revocation/redis_connection.h"

#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/write.hpp>

namespace jwtgate::revocation {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

bool reply_view::is_error() const noexcept { return r && r->type == REDIS_REPLY_ERROR; }
bool reply_view::is_nil() const noexcept { return !r || r->type == REDIS_REPLY_NIL; }
bool reply_view::is_array() const noexcept { return r && r->type == REDIS_REPLY_ARRAY; }
bool reply_view::is_integer() const noexcept { return r && r->type == REDIS_REPLY_INTEGER; }
std::string_view reply_view::str() const noexcept {
  if (!r || !(r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_ERROR))
    return {};
  return {r->str, r->len};
}
long long reply_view::integer() const noexcept { return is_integer() ? r->integer : 0; }
std::size_t reply_view::size() const noexcept { return is_array() ? r->elements : 0; }
reply_view reply_view::operator[](std::size_t i) const noexcept {
  return i < size() ? reply_view{r->element[i]} : reply_view{};
}

redis_connection::redis_connection(asio::io_context& ioc)
    : ioc_(ioc), resolver_(ioc), watchdog_(ioc), reader_(redisReaderCreate()) {}

redis_connection::~redis_connection() {
  if (reader_) redisReaderFree(reader_);
}

template <class Buffers, class Handler>
void redis_connection::async_write(const Buffers& b, Handler&& h) {
  if (tls_) asio::async_write(*tls_, b, std::forward<Handler>(h));
  else asio::async_write(*plain_, b, std::forward<Handler>(h));
}

template <class Buffers, class Handler>
void redis_connection::async_read_some(const Buffers& b, Handler&& h) {
  if (tls_) tls_->async_read_some(b, std::forward<Handler>(h));
  else plain_->async_read_some(b, std::forward<Handler>(h));
}

void redis_connection::connect(const redis_endpoint& ep, std::function<void(const std::string&)> done) {
  ep_ = ep;
  connect_deadline_ = std::chrono::steady_clock::now() + ep.timeout;
  if (ep.tls) tls_ = std::make_unique<asio::ssl::stream<tcp::socket>>(ioc_, *ep.tls);
  else plain_ = std::make_unique<tcp::socket>(ioc_);
  connect_done_ = std::move(done);
  watch();
  resolver_.async_resolve(ep.host, std::to_string(ep.port),
                          [self = shared_from_this()](error_code ec, tcp::resolver::results_type r) {
    if (self->failed_) return;
    if (ec) return self->fail("cannot resolve " + self->ep_.host + ": " + ec.message());
    tcp::socket& sock = self->tls_ ? self->tls_->next_layer() : *self->plain_;
    asio::async_connect(sock, r, [self](error_code ec, const tcp::endpoint&) {
      if (self->failed_) return;
      if (ec) return self->fail("cannot connect to " + self->ep_.host + ":" + std::to_string(self->ep_.port) + ": " +
                                ec.message());
      error_code ignored;
      (self->tls_ ? self->tls_->next_layer() : *self->plain_).set_option(tcp::no_delay(true), ignored);
      auto ready = [self] {
        self->open_ = true;
        auto d = std::move(self->connect_done_);
        self->connect_done_ = nullptr;
        self->read();
        self->flush();
        if (d) d("");
      };
      if (!self->tls_) return ready();
      const std::string& name = self->ep_.server_name.empty() ? self->ep_.host : self->ep_.server_name;
      error_code addr_ec;
      asio::ip::make_address(name, addr_ec);
      if (addr_ec) SSL_set_tlsext_host_name(self->tls_->native_handle(), name.c_str());
      self->tls_->set_verify_callback(asio::ssl::host_name_verification(name));
      self->tls_->async_handshake(asio::ssl::stream_base::client, [self, ready](error_code ec) {
        if (self->failed_) return;
        if (ec) return self->fail("TLS handshake with Redis failed: " + ec.message());
        ready();
      });
    });
  });
}

// One timer per connection bounds the connect and the oldest reply awaited.
void redis_connection::watch() {
  watchdog_.expires_after(std::chrono::milliseconds(50));
  watchdog_.async_wait([w = weak_from_this()](error_code ec) {
    auto self = w.lock();
    if (ec || !self || self->failed_) return;
    auto now = std::chrono::steady_clock::now();
    if (!self->open_ && now > self->connect_deadline_) return self->fail("connecting to Redis timed out");
    if (!self->waiting_.empty() && now - self->waiting_.front().sent > self->ep_.timeout)
      return self->fail("Redis did not answer within the timeout");
    self->watch();
  });
}

void redis_connection::command(const std::vector<std::string_view>& argv, reply_fn on_reply) {
  if (failed_) return;
  std::vector<const char*> ptrs;
  std::vector<std::size_t> lens;
  for (auto a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  char* cmd = nullptr;
  int n = redisFormatCommandArgv(&cmd, static_cast<int>(argv.size()), ptrs.data(), lens.data());
  if (n < 0 || cmd == nullptr) return fail("cannot format a Redis command");
  out_.append(cmd, static_cast<std::size_t>(n));
  redisFreeCommand(cmd);
  waiting_.push_back({std::move(on_reply), std::chrono::steady_clock::now()});
  flush();
}

void redis_connection::flush() {
  if (write_busy_ || out_.empty() || !open_ || failed_) return;
  write_busy_ = true;
  writing_.swap(out_);
  out_.clear();
  async_write(asio::buffer(writing_), [self = shared_from_this()](error_code ec, std::size_t) {
    self->write_busy_ = false;
    self->writing_.clear();
    if (self->failed_) return;
    if (ec) return self->fail("writing to Redis failed: " + ec.message());
    self->flush();
  });
}

void redis_connection::read() {
  async_read_some(asio::buffer(in_), [self = shared_from_this()](error_code ec, std::size_t n) {
    if (self->failed_) return;
    if (ec) return self->fail(ec == asio::error::eof ? "Redis closed the connection" : "reading from Redis failed: " + ec.message());
    self->on_read(n);
  });
}

void redis_connection::on_read(std::size_t n) {
  if (redisReaderFeed(reader_, in_.data(), n) != REDIS_OK) return fail("cannot parse Redis's reply");
  for (;;) {
    void* raw = nullptr;
    if (redisReaderGetReply(reader_, &raw) != REDIS_OK) return fail("Redis sent a malformed reply");
    if (raw == nullptr) break;
    std::unique_ptr<redisReply, void (*)(void*)> owned(static_cast<redisReply*>(raw), freeReplyObject);
    reply_view v{owned.get()};
    if (subscriber && v.is_array() && v.size() == 3 && v[0].str() == "message") {
      if (on_message) on_message(v[1].str(), v[2].str());
      continue;
    }
    if (waiting_.empty()) return fail("Redis sent a reply nobody asked for");
    auto fn = std::move(waiting_.front().fn);
    waiting_.pop_front();
    if (fn) fn(v);
    if (failed_) return;
  }
  read();
}

void redis_connection::fail(const std::string& why) {
  if (failed_) return;
  failed_ = true;
  bool connecting = static_cast<bool>(connect_done_);
  close();
  auto f = connecting ? std::move(connect_done_) : std::move(on_failure);
  connect_done_ = nullptr;
  on_failure = nullptr;
  if (f) f(why);
}

void redis_connection::close() {
  error_code ignored;
  resolver_.cancel();
  watchdog_.cancel();
  if (tls_) tls_->next_layer().close(ignored);
  if (plain_) plain_->close(ignored);
  waiting_.clear();
  failed_ = true;
  open_ = false;
}

}  // namespace jwtgate::revocation
