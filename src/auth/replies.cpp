#include "jwtgate/auth/replies.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace jwtgate::auth {
namespace {

constexpr std::string_view realm = R"(Bearer realm="jwtgate")";

std::string json_body(std::string_view error, std::string_view description, std::string_view reason) {
  boost::json::object body;
  body["error"] = error;
  body["error_description"] = description;
  if (!reason.empty()) body["reason"] = reason;
  return boost::json::serialize(body);
}

}  // namespace

std::string quoted_string(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    // Header values never carry CR, LF or NUL, whatever the source.
    if (c == '\r' || c == '\n' || c == '\0') continue;
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string_view error_name(unsigned status) noexcept {
  switch (status) {
    case 400: return "bad_request";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 408: return "request_timeout";
    case 413: return "payload_too_large";
    case 431: return "request_header_fields_too_large";
    case 500: return "internal_error";
    case 502: return "bad_gateway";
    case 503: return "service_unavailable";
    case 504: return "gateway_timeout";
    default: return "error";
  }
}

std::string error_body(unsigned status, std::string_view description) {
  return json_body(error_name(status), description, {});
}

reply missing_token_reply() {
  reply r;
  r.status = 401;
  r.www_authenticate = std::string(realm);
  r.body = json_body("missing_token", jose::describe(jose::status::missing_token), "missing_token");
  return r;
}

reply invalid_token_reply(jose::status reason) {
  std::string_view description = jose::describe(reason);
  reply r;
  r.status = 401;
  r.www_authenticate = std::string(realm) + R"(, error="invalid_token", error_description=)" +
                       quoted_string(description);
  r.body = json_body("invalid_token", description, jose::to_string(reason));
  return r;
}

reply insufficient_scope_reply(std::span<const std::string> scopes) {
  std::string joined;
  for (const auto& s : scopes) {
    if (!joined.empty()) joined.push_back(' ');
    joined.append(s);
  }
  std::string_view description = jose::describe(jose::status::insufficient_scope);
  reply r;
  r.status = 403;
  r.www_authenticate = std::string(realm) + R"(, error="insufficient_scope")";
  if (!joined.empty()) r.www_authenticate += ", scope=" + quoted_string(joined);
  r.body = json_body("insufficient_scope", description, "insufficient_scope");
  return r;
}

reply bad_request_reply(std::string_view description, std::string_view reason) {
  reply r;
  r.status = 400;
  r.body = json_body("bad_request", description, reason);
  return r;
}

reply forbidden_reply(std::string_view description) {
  reply r;
  r.status = 403;
  r.body = json_body("forbidden", description, {});
  return r;
}

reply not_found_reply() {
  reply r;
  r.status = 404;
  r.body = json_body("not_found", "no route matches this request", {});
  return r;
}

}  // namespace jwtgate::auth
