#include <cstdio>

#include "cli/commands.h"

namespace jwtgate::cli {

int run_mint(int, char**) {
  std::fputs("jwtgate mint: not available in this build\n", stderr);
  return 2;
}

}  // namespace jwtgate::cli
