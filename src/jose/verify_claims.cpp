#include "jwtgate/jose/json.h"
#include "jwtgate/jose/verify.h"

namespace jwtgate::jose {
namespace {

namespace json = boost::json;

bool contains(const std::vector<std::string>& list, std::string_view s) noexcept {
  for (const auto& item : list)
    if (item == s) return true;
  return false;
}

// A claim counts as present unless absent or JSON null.
const json::value* present_claim(const json::object& payload, std::string_view path) noexcept {
  const auto* v = find_claim(payload, path);
  return v != nullptr && !v->is_null() ? v : nullptr;
}

status check_audience(const json::value& aud, const std::vector<std::string>& accepted) {
  if (const auto* s = aud.if_string()) return contains(accepted, *s) ? status::ok : status::audience_mismatch;
  if (const auto* a = aud.if_array()) {
    for (const auto& element : *a)
      if (const auto* s = element.if_string(); s != nullptr && contains(accepted, *s)) return status::ok;
  }
  return status::audience_mismatch;
}

bool scalar_matches(const json::value& v, const std::vector<std::string>& any_of) {
  if (v.is_array() || v.is_object() || v.is_null()) return false;
  if (const auto* s = v.if_string()) return contains(any_of, *s);
  return contains(any_of, claim_text(v));
}

// Like find_claim, but tells a claim that is absent from one that cannot be
// reached because a member on its path is not an object (a wrong JSON type).
const json::value* lookup_claim(const json::object& payload, std::string_view path, bool& wrong_type) noexcept {
  wrong_type = false;
  if (const auto* whole = payload.if_contains(path)) return whole->is_null() ? nullptr : whole;
  const json::object* current = &payload;
  for (;;) {
    const auto dot = path.find('.');
    const auto* v = current->if_contains(path.substr(0, dot));
    if (v == nullptr || v->is_null()) return nullptr;
    if (dot == std::string_view::npos) return v;
    current = v->if_object();
    if (current == nullptr) {
      wrong_type = true;
      return nullptr;
    }
    path.remove_prefix(dot + 1);
  }
}

bool type_accepted(const json::object& header, const std::vector<std::string>& types) {
  const auto* typ = header.if_contains("typ");
  if (typ == nullptr || !typ->is_string()) return false;
  std::string short_form = media_type_short_form(typ->get_string());
  return contains(types, short_form);
}

}  // namespace

std::string media_type_short_form(std::string_view typ) {
  std::string out;
  constexpr std::string_view prefix = "application/";
  if (typ.size() > prefix.size()) {
    bool has_prefix = true;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
      char c = typ[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      has_prefix = has_prefix && c == prefix[i];
    }
    if (has_prefix) typ.remove_prefix(prefix.size());
  }
  for (char c : typ) out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  return out;
}

const json::value* find_claim(const json::object& payload, std::string_view dotted_path) noexcept {
  // A claim whose name itself contains dots ("https://example.com/roles") is
  // found by its whole name first.
  if (const auto* whole = payload.if_contains(dotted_path)) return whole;
  const json::object* current = &payload;
  for (;;) {
    const auto dot = dotted_path.find('.');
    const auto* v = current->if_contains(dotted_path.substr(0, dot));
    if (v == nullptr || dot == std::string_view::npos) return v;
    current = v->if_object();
    if (current == nullptr) return nullptr;
    dotted_path.remove_prefix(dot + 1);
  }
}

bool claim_matches(const json::value& value, const claim_requirement& req) {
  if (const auto* a = value.if_array()) {
    for (const auto& element : *a)
      if (scalar_matches(element, req.any_of)) return true;
    return false;
  }
  return scalar_matches(value, req.any_of);
}

status verify_claims(const jwt& token, const claim_rules& rules, std::int64_t now_unix) {
  if (!rules.types.empty() && !type_accepted(token.header, rules.types)) return status::type_mismatch;
  const double now = static_cast<double>(now_unix);
  const double skew = static_cast<double>(rules.clock_skew.count());
  if (token.exp && !(now < *token.exp + skew)) return status::expired;
  if (token.nbf && !(now >= *token.nbf - skew)) return status::not_yet_valid;

  const json::object& payload = token.payload;
  if (rules.issuer) {
    const auto* iss = present_claim(payload, "iss");
    if (iss == nullptr) return status::missing_claim;
    if (!iss->is_string() || iss->get_string() != *rules.issuer) return status::issuer_mismatch;
  }
  if (!rules.audiences.empty()) {
    const auto* aud = present_claim(payload, "aud");
    if (aud == nullptr) return status::missing_claim;
    if (auto s = check_audience(*aud, rules.audiences); s != status::ok) return s;
  }
  for (const auto& name : rules.required) {
    bool wrong_type = false;
    if (lookup_claim(payload, name, wrong_type) == nullptr)
      return wrong_type ? status::claim_mismatch : status::missing_claim;
  }
  if (rules.max_lifetime) {
    if (!token.iat || !token.exp) return status::missing_claim;
    if (*token.exp - *token.iat > static_cast<double>(rules.max_lifetime->count())) return status::lifetime_exceeded;
  }
  for (const auto& req : rules.claims) {
    bool wrong_type = false;
    const auto* v = lookup_claim(payload, req.path, wrong_type);
    if (v == nullptr) return wrong_type ? status::claim_mismatch : status::missing_claim;
    if (!claim_matches(*v, req)) return status::claim_mismatch;
  }
  return status::ok;
}

}  // namespace jwtgate::jose
