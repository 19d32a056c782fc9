#pragma once
// The local store's file (revocation.file): an append-only journal of adds and
// removals, one record a line, "CRC32 OP JSON" with OP '+' or '-'. Every
// append is fdatasync'd before it returns, so an entry the API confirmed
// survives a crash. On open the journal is replayed and compacted (rewritten
// with only the live entries, through a temporary file and a rename). A torn
// last record, what a crash in the middle of an append leaves, is dropped; a
// damaged record before the last is an error, since silently skipping it could
// bring a revoked token back.

#include <cstdint>
#include <string>
#include <vector>

#include "jwtgate/revocation/entry.h"

namespace jwtgate::revocation {

class journal {
 public:
  journal() = default;
  ~journal();
  journal(const journal&) = delete;
  journal& operator=(const journal&) = delete;

  struct load_report {
    std::size_t records = 0;    // records replayed
    std::size_t expired = 0;    // live entries dropped because their exp passed
    bool torn_tail = false;     // a partial last record was dropped
  };

  // Opens (creating it and its directory's file if absent), replays and
  // compacts. `live` gets the entries alive at `now`.
  bool open(const std::string& path, std::int64_t now, std::vector<entry>& live, load_report& report,
            std::string& error);

  bool append_add(const entry& e, std::string& error);
  bool append_remove(const entry& e, std::string& error);

  // Rewrites the file with `live` only; called when removed or expired records
  // outnumber the live ones.
  bool compact(const std::vector<entry>& live, std::string& error);
  std::size_t records() const noexcept { return records_; }

  // One record line (without the newline) and its parse, for tests and fuzzing.
  static std::string format_record(char op, const entry& e);
  static bool parse_record(std::string_view line, char& op, entry& e, std::string& error);

 private:
  bool append(char op, const entry& e, std::string& error);

  std::string path_;
  int fd_ = -1;
  std::size_t records_ = 0;
};

}  // namespace jwtgate::revocation
