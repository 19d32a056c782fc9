#include "jwtgate/jose/json.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <exception>

#include <boost/json/basic_parser_impl.hpp>  // the parser template, instantiated here
#include <boost/json/serialize.hpp>
#include <boost/json/value_stack.hpp>

namespace jwtgate::jose {
namespace {

namespace json = boost::json;

// Builds the value exactly as boost::json::parser would, and counts every member
// name it sees. Boost.JSON folds duplicate names into one member while building
// an object, so comparing this count with the members of the finished tree
// detects a duplicate at any depth: each dropped member removes at least one name.
class counting_handler {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  counting_handler(unsigned char* temp, std::size_t temp_size) : stack(json::storage_ptr(), temp, temp_size) {}

  json::value_stack stack;
  std::size_t member_names = 0;

  bool on_document_begin(json::error_code&) { stack.reset(); return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(std::size_t n, json::error_code&) { stack.push_array(n); return true; }
  bool on_object_begin(json::error_code&) { return true; }
  bool on_object_end(std::size_t n, json::error_code&) { stack.push_object(n); return true; }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) { stack.push_chars(s); return true; }
  bool on_string(json::string_view s, std::size_t, json::error_code&) { stack.push_string(s); return true; }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) { stack.push_chars(s); return true; }
  bool on_key(json::string_view s, std::size_t, json::error_code&) {
    stack.push_key(s);
    ++member_names;
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t i, json::string_view, json::error_code&) { stack.push_int64(i); return true; }
  bool on_uint64(std::uint64_t u, json::string_view, json::error_code&) { stack.push_uint64(u); return true; }
  bool on_double(double d, json::string_view, json::error_code&) { stack.push_double(d); return true; }
  bool on_bool(bool b, json::error_code&) { stack.push_bool(b); return true; }
  bool on_null(json::error_code&) { stack.push_null(); return true; }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }
};

std::size_t count_member_names(const json::value& v) noexcept {
  std::size_t n = 0;
  if (const auto* o = v.if_object()) {
    n += o->size();
    for (const auto& member : *o) n += count_member_names(member.value());
  } else if (const auto* a = v.if_array()) {
    for (const auto& element : *a) n += count_member_names(element);
  }
  return n;
}

json::parse_options strict_options() noexcept {
  json::parse_options opt;
  opt.max_depth = max_json_depth;
  opt.allow_comments = false;
  opt.allow_trailing_commas = false;
  opt.allow_invalid_utf8 = false;
  return opt;
}

bool parse_strict(std::string_view text, json::object& out, std::string& error) {
  // The parser's working stack lives on our stack for typical token sizes.
  unsigned char temp[2048];
  json::basic_parser<counting_handler> parser(strict_options(), temp, sizeof temp);
  json::error_code ec;
  const std::size_t used = parser.write_some(false, text.data(), text.size(), ec);
  if (ec) {
    error = "invalid JSON: " + ec.message();
    return false;
  }
  if (used != text.size()) {
    error = "invalid JSON: unexpected data after the value";
    return false;
  }
  json::value root = parser.handler().stack.release();
  auto* object = root.if_object();
  if (object == nullptr) {
    error = "JSON value is not an object";
    return false;
  }
  if (count_member_names(root) != parser.handler().member_names) {
    error = "JSON object has a duplicate member name";
    return false;
  }
  out = std::move(*object);
  return true;
}

}  // namespace

bool parse_json_object(std::string_view text, boost::json::object& out, std::string& error) {
  try {
    return parse_strict(text, out, error);
  } catch (const std::exception& e) {  // allocation failure or a Boost.JSON size limit
    error = std::string("invalid JSON: ") + e.what();
    return false;
  }
}

std::string claim_text(const boost::json::value& v) {
  char buf[32];
  switch (v.kind()) {
    case json::kind::string: return std::string(v.get_string());
    case json::kind::bool_: return v.get_bool() ? "true" : "false";
    case json::kind::null: return "null";
    case json::kind::int64: {
      auto r = std::to_chars(buf, buf + sizeof buf, v.get_int64());
      return std::string(buf, r.ptr);
    }
    case json::kind::uint64: {
      auto r = std::to_chars(buf, buf + sizeof buf, v.get_uint64());
      return std::string(buf, r.ptr);
    }
    case json::kind::double_: {
      const double d = v.get_double();
      // 2^53: every integral double below it prints exactly as an integer.
      if (std::trunc(d) == d && std::fabs(d) < 9007199254740992.0) {
        auto r = std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(d));
        return std::string(buf, r.ptr);
      }
      auto r = std::to_chars(buf, buf + sizeof buf, d);
      return std::string(buf, r.ptr);
    }
    case json::kind::array:
    case json::kind::object: return json::serialize(v);
  }
  return {};
}

}  // namespace jwtgate::jose
