#pragma once
// Identity headers built from verified claims (SPEC section 3): strings as they
// are, numbers and booleans as JSON text, arrays of strings joined with ",",
// objects and other arrays as compact JSON. An absent (or null) claim sets no
// header. A value that would carry CR, LF, NUL or any other control character
// but HTAB fails the whole request with claim_mismatch: a claim can never split
// or forge a header.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "jwtgate/config/snapshot.h"
#include "jwtgate/jose/status.h"

namespace jwtgate::auth {

using header_list = std::vector<std::pair<std::string, std::string>>;

enum class encoded_claim { ok, absent, unsafe };

// The header value of one claim.
encoded_claim encode_claim(const boost::json::value& claim, std::string& out);

// Is `value` safe as a header field value (no control character but HTAB)?
bool safe_header_value(std::string_view value) noexcept;

// Appends the provider's `headers` (file order) and `payload_header` (the
// token's payload part as received, already base64url) to `out`. ok, or
// claim_mismatch when a value is unsafe.
jose::status identity_headers(const config::provider& provider, const boost::json::object& payload,
                              std::string_view payload_b64, header_list& out);

}  // namespace jwtgate::auth
