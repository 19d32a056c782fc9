#include "jwtgate/proxy/access_log.h"

#include <cstdio>
#include <ctime>

#include <spdlog/async.h>
#include <spdlog/details/file_helper.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace jwtgate::proxy {

namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 when invalid.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept {
  auto b = static_cast<unsigned char>(s[i]);
  std::size_t n;
  unsigned min;
  if (b >= 0xC2 && b <= 0xDF) n = 2, min = 0x80;
  else if (b >= 0xE0 && b <= 0xEF) n = 3, min = 0x800;
  else if (b >= 0xF0 && b <= 0xF4) n = 4, min = 0x10000;
  else return 0;
  if (i + n > s.size()) return 0;
  unsigned cp = b & (0xFF >> (n + 1));
  for (std::size_t k = 1; k < n; ++k) {
    auto c = static_cast<unsigned char>(s[i + k]);
    if ((c & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (c & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

void append_escaped_byte(std::string& out, unsigned char c) {
  static constexpr char hex[] = "0123456789abcdef";
  out.append("\\u00");
  out.push_back(hex[c >> 4]);
  out.push_back(hex[c & 0xF]);
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      auto n = utf8_sequence_length(s, i);
      if (n == 0) {
        append_escaped_byte(out, c);
        ++i;
      } else {
        out.append(s.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default:
        if (c < 0x20 || c == 0x7F) append_escaped_byte(out, c);
        else out.push_back(char(c));
    }
    ++i;
  }
  out.push_back('"');
}

std::string format_iso8601_utc(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, int(ms % 1000));
  return buf;
}

std::string format_access_line(const access_entry& e) {
  std::string out;
  out.reserve(256);
  auto field = [&](std::string_view name, std::string_view value) {
    out.append(out.size() == 1 ? "\"" : ",\"");
    out.append(name);
    out.append("\":");
    append_json_string(out, value);
  };
  auto number = [&](std::string_view name, std::string_view value) {
    out.append(",\"");
    out.append(name);
    out.append("\":");
    out.append(value);
  };
  out.push_back('{');
  field("time", format_iso8601_utc(e.time));
  field("request_id", e.request_id);
  field("client", e.client);
  field("method", e.method);
  field("path", e.path);
  field("route", e.route);
  number("status", std::to_string(e.status));
  field("auth", e.auth);
  field("subject", e.subject);
  field("upstream", e.upstream);
  char dur[32];
  std::snprintf(dur, sizeof dur, "%.3f", e.duration_ms);
  number("duration_ms", dur);
  number("bytes_sent", std::to_string(e.bytes_sent));
  out.push_back('}');
  return out;
}

// A file sink that can be reopened under the same name (SIGUSR1, for
// logrotate): lines after the reopen go to the new file. A failed reopen drops
// lines until the next one succeeds, rather than writing into nothing.
class reopenable_file_sink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit reopenable_file_sink(const std::string& path) { file_.open(path, false); }

  // The async logger's worker thread uses the sink only under mutex_ (log and
  // flush), and only while a queued message holds the logger. So when the last
  // reference goes, on whichever thread, the worker is done with the sink: its
  // release of that message's reference happened before. That release happens
  // inside Debian's uninstrumented libspdlog.so, where ThreadSanitizer cannot
  // see it; taking mutex_ once more here makes the same order visible to it
  // (the worker's last unlock, then this lock), and costs one uncontended lock
  // per gateway lifetime.
  ~reopenable_file_sink() override { std::lock_guard<std::mutex> lock(mutex_); }

  bool reopen(std::string& error) {
    std::lock_guard<std::mutex> lock(mutex_);
    try {
      file_.reopen(false);
      broken_ = false;
      return true;
    } catch (const spdlog::spdlog_ex& ex) {  // boundary: spdlog reports open failures by throwing
      broken_ = true;
      error = ex.what();
      return false;
    }
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    if (broken_) return;
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    file_.write(formatted);
  }
  void flush_() override {
    if (!broken_) file_.flush();
  }

 private:
  spdlog::details::file_helper file_;
  bool broken_ = false;
};

std::shared_ptr<access_log> access_log::open(const std::string& spec, std::string& error) {
  auto log = std::shared_ptr<access_log>(new access_log());
  if (spec == "off") return log;
  try {
    // One small background thread writes the lines; request threads only enqueue.
    if (!spdlog::thread_pool()) spdlog::init_thread_pool(8192, 1);
    spdlog::sink_ptr sink;
    if (spec == "stdout" || spec.empty())
      sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
    else
      sink = log->file_ = std::make_shared<reopenable_file_sink>(spec);
    auto logger = std::make_shared<spdlog::async_logger>(
        "access", sink, spdlog::thread_pool(), spdlog::async_overflow_policy::block);
    logger->set_pattern("%v");
    logger->set_level(spdlog::level::info);
    logger->flush_on(spdlog::level::info);
    log->logger_ = std::move(logger);
  } catch (const spdlog::spdlog_ex& ex) {  // boundary: spdlog reports open failures by throwing
    error = "cannot open access log '" + spec + "': " + ex.what();
    return nullptr;
  }
  return log;
}

bool access_log::reopen(std::string& error) {
  if (!file_) return true;  // stdout or off: nothing to reopen
  if (logger_) logger_->flush();  // lines already queued go to the old file
  return file_->reopen(error);
}

access_log::~access_log() {
  if (logger_) logger_->flush();
}

void access_log::write(const access_entry& e) {
  if (!logger_) return;
  logger_->info(format_access_line(e));
}

}  // namespace jwtgate::proxy
