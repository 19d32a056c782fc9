#include "jwtgate/revocation/entry.h"

#include <cmath>
#include <limits>

#include <boost/json/serialize.hpp>

#include "jwtgate/jose/json.h"

namespace jwtgate::revocation {
namespace {

namespace json = boost::json;

// Unix seconds as JSON: an integer, or a double with no fraction. Anything
// else (a string, a fraction, a negative or absurd value) is refused: an entry
// whose times an operator misread is worse than a clear 400.
bool unix_seconds(const json::value& v, std::int64_t& out) {
  constexpr std::int64_t max_seconds = std::int64_t(1) << 40;  // year ~36800
  if (v.is_int64()) {
    out = v.get_int64();
  } else if (v.is_uint64()) {
    if (v.get_uint64() > static_cast<std::uint64_t>(max_seconds)) return false;
    out = static_cast<std::int64_t>(v.get_uint64());
  } else if (v.is_double()) {
    double d = v.get_double();
    if (!std::isfinite(d) || d != std::floor(d) || d < 0 || d > static_cast<double>(max_seconds)) return false;
    out = static_cast<std::int64_t>(d);
  } else {
    return false;
  }
  return out >= 0 && out <= max_seconds;
}

bool string_member(const json::value& v, std::string_view name, std::string& out, std::string& error) {
  if (!v.is_string()) {
    error = "\"" + std::string(name) + "\" must be a string";
    return false;
  }
  const auto& s = v.get_string();
  if (s.empty()) {
    error = "\"" + std::string(name) + "\" must not be empty";
    return false;
  }
  if (s.size() > max_value_bytes) {
    error = "\"" + std::string(name) + "\" is longer than " + std::to_string(max_value_bytes) + " bytes";
    return false;
  }
  out.assign(s.data(), s.size());
  return true;
}

}  // namespace

std::string_view to_string(kind k) noexcept {
  switch (k) {
    case kind::jti: return "jti";
    case kind::sub: return "sub";
    case kind::sid: return "sid";
  }
  return "unknown";
}

bool parse_entry(std::string_view text, const parse_defaults& defaults, entry& out, std::string& error) {
  json::object obj;
  std::string why;
  if (!jose::parse_json_object(text, obj, why)) {
    error = "the entry is not a JSON object: " + why;
    return false;
  }
  entry e;
  int kinds = 0;
  bool has_before = false, has_exp = false;
  for (const auto& member : obj) {
    std::string_view key(member.key().data(), member.key().size());
    const json::value& v = member.value();
    if (key == "jti" || key == "sub" || key == "sid") {
      ++kinds;
      e.type = key == "jti" ? kind::jti : key == "sub" ? kind::sub : kind::sid;
      if (!string_member(v, key, e.value, error)) return false;
    } else if (key == "iss") {
      if (!string_member(v, key, e.iss, error)) return false;
    } else if (key == "before") {
      has_before = true;
      if (!unix_seconds(v, e.before)) {
        error = "\"before\" must be a time in unix seconds (a non-negative integer)";
        return false;
      }
    } else if (key == "exp") {
      has_exp = true;
      if (!unix_seconds(v, e.exp)) {
        error = "\"exp\" must be a time in unix seconds (a non-negative integer)";
        return false;
      }
    } else {
      error = "unknown member \"" + std::string(key) + "\" (an entry has one of jti, sub, sid, and optionally iss, exp, and before for sub)";
      return false;
    }
  }
  if (kinds != 1) {
    error = kinds == 0 ? "the entry needs one of \"jti\", \"sub\" or \"sid\""
                       : "the entry must have exactly one of \"jti\", \"sub\" or \"sid\"";
    return false;
  }
  if (has_before && e.type != kind::sub) {
    error = "\"before\" applies to \"sub\" entries only";
    return false;
  }
  if (e.type == kind::sub && !has_before) e.before = defaults.now;
  if (!has_exp) e.exp = defaults.now + defaults.default_ttl;
  if (e.exp <= defaults.now) {
    error = "\"exp\" is not in the future: the entry would be dropped at once";
    return false;
  }
  out = std::move(e);
  return true;
}

std::string to_json(const entry& e) {
  json::object o;
  o[to_string(e.type)] = e.value;
  if (e.type == kind::sub) o["before"] = e.before;
  if (!e.iss.empty()) o["iss"] = e.iss;
  o["exp"] = e.exp;
  return json::serialize(o);
}

}  // namespace jwtgate::revocation
