#pragma once
// A parsed (not yet verified) JWS compact token. Parsing is strict: it enforces
// every structural rule of SPEC section 3 and never looks at keys.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "jwtgate/jose/alg.h"
#include "jwtgate/jose/status.h"

namespace jwtgate::jose {

inline constexpr std::size_t max_token_bytes = 16 * 1024;

struct jwt {
  std::string_view signing_input;  // "header.payload", a view into the token passed to parse()
  std::string alg_name;            // the header's `alg` as written
  std::optional<alg> algorithm;    // nullopt: `none` or unknown (-> alg_not_allowed)
  std::optional<std::string> kid;
  std::string signature;           // decoded bytes
  boost::json::object header;
  boost::json::object payload;
  std::optional<double> exp, nbf, iat;  // validated to be JSON numbers when present
};

// ok, malformed or unsupported_token. The token must outlive `out.signing_input`.
status parse(std::string_view token, jwt& out);

}  // namespace jwtgate::jose
