#pragma once
// Strict JSON for token headers, payloads and JWKS documents, on Boost.JSON.
// On top of RFC 8259 (which Boost.JSON already enforces, UTF-8 included) it
// refuses what lets two parsers disagree about one token: duplicate member
// names at any depth (Boost.JSON would silently keep one), a top level that is
// not an object, anything after the value, and nesting deeper than
// `max_json_depth`.

#include <cstddef>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace jwtgate::jose {

inline constexpr std::size_t max_json_depth = 32;

// Parses `text` as one JSON object. Returns false and sets `error` to a short
// reason on refusal. Never throws.
bool parse_json_object(std::string_view text, boost::json::object& out, std::string& error);

// The text a scalar claim is compared and injected as: strings as they are,
// integers in decimal, integral doubles without a fraction ("1700000000"),
// other doubles in their shortest round-trip form, booleans as true/false,
// null as "null". Arrays and objects become compact JSON.
std::string claim_text(const boost::json::value& v);

}  // namespace jwtgate::jose
