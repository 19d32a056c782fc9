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

void diagnostics::warning(mark where, std::string message) {
  warnings_.push_back({file_, where.line, where.column, std::move(message)});
}

std::vector<load_error> diagnostics::take_errors() { return in_file_order(std::move(errors_)); }

std::vector<load_error> diagnostics::take_warnings() { return in_file_order(std::move(warnings_)); }

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
