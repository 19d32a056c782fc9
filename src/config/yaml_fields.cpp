#include "config/yaml_fields.h"

#include <set>

#include "jwtgate/config/units.h"

namespace jwtgate::config::yaml {
namespace {

bool is_scalar(const YAML::Node& n) { return n.Type() == YAML::NodeType::Scalar; }

void type_error(const field_value& v, diagnostics& d, std::string_view expected) {
  d.error(v.where, v.path + ": expected " + std::string(expected) + ", got " +
                       std::string(kind_name(v.node)));
}

// Keys must be plain strings; reports and returns false otherwise.
bool key_text(const YAML::Node& key, const field_value& parent, diagnostics& d, std::string& out) {
  if (!is_scalar(key)) {
    d.error(mark_of(key, parent.where),
            "keys must be strings in " + (parent.path.empty() ? std::string("the top level") : parent.path));
    return false;
  }
  out = key.Scalar();
  return true;
}

std::string child_path(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

std::string context_name(const std::string& path) {
  return path.empty() ? std::string("at the top level") : "in " + path;
}

}  // namespace

mark mark_of(const YAML::Node& node, mark fallback) {
  if (!node.IsDefined()) return fallback;
  const YAML::Mark m = node.Mark();
  if (m.line < 0 || m.column < 0) return fallback;
  return {m.line + 1, m.column + 1};
}

std::string_view kind_name(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Null: return "nothing (null)";
    case YAML::NodeType::Undefined: break;
  }
  return "nothing";
}

bool read_fields(const field_value& map, std::span<const field> fields, diagnostics& d) {
  return read_named_entries(map, d, [&](const std::string& name, mark name_where, const field_value& value) {
    for (const field& f : fields)
      if (f.name == name) {
        // `key:` or `key: null` means the same as leaving the key out: its default.
        if (!value.node.IsNull()) f.read(value);
        return;
      }
    d.error(name_where, "unknown key '" + name + "' " + context_name(map.path));
  });
}

bool read_named_entries(const field_value& map, diagnostics& d,
                        const std::function<void(const std::string&, mark, const field_value&)>& each) {
  if (map.node.IsNull() || !map.node.IsDefined()) return true;
  if (!map.node.IsMap()) {
    type_error(map, d, "a mapping");
    return false;
  }
  std::set<std::string> seen;
  for (const auto& entry : map.node) {
    if (!d.take_visit()) return false;
    std::string name;
    if (!key_text(entry.first, map, d, name)) continue;
    const mark name_where = mark_of(entry.first, map.where);
    if (!seen.insert(name).second) {
      d.error(name_where, "duplicate key '" + name + "' " + context_name(map.path));
      continue;
    }
    // A scalar is reported where it is written; a block mapping or list starts on
    // the next line, so its key is the better place to point at.
    const mark value_where = entry.second.IsScalar() ? mark_of(entry.second, name_where) : name_where;
    each(name, name_where, field_value{entry.second, child_path(map.path, name), value_where});
  }
  return true;
}

bool read_list(const field_value& list, diagnostics& d, const std::function<void(const field_value&)>& each) {
  if (list.node.IsNull() || !list.node.IsDefined()) return true;
  if (!list.node.IsSequence()) {
    type_error(list, d, "a list");
    return false;
  }
  std::size_t index = 0;
  for (const auto& item : list.node) {
    if (!d.take_visit()) return false;
    YAML::Node node = item;
    each(field_value{node, list.path + "[" + std::to_string(index) + "]", mark_of(node, list.where)});
    ++index;
  }
  return true;
}

bool read_string(const field_value& v, diagnostics& d, std::string& out, bool allow_empty) {
  if (!is_scalar(v.node)) {
    type_error(v, d, "a string");
    return false;
  }
  const std::string& text = v.node.Scalar();
  if (text.empty() && !allow_empty) {
    d.error(v.where, v.path + ": must not be empty");
    return false;
  }
  for (unsigned char c : text)
    if (c < 0x20 || c == 0x7f) {
      d.error(v.where, v.path + ": control characters are not allowed");
      return false;
    }
  out = text;
  return true;
}

bool read_bool(const field_value& v, diagnostics& d, bool& out) {
  // YAML 1.2 core schema only: `yes`, `on`, `1` are refused rather than guessed.
  if (is_scalar(v.node)) {
    const std::string& t = v.node.Scalar();
    if (t == "true" || t == "True" || t == "TRUE") return out = true, true;
    if (t == "false" || t == "False" || t == "FALSE") return out = false, true;
  }
  type_error(v, d, "true or false");
  return false;
}

bool read_duration(const field_value& v, diagnostics& d, duration& out) {
  if (!is_scalar(v.node)) {
    type_error(v, d, "a duration (250ms, 10s, 5m, 24h or a number of seconds)");
    return false;
  }
  std::string error;
  if (!parse_duration(v.node.Scalar(), out, error)) {
    d.error(v.where, v.path + ": " + error);
    return false;
  }
  return true;
}

bool read_unsigned(const field_value& v, diagnostics& d, std::uint64_t max, std::uint64_t& out) {
  if (!is_scalar(v.node)) {
    type_error(v, d, "a non-negative integer");
    return false;
  }
  std::string error;
  if (!parse_size(v.node.Scalar(), max, out, error)) {
    d.error(v.where, v.path + ": " + error);
    return false;
  }
  return true;
}

bool read_port(const field_value& v, diagnostics& d, std::uint16_t& out) {
  std::uint64_t value = 0;
  if (!is_scalar(v.node)) {
    type_error(v, d, "a port number (0..65535)");
    return false;
  }
  std::string error;
  if (!parse_size(v.node.Scalar(), 65535, value, error)) {
    d.error(v.where, v.path + ": invalid port '" + v.node.Scalar() + "': expected an integer from 0 to 65535");
    return false;
  }
  out = static_cast<std::uint16_t>(value);
  return true;
}

bool read_string_list(const field_value& v, diagnostics& d, std::vector<std::string>& out) {
  std::vector<std::string> values;
  bool ok = true;
  if (!read_list(v, d, [&](const field_value& item) {
        std::string text;
        if (read_string(item, d, text)) values.push_back(std::move(text));
        else ok = false;
      }))
    ok = false;
  if (ok) out = std::move(values);
  return ok;
}

}  // namespace jwtgate::config::yaml
