#pragma once
// Collects every problem found in one configuration file. Errors are gathered
// from several passes (structure, cross references, key loading) and sorted
// into file order at the end, so each pass may report in whatever order suits it.

#include <string>
#include <vector>

#include "jwtgate/config/config.h"
#include "jwtgate/config/snapshot.h"

namespace jwtgate::config {

class diagnostics {
 public:
  explicit diagnostics(std::string file) : file_(std::move(file)) {}

  void error(mark where, std::string message);
  void warning(mark where, std::string message);

  bool has_errors() const noexcept { return !errors_.empty(); }

  // Every mapping entry and list element visited costs one unit. YAML aliases
  // let a small file describe an exponentially large tree; past the budget the
  // walk stops with one error instead of running for hours.
  bool take_visit() noexcept;
  const std::string& file() const noexcept { return file_; }

  // Sorted by position (problems without a position first), stable otherwise.
  std::vector<load_error> take_errors();
  std::vector<load_error> take_warnings();

 private:
  std::string file_;
  std::vector<load_error> errors_;
  std::vector<load_error> warnings_;
  std::size_t visits_left_ = 100'000;
  bool budget_reported_ = false;
};

// More errors than this are summarized in one line: a broken file must not
// flood a terminal or a log.
inline constexpr std::size_t max_reported_errors = 200;

}  // namespace jwtgate::config
