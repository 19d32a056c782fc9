#pragma once
// The one list of reasons a token (or a request's auth) can fail. The names are
// part of the product contract: they appear verbatim in logs, metrics, JSON error
// bodies and `jwtgate verify` output, so never rename one.

#include <cstdint>
#include <string_view>

namespace jwtgate::jose {

enum class status : std::uint8_t {
  ok = 0,

  // Where is the token?
  missing_token,       // no token in any configured source

  // Can it be parsed?
  malformed,           // bad base64url, JSON, structure, crit/b64, time claim types, > 16 KiB
  unsupported_token,   // 5 parts: JWE

  // Is it signed by a key we trust, with an algorithm we pinned?
  alg_not_allowed,     // header alg not in the provider's list (or `none`)
  unknown_kid,         // token kid names no key we hold
  bad_signature,       // no key of the right alg verified the signature
  keys_unavailable,    // the provider has no usable key yet (JWKS not fetched)

  // Are its claims acceptable?
  expired,
  not_yet_valid,
  issuer_mismatch,
  audience_mismatch,
  missing_claim,
  claim_mismatch,
  lifetime_exceeded,
  type_mismatch,       // header `typ` not in the provider's `types` (RFC 9068)

  // Has it been taken back? (SPEC section 8)
  revoked,                 // a revocation entry matches the token
  revocation_unavailable,  // on_store_error: deny while the revocation store is away

  // Is it enough for this route? (403, not 401)
  insufficient_scope,
};

// The stable reason code, e.g. "bad_signature"; "ok" for status::ok.
std::string_view to_string(status s) noexcept;

// One sentence for humans (error_description, CLI output).
std::string_view describe(status s) noexcept;

// Parses a reason code back; returns false for an unknown name.
bool from_string(std::string_view name, status& out) noexcept;

inline constexpr std::size_t status_count = static_cast<std::size_t>(status::insufficient_scope) + 1;

}  // namespace jwtgate::jose
