#include "config/diagnostics.h"

#include <algorithm>
#include <tuple>

namespace jwtgate::config {
namespace {

std::vector<load_error> in_file_order(std::vector<load_error> list) {
  std::stable_sort(list.begin(), list.end(), [](const load_error& a, const load_error& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  return list;
}

}  // namespace

void diagnostics::error(mark where, std::string message) {
  errors_.push_back({file_, where.line, where.column, std::move(message)});
}

bool diagnostics::take_visit() noexcept {
  if (visits_left_ > 0) {
    --visits_left_;
    return true;
  }
  if (!budget_reported_) {
    budget_reported_ = true;
    errors_.push_back({file_, 0, 0, "the configuration is too large (too many entries, or aliases that expand too far)"});
  }
  return false;
}

void diagnostics::warning(mark where, std::string message) {
  warnings_.push_back({file_, where.line, where.column, std::move(message)});
}

std::vector<load_error> diagnostics::take_errors() {
  std::vector<load_error> sorted = in_file_order(std::move(errors_));
  if (sorted.size() > max_reported_errors) {
    const std::size_t omitted = sorted.size() - max_reported_errors;
    sorted.resize(max_reported_errors);
    sorted.push_back({file_, 0, 0, std::to_string(omitted) + " more errors not shown"});
  }
  return sorted;
}

std::vector<load_error> diagnostics::take_warnings() {
  std::vector<load_error> sorted = in_file_order(std::move(warnings_));
  if (sorted.size() > max_reported_errors) sorted.resize(max_reported_errors);
  return sorted;
}

std::string load_error::to_string() const {
  std::string out = file;
  if (line > 0) {
    out += ':' + std::to_string(line);
    out += ':' + std::to_string(column > 0 ? column : 1);
  }
  out += ": ";
  out += message;
  return out;
}

}  // namespace jwtgate::config
