#pragma once
// Route matching over normalized paths: exact path, segment-aware prefix,
// methods and host. First match in file order wins. Knows nothing of config
// files or sockets.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jwtgate::routing {

struct route_matcher {
  std::string path;         // exact match when non-empty
  std::string path_prefix;  // segment-aware prefix when non-empty
  std::vector<std::string> methods;  // empty: any (compared case-sensitively, as HTTP does)
  std::string host;         // empty: any; compared case-insensitively, port ignored

  // A matcher with neither `path` nor `path_prefix` matches every path.
  bool matches(std::string_view method, std::string_view path, std::string_view host) const noexcept;
};

class route_table {
 public:
  route_table() = default;
  explicit route_table(std::vector<route_matcher> matchers) : matchers_(std::move(matchers)) {}

  // Index of the first matching route, or nullopt (404). `path` must already be
  // normalized; `host` is the Host header value as received (port allowed).
  std::optional<std::size_t> match(std::string_view method, std::string_view path,
                                   std::string_view host) const noexcept;

  std::size_t size() const noexcept { return matchers_.size(); }

 private:
  std::vector<route_matcher> matchers_;
};

// Segment-aware prefix: "/admin" matches "/admin", "/admin/" and "/admin/x",
// never "/administrator". Trailing slashes of the prefix are ignored ("/api/"
// behaves as "/api"); "/" matches every path. Case-sensitive.
bool prefix_matches(std::string_view prefix, std::string_view path) noexcept;

// "Example.COM:8080" -> "Example.COM", "[::1]:8080" -> "::1", "a.b." -> "a.b".
std::string_view host_without_port(std::string_view host) noexcept;

// Case-insensitive host comparison, ports ignored on both sides; an empty
// request host never matches.
bool host_matches(std::string_view configured, std::string_view request_host) noexcept;

}  // namespace jwtgate::routing
