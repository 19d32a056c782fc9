// libFuzzer target: the YAML configuration loader (config::load_string) on
// arbitrary text. A document is either refused with at least one positioned
// error, or compiled into a snapshot whose cross references all resolve.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "jwtgate/config/snapshot.h"

namespace {

namespace config = jwtgate::config;

void check(bool invariant) {
  if (!invariant) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // Relative key paths resolve beside the valid fixture, so seeds such as
  // tests/fixtures/config/valid/relative-keys.yaml load their keys and reach
  // the compiled snapshot. (The loader reads only regular files, bounded.)
  static const std::string file_name = std::string(JWTGATE_FIXTURES) + "/config/valid/fuzz.yaml";
  const config::load_result r = config::load_string(text, file_name);
  if (!r.snap) {
    check(!r.errors.empty());
    for (const config::load_error& e : r.errors) {
      check(!e.message.empty());
      check(e.line >= 0 && e.column >= 0);
      (void)e.to_string();
    }
    return 0;
  }
  check(r.errors.empty());
  const config::snapshot& s = *r.snap;
  check(s.providers.size() == s.source.providers.size());
  check(s.routes.size() == s.source.routes.size());
  for (const config::route& route : s.routes) {
    check(route.cfg != nullptr);
    for (const config::provider* p : route.providers) check(p != nullptr && p->cfg != nullptr);
  }
  for (const config::provider& p : s.providers) check(p.keys != nullptr);
  for (const std::string& h : s.identity_headers) check(!h.empty());
  return 0;
}
