#pragma once
// Request-target normalization (SPEC section 4). The normalized path is both
// what routes match and what is forwarded upstream.
//
// Rules, in order:
//  - empty target: bad_target; longer than 8192 bytes: too_long;
//  - any byte outside visible ASCII (controls, space, DEL, non-ASCII) or a '#'
//    (fragments never appear in a request-target): bad_target;
//  - origin-form "/p?q" or absolute-form "http[s]://authority/p?q" (the
//    authority is dropped; an empty path means "/"); anything else, "*"
//    included: bad_target;
//  - in the path: a raw '\' is bad_target (some backends treat it as '/'), and
//    so is a raw ';' (servlet containers strip ";params" from segments, so
//    "/admin;x/secret" would be /admin/secret to them); "%3B" stays as it is;
//    '%' not followed by two hex digits: bad_escape; %00: encoded_nul;
//    %2F/%5C in any case: encoded_slash; escapes of unreserved characters
//    (ALPHA DIGIT - . _ ~) are decoded, others kept with upper-case hex;
//    decoding happens once and before dot-segment removal, so "%2e%2E" is "..";
//  - repeated slashes are merged, then dot-segments removed (RFC 3986 5.2.4),
//    never above the root; a trailing "/", "/." or "/.." leaves a trailing '/';
//  - the query is kept byte for byte.

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
// dot-segments (RFC 3986 5.2.4). On error `out` is left empty.
target_error normalize_target(std::string_view target, normalized_target& out);

// "bad_escape", ... for logs and error bodies.
std::string_view to_string(target_error e) noexcept;

}  // namespace jwtgate::routing
