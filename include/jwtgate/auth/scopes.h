#pragma once
// Route requirements, checked after the token is verified (403, not 401):
// every route scope must be granted, and every route claim must match one of
// its accepted values.

#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "jwtgate/config/config.h"

namespace jwtgate::auth {

// The scopes a token grants: `scope` (space-separated string, RFC 8693) and
// `scp` (array of strings, or a space-separated string), united.
std::vector<std::string_view> granted_scopes(const boost::json::object& payload);

// All of `auth.scopes` granted and every `auth.claims` requirement met.
bool route_requirements_met(const config::route_auth& auth, const boost::json::object& payload);

}  // namespace jwtgate::auth
