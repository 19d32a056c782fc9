#include "jwtgate/auth/scopes.h"

#include <algorithm>

#include "jwtgate/jose/verify.h"

namespace jwtgate::auth {
namespace {

void add_space_separated(std::string_view s, std::vector<std::string_view>& out) {
  std::size_t pos = 0;
  while (pos < s.size()) {
    std::size_t end = s.find(' ', pos);
    if (end == std::string_view::npos) end = s.size();
    if (end > pos) out.push_back(s.substr(pos, end - pos));
    pos = end + 1;
  }
}

void add_claim(const boost::json::value* v, std::vector<std::string_view>& out) {
  if (v == nullptr) return;
  if (v->is_string()) {
    add_space_separated(v->get_string(), out);
  } else if (v->is_array()) {
    for (const auto& e : v->get_array())
      if (e.is_string()) out.push_back(e.get_string());
  }
}

}  // namespace

std::vector<std::string_view> granted_scopes(const boost::json::object& payload) {
  std::vector<std::string_view> out;
  if (auto it = payload.find("scope"); it != payload.end()) add_claim(&it->value(), out);
  if (auto it = payload.find("scp"); it != payload.end()) add_claim(&it->value(), out);
  return out;
}

bool route_requirements_met(const config::route_auth& auth, const boost::json::object& payload) {
  if (!auth.scopes.empty()) {
    std::vector<std::string_view> granted = granted_scopes(payload);
    for (const auto& needed : auth.scopes)
      if (std::find(granted.begin(), granted.end(), std::string_view(needed)) == granted.end()) return false;
  }
  for (const auto& req : auth.claims) {
    const boost::json::value* claim = jose::find_claim(payload, req.path);
    if (claim == nullptr || !jose::claim_matches(*claim, req)) return false;
  }
  return true;
}

}  // namespace jwtgate::auth
