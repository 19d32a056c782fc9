#pragma once
// Request-target normalization (SPEC section 4). The normalized path is both
// what routes match and what is forwarded upstream.

#include <string>
#include <string_view>

namespace jwtgate::routing {

enum class target_error {
  none,
  bad_target,        // not origin-form or absolute-form, empty, control characters...
  bad_escape,        // invalid percent escape
  encoded_nul,       // %00
  encoded_slash,     // %2F or %5C (any case)
  too_long,
};

struct normalized_target {
  std::string path;   // normalized, starts with '/'
  std::string query;  // without '?', unchanged; empty when absent
  bool has_query = false;
};

// Accepts origin-form ("/a/b?q") and absolute-form ("http://h/a/b?q"). Decodes
// percent-encoded unreserved characters, merges repeated slashes and removes
// dot-segments (RFC 3986 5.2.4).
target_error normalize_target(std::string_view target, normalized_target& out);

}  // namespace jwtgate::routing
