#pragma once
// One revocation entry (SPEC section 8): the token with a given `jti`, every
// token of a subject issued before a time, or every token of a session `sid`,
// each optionally limited to one issuer. Parsing is pure and strict: the admin
// API, the journal, the Redis store and the CLI all go through it.

#include <cstdint>
#include <string>
#include <string_view>

namespace jwtgate::revocation {

enum class kind : std::uint8_t { jti = 0, sub = 1, sid = 2 };
inline constexpr std::size_t kind_count = 3;

std::string_view to_string(kind k) noexcept;

// Longest `jti`, `sub`, `sid` or `iss` value an entry may carry.
inline constexpr std::size_t max_value_bytes = 1024;

struct entry {
  kind type = kind::jti;
  std::string value;        // the jti, sub or sid
  std::string iss;          // empty: any issuer
  std::int64_t before = 0;  // sub only: tokens with iat < before (or no iat) match
  std::int64_t exp = 0;     // unix seconds; the entry is dropped at this time

  // Entries with the same kind, value and iss are the same entry: a second
  // POST replaces the first, a DELETE names it without before/exp.
  bool same_identity(const entry& o) const noexcept {
    return type == o.type && value == o.value && iss == o.iss;
  }
};

struct parse_defaults {
  std::int64_t now = 0;          // unix seconds: the default `before`
  std::int64_t default_ttl = 0;  // seconds: exp = now + default_ttl when absent
};

// Parses an entry from its JSON text ({"jti": J} | {"sub": S, "before": T} |
// {"sid": X}, each with optional "iss" and "exp"). Unknown members, wrong types,
// empty or overlong values, an exp not after `now` are refused with a message
// naming the problem. Never throws.
bool parse_entry(std::string_view json, const parse_defaults& defaults, entry& out, std::string& error);

// The canonical JSON of an entry, every member present ("iss" only when set,
// "before" only for sub).
std::string to_json(const entry& e);

}  // namespace jwtgate::revocation
