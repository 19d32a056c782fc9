// libFuzzer target over CORS origin parsing and matching (SPEC section 10): the
// Origin header and Access-Control-Request-* values come straight from clients.
// Input: origin, '\n', method, '\n', requested headers.
#include <cstdint>
#include <string>
#include <string_view>

#include "jwtgate/routing/cors.h"

namespace {

jwtgate::routing::cors_policy make_policy(bool any) {
  jwtgate::routing::cors_settings s;
  s.allow_origins = any ? std::vector<std::string>{"*"}
                        : std::vector<std::string>{"https://app.example.com", "http://127.0.0.1:8080", "http://[::1]:3000"};
  s.allow_methods = {"GET", "POST"};
  s.allow_headers = {"Authorization", "Content-Type"};
  s.expose_headers = {"X-Request-Id"};
  s.allow_credentials = !any;
  s.max_age_seconds = 600;
  return jwtgate::routing::cors_policy(std::move(s));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto exact = make_policy(false);
  static const auto any = make_policy(true);
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto nl = in.find('\n');
  std::string_view origin = in.substr(0, nl);
  std::string_view rest = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  auto nl2 = rest.find('\n');
  std::string_view method = rest.substr(0, nl2);
  std::string_view headers = nl2 == std::string_view::npos ? std::string_view() : rest.substr(nl2 + 1);

  jwtgate::routing::origin o;
  std::string why;
  bool parsed = jwtgate::routing::parse_origin(origin, o, why);
  if (parsed) {
    // A parsed origin's views lie inside the input, and its serialization parses
    // back to the same origin.
    if (o.host.data() < origin.data() || o.host.data() + o.host.size() > origin.data() + origin.size()) __builtin_trap();
    std::string text = jwtgate::routing::serialize_origin(o);
    jwtgate::routing::origin again;
    if (!jwtgate::routing::parse_origin(text, again) || !jwtgate::routing::same_origin(o, again)) __builtin_trap();
  } else if (why.empty()) {
    __builtin_trap();
  }
  // Only a parsed origin is ever allowed, and "*" allows every parsed one.
  if (exact.allows_origin(origin) && !parsed) __builtin_trap();
  if (any.allows_origin(origin) != parsed) __builtin_trap();
  (void)exact.check_preflight(origin, method, headers);
  jwtgate::routing::cors_fields fields;
  (void)exact.response_fields(origin, fields);
  return 0;
}
