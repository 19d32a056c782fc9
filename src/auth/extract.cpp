#include "jwtgate/auth/extract.h"
#include "jwtgate/util/ascii.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace jwtgate::auth {
namespace {

bool is_space(char c) noexcept { return c == ' ' || c == '\t'; }

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Splits `s` on `sep` and calls f(piece) for each piece, empty ones included.
template <class F>
void split(std::string_view s, char sep, F&& f) {
  std::size_t pos = 0;
  while (true) {
    std::size_t next = s.find(sep, pos);
    f(s.substr(pos, next == std::string_view::npos ? std::string_view::npos : next - pos));
    if (next == std::string_view::npos) return;
    pos = next + 1;
  }
}

// Records a candidate; two different candidates from one source are ambiguous.
void offer(extraction& ex, std::string value, const config::token_source& source) {
  if (ex.result == extraction::outcome::none) {
    ex.result = extraction::outcome::found;
    ex.token = std::move(value);
    ex.source = &source;
  } else if (ex.result == extraction::outcome::found && ex.token != value) {
    ex.result = extraction::outcome::ambiguous;
    ex.token.clear();
  }
}

// The credential after the prefix, or nullopt when the value uses another scheme.
std::optional<std::string_view> strip_prefix(std::string_view value, std::string_view prefix) {
  std::string_view scheme = prefix;
  while (!scheme.empty() && is_space(scheme.back())) scheme.remove_suffix(1);
  bool needs_space = scheme.size() != prefix.size();
  if (value.size() < scheme.size() || !util::iequals(value.substr(0, scheme.size()), scheme)) return std::nullopt;
  std::string_view rest = value.substr(scheme.size());
  if (needs_space) {
    // "Bearer" alone (nothing after the scheme) is an empty credential;
    // "Bearerabc" is another scheme.
    if (!rest.empty() && !is_space(rest.front())) return std::nullopt;
  }
  return util::trim_ows(rest);
}

extraction from_header(const config::token_source& source, const header_view& headers) {
  extraction ex;
  if (headers.count(source.name) > 1) {
    // Two Authorization (or custom token) fields: which one would the backend
    // trust? Refuse instead of guessing.
    ex.result = extraction::outcome::ambiguous;
    return ex;
  }
  headers.for_each(source.name, [&](std::string_view value) {
    if (auto credential = strip_prefix(util::trim_ows(value), source.prefix)) offer(ex, std::string(*credential), source);
  });
  return ex;
}

extraction from_cookie(const config::token_source& source, const header_view& headers) {
  extraction ex;
  headers.for_each("Cookie", [&](std::string_view field) {
    split(field, ';', [&](std::string_view pair) {
      pair = util::trim_ows(pair);
      std::size_t eq = pair.find('=');
      if (eq == std::string_view::npos) return;
      if (util::trim_ows(pair.substr(0, eq)) != source.name) return;
      std::string_view value = util::trim_ows(pair.substr(eq + 1));
      // RFC 6265: a cookie-value may be wrapped in double quotes.
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
      offer(ex, std::string(value), source);
    });
  });
  return ex;
}

// The decoded name of one "name=value" query piece (raw when it does not decode).
std::string param_name(std::string_view piece) {
  std::string_view raw = piece.substr(0, piece.find('='));
  std::string decoded;
  if (!percent_decode(raw, decoded)) return std::string(raw);
  return decoded;
}

extraction from_query(const config::token_source& source, std::string_view query) {
  extraction ex;
  if (query.empty()) return ex;
  split(query, '&', [&](std::string_view piece) {
    if (piece.empty() || param_name(piece) != source.name) return;
    std::size_t eq = piece.find('=');
    std::string_view raw = eq == std::string_view::npos ? std::string_view{} : piece.substr(eq + 1);
    std::string value;
    // An undecodable value stays raw: its '%' makes it fail as malformed.
    if (!percent_decode(raw, value)) value.assign(raw);
    offer(ex, std::move(value), source);
  });
  return ex;
}

}  // namespace

bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (in.size() - i < 3) return false;
    int hi = hex_value(in[i + 1]);
    int lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

extraction extract_from(const config::token_source& source, const header_view& headers,
                        std::string_view query) {
  switch (source.type) {
    case config::token_source::kind::header: return from_header(source, headers);
    case config::token_source::kind::cookie: return from_cookie(source, headers);
    case config::token_source::kind::query: return from_query(source, query);
  }
  return {};
}

extraction extract_token(std::span<const config::token_source> sources, const header_view& headers,
                         std::string_view query) {
  for (const auto& source : sources) {
    extraction ex = extract_from(source, headers, query);
    if (ex.result != extraction::outcome::none) return ex;
  }
  return {};
}

bool same_source(const config::token_source& a, const config::token_source& b) noexcept {
  if (a.type != b.type) return false;
  if (a.type == config::token_source::kind::header) return util::iequals(a.name, b.name) && util::iequals(a.prefix, b.prefix);
  return a.name == b.name;
}

std::string remove_query_params(std::string_view query, std::span<const std::string> names) {
  std::string out;
  out.reserve(query.size());
  bool first = true;
  split(query, '&', [&](std::string_view piece) {
    if (!piece.empty() && std::find(names.begin(), names.end(), param_name(piece)) != names.end()) return;
    if (!first) out.push_back('&');
    out.append(piece);
    first = false;
  });
  return out;
}

std::optional<std::string> remove_cookies(const header_view& headers, std::span<const std::string> names) {
  std::string kept;
  bool removed = false;
  headers.for_each("Cookie", [&](std::string_view field) {
    split(field, ';', [&](std::string_view pair) {
      pair = util::trim_ows(pair);
      if (pair.empty()) return;
      std::string_view name = util::trim_ows(pair.substr(0, pair.find('=')));
      if (std::find(names.begin(), names.end(), name) != names.end()) {
        removed = true;
        return;
      }
      if (!kept.empty()) kept.append("; ");
      kept.append(pair);
    });
  });
  if (!removed) return std::nullopt;
  return kept;
}

}  // namespace jwtgate::auth
