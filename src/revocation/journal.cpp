#include "jwtgate/revocation/journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include <boost/crc.hpp>

namespace jwtgate::revocation {
namespace {

std::uint32_t crc32(std::string_view s) {
  boost::crc_32_type crc;
  crc.process_bytes(s.data(), s.size());
  return crc.checksum();
}

std::string errno_text(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string directory_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// The identity of an entry as a map key.
std::string identity_key(const entry& e) {
  std::string k;
  k.push_back(static_cast<char>('0' + static_cast<int>(e.type)));
  k += std::to_string(e.iss.size());
  k.push_back(':');
  k += e.iss;
  k += e.value;
  return k;
}

}  // namespace

journal::~journal() {
  if (fd_ >= 0) ::close(fd_);
}

std::string journal::format_record(char op, const entry& e) {
  std::string body;
  body.push_back(op);
  body.push_back(' ');
  body += to_json(e);
  char crc[9];
  auto r = std::to_chars(crc, crc + 8, crc32(body), 16);
  std::string line(8 - static_cast<std::size_t>(r.ptr - crc), '0');
  line.append(crc, r.ptr);
  line.push_back(' ');
  line += body;
  return line;
}

bool journal::parse_record(std::string_view line, char& op, entry& e, std::string& error) {
  if (line.size() < 12 || line[8] != ' ' || line[10] != ' ' || (line[9] != '+' && line[9] != '-')) {
    error = "not a journal record";
    return false;
  }
  std::uint32_t want = 0;
  auto r = std::from_chars(line.data(), line.data() + 8, want, 16);
  if (r.ec != std::errc() || r.ptr != line.data() + 8) {
    error = "bad checksum field";
    return false;
  }
  std::string_view body = line.substr(9);
  if (crc32(body) != want) {
    error = "checksum mismatch";
    return false;
  }
  op = line[9];
  // Journal entries are complete; the times are not checked against a clock
  // here (expired entries are dropped by the caller).
  parse_defaults d{0, 0};
  if (!parse_entry(body.substr(2), d, e, error)) return false;
  return true;
}

bool journal::open(const std::string& path, std::int64_t now, std::vector<entry>& live, load_report& report,
                   std::string& error) {
  path_ = path;
  std::string text;
  {
    std::ifstream in(path, std::ios::binary);
    if (in) {
      std::ostringstream ss;
      ss << in.rdbuf();
      text = ss.str();
    } else if (errno != ENOENT) {
      error = errno_text("cannot read revocation file", path);
      return false;
    }
  }
  std::vector<entry> order;
  std::unordered_map<std::string, std::size_t> index;  // identity -> position in order
  std::size_t line_no = 0, pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    ++line_no;
    bool last = nl == std::string::npos || nl + 1 == text.size();
    std::string_view line(text.data() + pos, (nl == std::string::npos ? text.size() : nl) - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    char op = 0;
    entry e;
    std::string why;
    if (nl == std::string::npos || !parse_record(line, op, e, why)) {
      if (last) {  // what a crash during an append leaves
        report.torn_tail = true;
        break;
      }
      error = path + ":" + std::to_string(line_no) + ": damaged revocation record (" +
              (why.empty() ? std::string("incomplete") : why) +
              "); refusing to start without it. Restore the file from a backup, or remove the line "
              "knowing that the entry it held is lost";
      return false;
    }
    ++report.records;
    auto key = identity_key(e);
    auto it = index.find(key);
    if (op == '+') {
      if (it != index.end()) order[it->second] = std::move(e);
      else {
        index.emplace(std::move(key), order.size());
        order.push_back(std::move(e));
      }
    } else if (it != index.end()) {
      order[it->second].exp = INT64_MIN;  // removed; skipped below
      index.erase(it);
    }
  }
  live.clear();
  for (auto& e : order) {
    if (e.exp == INT64_MIN) continue;
    if (e.exp <= now) {
      ++report.expired;
      continue;
    }
    live.push_back(std::move(e));
  }
  return compact(live, error);
}

bool journal::compact(const std::vector<entry>& live, std::string& error) {
  std::string tmp = path_ + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = errno_text("cannot write", tmp);
    return false;
  }
  std::string out;
  bool ok = true;
  for (const auto& e : live) {
    out += format_record('+', e);
    out.push_back('\n');
    if (out.size() > (1 << 20)) {
      ok = ok && write_all(fd, out);
      out.clear();
    }
  }
  ok = ok && write_all(fd, out) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    error = errno_text("cannot write", tmp);
    ::unlink(tmp.c_str());
    return false;
  }
  if (::rename(tmp.c_str(), path_.c_str()) != 0) {
    error = errno_text("cannot replace", path_);
    ::unlink(tmp.c_str());
    return false;
  }
  // The rename is durable only once the directory is.
  if (int dir = ::open(directory_of(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd_ < 0) {
    error = errno_text("cannot open", path_);
    return false;
  }
  records_ = live.size();
  return true;
}

bool journal::append(char op, const entry& e, std::string& error) {
  if (fd_ < 0) {
    error = "the revocation file is not open";
    return false;
  }
  std::string line = format_record(op, e);
  line.push_back('\n');
  off_t before = ::lseek(fd_, 0, SEEK_END);
  if (!write_all(fd_, line) || ::fdatasync(fd_) != 0) {
    error = errno_text("cannot append to", path_);
    // Leave no partial record for the next append to run into.
    if (before >= 0 && ::ftruncate(fd_, before) == 0) ::fdatasync(fd_);
    return false;
  }
  ++records_;
  return true;
}

bool journal::append_add(const entry& e, std::string& error) { return append('+', e, error); }
bool journal::append_remove(const entry& e, std::string& error) { return append('-', e, error); }

}  // namespace jwtgate::revocation
