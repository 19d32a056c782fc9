#include "jwtgate/jose/jwt.h"

#include <algorithm>
#include <array>

#include "jwtgate/jose/base64url.h"
#include "jwtgate/jose/json.h"

namespace jwtgate::jose {
namespace {

// Decodes one base64url part holding a JSON object.
bool decode_json_part(std::string_view encoded, std::string& scratch, boost::json::object& out) {
  if (!base64url_decode(encoded, scratch)) return false;
  std::string ignored_error;
  return parse_json_object(scratch, out, ignored_error);
}

// exp/nbf/iat: absent, or a JSON number (integer or fraction). Anything else,
// null included, is a type error that must not be read as "absent".
bool read_time_claim(const boost::json::object& payload, std::string_view name, std::optional<double>& out) {
  const auto* v = payload.if_contains(name);
  if (v == nullptr) return true;
  if (!v->is_number()) return false;
  out = v->to_number<double>();
  return true;
}

status check_header(jwt& out) {
  const auto* alg_value = out.header.if_contains("alg");
  if (alg_value == nullptr || !alg_value->is_string()) return status::malformed;
  out.alg_name = std::string(alg_value->get_string());
  out.algorithm = parse_alg(out.alg_name);  // `none` and unknown names stay nullopt

  // A critical extension we do not implement must be refused (RFC 7515 4.1.11);
  // we implement none, so any `crit` is refused.
  if (out.header.contains("crit")) return status::malformed;
  // RFC 7797 unencoded payloads change what is signed: only the default is allowed.
  if (const auto* b64 = out.header.if_contains("b64"); b64 != nullptr && !(b64->is_bool() && b64->get_bool()))
    return status::malformed;

  if (const auto* kid = out.header.if_contains("kid")) {
    if (!kid->is_string()) return status::malformed;
    out.kid = std::string(kid->get_string());
  }
  return status::ok;
}

}  // namespace

status parse(std::string_view token, jwt& out) {
  out = jwt{};
  if (token.size() > max_token_bytes) return status::malformed;

  // Split on '.', counting all parts so that a JWE (5 parts) is told apart.
  std::array<std::size_t, 4> dots{};
  std::size_t dot_count = 0;
  for (std::size_t i = 0; i < token.size(); ++i) {
    if (token[i] != '.') continue;
    if (dot_count < dots.size()) dots[dot_count] = i;
    ++dot_count;
  }
  if (dot_count == 4) return status::unsupported_token;
  if (dot_count != 2) return status::malformed;

  const std::string_view header_b64 = token.substr(0, dots[0]);
  const std::string_view payload_b64 = token.substr(dots[0] + 1, dots[1] - dots[0] - 1);
  const std::string_view signature_b64 = token.substr(dots[1] + 1);
  if (signature_b64.empty()) return status::malformed;

  std::string scratch;
  scratch.reserve(base64url_decoded_size(std::max(header_b64.size(), payload_b64.size())));
  if (!decode_json_part(header_b64, scratch, out.header)) return status::malformed;
  if (!decode_json_part(payload_b64, scratch, out.payload)) return status::malformed;
  if (!base64url_decode(signature_b64, out.signature)) return status::malformed;

  if (auto s = check_header(out); s != status::ok) return s;
  if (!read_time_claim(out.payload, "exp", out.exp) || !read_time_claim(out.payload, "nbf", out.nbf) ||
      !read_time_claim(out.payload, "iat", out.iat))
    return status::malformed;

  out.signing_input = token.substr(0, dots[1]);
  return status::ok;
}

}  // namespace jwtgate::jose
