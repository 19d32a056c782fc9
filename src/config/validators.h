#pragma once
// Pure checks on configuration strings. No YAML, no I/O.

#include <cstddef>
#include <string>
#include <string_view>

namespace jwtgate::config {

// RFC 7230 token (header field names, methods, cookie names).
bool is_http_token(std::string_view s) noexcept;

// Names of upstreams, providers and routes: [A-Za-z0-9._-]+, so they are safe
// in log lines and metric labels.
bool is_valid_name(std::string_view s) noexcept;

// A path in the form the gateway matches against after normalization (SPEC
// section 4): starts with '/', no empty or dot segments, no '?', '#', spaces
// or control characters, and percent escapes only for characters that
// normalization keeps encoded. Empty `why` on success.
bool is_normalized_path(std::string_view path, std::string& why);

// IPv4 or IPv6 literal (what a listener binds to).
bool is_ip_address(const std::string& s) noexcept;

// Host name or IP literal as a route's `host` (no port, no spaces).
bool is_valid_host(std::string_view s) noexcept;

std::string to_lower(std::string_view s);

// Reads a whole regular file of at most `max_bytes`. Sets `error` to a sentence.
bool read_small_file(const std::string& path, std::size_t max_bytes, std::string& content, std::string& error);

// Can this regular file be opened for reading?
bool is_readable_file(const std::string& path, std::string& error);

}  // namespace jwtgate::config

namespace jwtgate::config {

// Header names a provider may not inject: message framing, hop-by-hop fields,
// token carriers and the headers the gateway sets itself. Stripping any of
// them from every request (as identity headers are) would break or weaken it.
bool is_reserved_identity_header(std::string_view lower_case_name) noexcept;

}  // namespace jwtgate::config
