#pragma once
// Typed reads of yaml-cpp nodes with FILE:LINE:COL diagnostics. Every reader
// reports its own problem and returns false, so a caller keeps going and the
// whole file is checked in one pass. yaml-cpp's own conversions (which throw
// and accept YAML 1.1 spellings like `yes`) are never used.

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/diagnostics.h"
#include "jwtgate/config/config.h"

namespace jwtgate::config::yaml {

// A value with the dotted path that names it in messages ("providers.corp.issuer")
// and the best position for it (a scalar's own, else its key's).
struct field_value {
  YAML::Node node;
  std::string path;
  mark where;
};

mark mark_of(const YAML::Node& node, mark fallback = {});

// "a mapping", "a list", "a string", "nothing" (null)...
std::string_view kind_name(const YAML::Node& node);

struct field {
  std::string_view name;
  std::function<void(const field_value&)> read;
};

// Calls each key's reader in file order. Unknown, duplicate and non-string keys
// are errors. A key whose value is null is treated as absent (its default). A
// null node counts as an empty mapping. False (reported) when the
// node is neither a mapping nor null.
bool read_fields(const field_value& map, std::span<const field> fields, diagnostics& d);

// Calls `each(name, value)` for every entry of a mapping whose keys are names
// chosen by the operator (upstreams, providers, claims, headers). Duplicate and
// non-string keys are errors.
bool read_named_entries(const field_value& map, diagnostics& d,
                        const std::function<void(const std::string& name, mark name_where,
                                                 const field_value& value)>& each);

// Calls `each(item)` for every element of a list; a null node is an empty list.
bool read_list(const field_value& list, diagnostics& d,
               const std::function<void(const field_value& item)>& each);

bool read_string(const field_value& v, diagnostics& d, std::string& out, bool allow_empty = false);
bool read_bool(const field_value& v, diagnostics& d, bool& out);
bool read_duration(const field_value& v, diagnostics& d, duration& out);
bool read_unsigned(const field_value& v, diagnostics& d, std::uint64_t max, std::uint64_t& out);
bool read_port(const field_value& v, diagnostics& d, std::uint16_t& out);
bool read_string_list(const field_value& v, diagnostics& d, std::vector<std::string>& out);

template <class Int>
bool read_count(const field_value& v, diagnostics& d, std::uint64_t max, Int& out) {
  std::uint64_t value = 0;
  if (!read_unsigned(v, d, max, value)) return false;
  out = static_cast<Int>(value);
  return true;
}

}  // namespace jwtgate::config::yaml
