#pragma once
// Durations and sizes as they are written in the configuration file (SPEC
// section 2). Shared with the command line (`mint --ttl 15m`).

#include <cstdint>
#include <string>
#include <string_view>

#include "jwtgate/config/config.h"

namespace jwtgate::config {

// The largest duration accepted anywhere (10 years): keeps every later
// `now + duration` far away from overflow.
inline constexpr duration max_duration = std::chrono::hours(24 * 365 * 10);

// "250ms", "10s", "5m", "24h", compound forms with units in decreasing order
// ("1h30m", "1m30s", "2s500ms"), or a bare integer number of seconds ("30").
// No sign, no fraction, no spaces. Returns false and sets `error` otherwise.
bool parse_duration(std::string_view text, duration& out, std::string& error);

// A non-negative decimal integer no larger than `max` (no sign, no unit).
bool parse_size(std::string_view text, std::uint64_t max, std::uint64_t& out, std::string& error);

// The shortest exact compound form ("1h30m", "250ms", "0s").
std::string format_duration(duration d);

}  // namespace jwtgate::config
