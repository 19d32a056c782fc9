#include "jwtgate/config/units.h"

#include <array>

namespace jwtgate::config {
namespace {

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

struct unit {
  std::string_view suffix;
  std::int64_t millis;
};
// Longest suffix first where one is a prefix of another ("ms" before "m").
constexpr std::array<unit, 4> units{{{"h", 3'600'000}, {"ms", 1}, {"m", 60'000}, {"s", 1'000}}};

int rank(std::int64_t millis) noexcept {  // larger unit, higher rank
  return millis == 3'600'000 ? 3 : millis == 60'000 ? 2 : millis == 1'000 ? 1 : 0;
}

// Reads a run of digits into `value`; false on overflow past `limit`.
bool read_number(std::string_view text, std::size_t& pos, std::uint64_t limit, std::uint64_t& value) {
  value = 0;
  while (pos < text.size() && is_digit(text[pos])) {
    std::uint64_t digit = static_cast<std::uint64_t>(text[pos] - '0');
    if (value > (limit - digit) / 10) return false;
    value = value * 10 + digit;
    ++pos;
  }
  return true;
}

std::string duration_hint(std::string_view text) {
  return "invalid duration '" + std::string(text) +
         "': expected a number of seconds or a number with a unit (ms, s, m, h), "
         "e.g. 250ms, 10s, 5m, 24h, 1h30m";
}

}  // namespace

bool parse_duration(std::string_view text, duration& out, std::string& error) {
  const auto limit = static_cast<std::uint64_t>(max_duration.count());
  const std::string too_large = "duration '" + std::string(text) + "' is too large (at most 87600h)";
  if (text.empty()) {
    error = "a duration must not be empty";
    return false;
  }
  if (text.front() == '-') {
    error = "invalid duration '" + std::string(text) + "': durations cannot be negative";
    return false;
  }
  std::size_t pos = 0;
  std::uint64_t total = 0;
  int previous_rank = 4;
  while (pos < text.size()) {
    if (!is_digit(text[pos])) {
      error = duration_hint(text);
      return false;
    }
    std::uint64_t amount = 0;
    if (!read_number(text, pos, limit, amount)) {
      error = too_large;
      return false;
    }
    if (pos == text.size()) {
      if (previous_rank != 4) {  // "1m30": a unit is missing on the last number
        error = duration_hint(text);
        return false;
      }
      amount *= 1000;  // a bare integer counts seconds
      if (amount > limit) {
        error = too_large;
        return false;
      }
      total = amount;
      break;
    }
    const unit* found = nullptr;
    for (const unit& u : units)
      if (text.substr(pos, u.suffix.size()) == u.suffix) {
        found = &u;
        break;
      }
    if (found == nullptr || rank(found->millis) >= previous_rank) {
      error = duration_hint(text);
      return false;
    }
    previous_rank = rank(found->millis);
    pos += found->suffix.size();
    const auto per_unit = static_cast<std::uint64_t>(found->millis);
    if (amount > limit / per_unit || total > limit - amount * per_unit) {
      error = too_large;
      return false;
    }
    total += amount * per_unit;
  }
  out = duration(static_cast<duration::rep>(total));
  return true;
}

bool parse_size(std::string_view text, std::uint64_t max, std::uint64_t& out, std::string& error) {
  if (text.empty()) {
    error = "expected a non-negative integer, got an empty value";
    return false;
  }
  if (text.front() == '-') {
    error = "'" + std::string(text) + "' is negative: expected a non-negative integer";
    return false;
  }
  std::size_t pos = 0;
  std::uint64_t value = 0;
  if (!read_number(text, pos, UINT64_MAX, value) || (pos == text.size() && value > max)) {
    error = "'" + std::string(text) + "' is too large (at most " + std::to_string(max) + ")";
    return false;
  }
  if (pos != text.size()) {
    error = "'" + std::string(text) + "' is not a non-negative integer (sizes are plain numbers of bytes)";
    return false;
  }
  out = value;
  return true;
}

std::string format_duration(duration d) {
  auto ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  for (const unit& u : {units[0], units[2], units[3], units[1]}) {
    if (ms >= u.millis) {
      out += std::to_string(ms / u.millis) + std::string(u.suffix);
      ms %= u.millis;
    }
  }
  return out;
}

}  // namespace jwtgate::config
