#include <cstdio>

#include "cli/commands.h"

namespace jwtgate::cli {

int run_check(int, char**) {
  std::fputs("jwtgate check: not available in this build\n", stderr);
  return 2;
}

}  // namespace jwtgate::cli
