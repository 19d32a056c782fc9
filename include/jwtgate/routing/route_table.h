#pragma once
// Route matching over normalized paths: exact path, segment-aware prefix,
// methods and host. First match in file order wins. Knows nothing of config
// files or sockets.
//
// The table is compiled once into hash indexes, so a lookup costs the same
// with 10 routes as with 10,000: the path is read once, every prefix of it
// that ends at a segment boundary is one probe, and each probe leads to the
// routes of that exact path or prefix (any host, and the request's host), in
// file order. Nothing is allocated per lookup.

#include <cstddef>
#include <cstdint>
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
  explicit route_table(std::vector<route_matcher> matchers);

  // Index of the first matching route in `matchers` order, or nullopt (404):
  // exactly what testing every matcher in turn would answer. `path` must
  // already be normalized; `host` is the Host header value as received (port
  // allowed).
  std::optional<std::size_t> match(std::string_view method, std::string_view path,
                                   std::string_view host) const noexcept;

  std::size_t size() const noexcept { return matchers_.size(); }
  const std::vector<route_matcher>& matchers() const noexcept { return matchers_; }

 private:
  // One open-addressing slot: a key (bytes in keys_, or a group for host
  // slots) and what it leads to. hash == 0 marks an empty slot.
  struct slot {
    std::uint64_t hash = 0;
    std::uint32_t key_offset = 0;
    std::uint32_t key_size = 0;
    std::uint32_t group = 0;  // path slots: the group; host slots: the group the host belongs to
    std::uint32_t routes = 0; // host slots: index into ranges_; path slots: exact or prefix
  };
  // Route indexes order_[begin, end), ascending.
  struct range {
    std::uint32_t begin = 0;
    std::uint32_t end = 0;
  };

  void scan(range r, std::string_view method, std::uint32_t& best) const noexcept;
  void visit(std::uint32_t group, std::string_view method, std::string_view host, std::uint64_t host_hash,
             std::uint32_t& best) const noexcept;
  std::optional<std::uint32_t> find_path(std::uint32_t kind, std::uint64_t hash, std::string_view key) const noexcept;

  std::vector<route_matcher> matchers_;
  // A group is one path rule (an exact path, a prefix, the root prefix, or
  // no path rule); any_host_[g] are its routes without host, host_slots_ its
  // routes per host.
  std::string keys_;
  std::vector<slot> path_slots_;
  std::vector<slot> host_slots_;
  std::vector<range> any_host_;
  std::vector<range> ranges_;
  std::vector<std::uint32_t> order_;
  std::uint32_t root_group_ = UINT32_MAX;  // prefix "/": every path that starts with '/'
  std::uint32_t all_group_ = UINT32_MAX;   // neither path nor path_prefix: every path
  bool has_hosts_ = false;
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
