#pragma once
// One connection to Redis on the control loop: commands formatted and replies
// parsed by hiredis (redisFormatCommandArgv, redisReader), bytes moved by our
// own Asio socket (plain or TLS), so no thread or second event library is
// needed. Commands are pipelined; replies answer them in order. In subscriber
// mode, pushed messages go to on_message instead.

#include <chrono>
#include <array>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

struct redisReply;
struct redisReader;

namespace jwtgate::revocation {

// A parsed reply; a view of hiredis's redisReply.
struct reply_view {
  const redisReply* r = nullptr;
  bool is_error() const noexcept;
  bool is_nil() const noexcept;
  bool is_array() const noexcept;
  bool is_integer() const noexcept;
  std::string_view str() const noexcept;  // string, status or error text
  long long integer() const noexcept;
  std::size_t size() const noexcept;  // array elements
  reply_view operator[](std::size_t i) const noexcept;
};

struct redis_endpoint {
  std::string host;
  std::uint16_t port = 6379;
  std::shared_ptr<boost::asio::ssl::context> tls;  // nullptr: plain
  std::string server_name;                          // SNI and the name verified
  std::chrono::milliseconds timeout{500};
};

class redis_connection : public std::enable_shared_from_this<redis_connection> {
 public:
  using reply_fn = std::function<void(const reply_view&)>;
  using fail_fn = std::function<void(const std::string& why)>;

  explicit redis_connection(boost::asio::io_context& ioc);
  ~redis_connection();

  // Connects (resolve, TCP, TLS); `done` gets "" or the reason. Any later
  // failure (I/O error, protocol error, a reply later than the timeout) closes
  // the connection and calls on_failure once.
  void connect(const redis_endpoint& ep, std::function<void(const std::string&)> done);
  void command(const std::vector<std::string_view>& argv, reply_fn on_reply);
  void close();
  bool open() const noexcept { return open_; }

  fail_fn on_failure;
  // Subscriber mode: pushed ["message", channel, payload] arrays.
  std::function<void(std::string_view channel, std::string_view payload)> on_message;
  bool subscriber = false;

 private:
  void fail(const std::string& why);
  void flush();
  void read();
  void on_read(std::size_t n);
  void watch();

  template <class Buffers, class Handler>
  void async_write(const Buffers& b, Handler&& h);
  template <class Buffers, class Handler>
  void async_read_some(const Buffers& b, Handler&& h);

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::resolver resolver_;
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>> tls_;
  std::unique_ptr<boost::asio::ip::tcp::socket> plain_;
  boost::asio::steady_timer watchdog_;
  redis_endpoint ep_;
  redisReader* reader_ = nullptr;
  struct pending {
    reply_fn fn;
    std::chrono::steady_clock::time_point sent;
  };
  std::deque<pending> waiting_;
  std::string out_, writing_;
  bool write_busy_ = false;
  bool open_ = false;
  bool failed_ = false;
  std::chrono::steady_clock::time_point connect_deadline_;
  std::function<void(const std::string&)> connect_done_;
  std::array<char, 16 * 1024> in_{};
};

}  // namespace jwtgate::revocation
