#pragma once
// The /revocations admin API (SPEC 8): POST adds an entry, DELETE removes one,
// GET lists them, each behind `Authorization: Bearer <admin token>` compared
// in constant time. Runs on the control loop; knows HTTP only as strings.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "jwtgate/revocation/service.h"

namespace jwtgate::revocation {

struct api_request {
  std::string_view method;
  std::string_view path;           // without the query
  std::string_view authorization;  // the Authorization header ("" when absent)
  unsigned authorization_count = 0;
  std::string_view body;
};

struct api_response {
  unsigned status = 200;
  std::string body;              // JSON
  std::string www_authenticate;  // empty: none
};

inline constexpr std::string_view api_path = "/revocations";

// `svc` nullptr: revocation is not configured (404). `admin_token` empty: the
// variable admin_token_env names is unset, so the API is closed (403).
void handle_api(service* svc, std::string_view admin_token, const api_request& req,
                std::function<void(api_response)> done);

// Constant-time equality of a presented secret with the expected one.
bool same_secret(std::string_view presented, std::string_view expected) noexcept;

}  // namespace jwtgate::revocation
