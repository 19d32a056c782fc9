#include "jwtgate/auth/identity.h"

#include <boost/json/serialize.hpp>

#include "jwtgate/jose/json.h"
#include "jwtgate/jose/verify.h"

namespace jwtgate::auth {
namespace {

bool all_strings(const boost::json::array& a) noexcept {
  for (const auto& v : a)
    if (!v.is_string()) return false;
  return true;
}

}  // namespace

bool safe_header_value(std::string_view value) noexcept {
  for (char ch : value) {
    auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c == 0x7F) return false;
  }
  return true;
}

encoded_claim encode_claim(const boost::json::value& claim, std::string& out) {
  out.clear();
  switch (claim.kind()) {
    case boost::json::kind::null:
      return encoded_claim::absent;
    case boost::json::kind::string:
      out.assign(claim.get_string().data(), claim.get_string().size());
      break;
    case boost::json::kind::array:
      if (all_strings(claim.get_array())) {
        bool first = true;
        for (const auto& v : claim.get_array()) {
          if (!first) out.push_back(',');
          out.append(v.get_string().data(), v.get_string().size());
          first = false;
        }
      } else {
        out = boost::json::serialize(claim);
      }
      break;
    case boost::json::kind::double_:
      // The same text claim checks compare against: "1.5", "1700000000".
      out = jose::claim_text(claim);
      break;
    default:  // integers, booleans, objects: JSON text
      out = boost::json::serialize(claim);
      break;
  }
  return safe_header_value(out) ? encoded_claim::ok : encoded_claim::unsafe;
}

jose::status identity_headers(const config::provider& provider, const boost::json::object& payload,
                              std::string_view payload_b64, header_list& out) {
  if (provider.cfg == nullptr) return jose::status::ok;
  std::string value;
  for (const auto& [header, path] : provider.cfg->headers) {
    const boost::json::value* claim = jose::find_claim(payload, path);
    if (claim == nullptr) continue;
    switch (encode_claim(*claim, value)) {
      case encoded_claim::absent: continue;
      case encoded_claim::unsafe: return jose::status::claim_mismatch;
      case encoded_claim::ok: out.emplace_back(header, value); break;
    }
  }
  if (!provider.cfg->payload_header.empty()) out.emplace_back(provider.cfg->payload_header, std::string(payload_b64));
  return jose::status::ok;
}

}  // namespace jwtgate::auth
