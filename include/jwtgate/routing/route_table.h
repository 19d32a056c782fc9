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

}  // namespace jwtgate::routing
