// libFuzzer target: the parsers of revocation input that crosses a trust
// boundary (admin API entries, journal records read back from disk, Redis
// announcements, back-channel logout forms), with invariants: an accepted
// entry round-trips through its canonical JSON and a journal record, and the
// registry agrees with itself after adds and removals.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "jwtgate/auth/logout_token.h"
#include "jwtgate/revocation/entry.h"
#include "jwtgate/revocation/journal.h"
#include "jwtgate/revocation/registry.h"

namespace {

namespace rv = jwtgate::revocation;

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  constexpr std::int64_t now = 1'700'000'000;

  rv::entry e;
  std::string error;
  if (rv::parse_entry(input, {now, 3600}, e, error)) {
    check(!e.value.empty() && e.value.size() <= rv::max_value_bytes && e.exp > now);
    rv::entry back;
    check(rv::parse_entry(rv::to_json(e), {now, 3600}, back, error));
    check(back.same_identity(e) && back.exp == e.exp && back.before == e.before);
    char op = 0;
    check(rv::journal::parse_record(rv::journal::format_record('+', e), op, back, error) && op == '+');
    check(back.same_identity(e));

    rv::registry reg;
    reg.upsert(e);
    rv::token_facts t;
    t.set(e.type, e.value);
    t.iss = e.iss;
    check(reg.current()->check(t, now) == jwtgate::jose::status::revoked);
    check(reg.remove(e));
    check(reg.current()->check(t, now) == jwtgate::jose::status::ok);
  } else {
    check(!error.empty());
  }

  char op = 0;
  (void)rv::journal::parse_record(input, op, e, error);

  std::string token;
  if (jwtgate::auth::logout_token_from_form(input, token, error)) check(!token.empty() && token.size() <= size);
  return 0;
}
