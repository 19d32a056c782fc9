#pragma once
// The access log: one JSON object per line per request (SPEC section 7). The
// token and the query string are never written (the query may carry a token).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace spdlog { class logger; }

namespace jwtgate::proxy {

struct access_entry {
  std::chrono::system_clock::time_point time;
  std::string_view request_id;
  std::string_view client;    // client IP address
  std::string_view method;
  std::string_view path;      // normalized, without the query
  std::string_view route;     // empty: no route matched
  unsigned status = 0;
  std::string_view auth;      // ok | none | anonymous | a reason code
  std::string_view subject;
  std::string_view upstream;  // upstream name; empty when not forwarded
  double duration_ms = 0;
  std::uint64_t bytes_sent = 0;  // response body bytes written to the client
};

// Appends `s` as a JSON string literal (quotes included), escaping quotes,
// backslashes and control characters; invalid UTF-8 bytes become \u00XX so the
// line stays valid JSON whatever a client sent.
void append_json_string(std::string& out, std::string_view s);

// "2026-11-22T12:42:11.123Z"
std::string format_iso8601_utc(std::chrono::system_clock::time_point t);

// The JSON line, without a trailing newline.
std::string format_access_line(const access_entry& e);

class reopenable_file_sink;

// Where lines go: `spec` is "stdout", "off" or a file path (appended to). The
// writer is asynchronous (spdlog's thread pool), so a request never waits on
// the disk.
class access_log {
 public:
  // nullptr and `error` set when the file cannot be opened; a log whose
  // enabled() is false for "off".
  static std::shared_ptr<access_log> open(const std::string& spec, std::string& error);
  ~access_log();

  bool enabled() const noexcept { return logger_ != nullptr; }
  // Reopens the file under its name (SIGUSR1 after logrotate renamed it).
  // True for stdout and off; false with `error` set when the file cannot be opened.
  bool reopen(std::string& error);
  void write(const access_entry& e);

 private:
  std::shared_ptr<spdlog::logger> logger_;
  std::shared_ptr<reopenable_file_sink> file_;  // a file path only
};

}  // namespace jwtgate::proxy
