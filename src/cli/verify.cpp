#include <cstdio>

#include "cli/commands.h"

namespace jwtgate::cli {

int run_verify(int, char**) {
  std::fputs("jwtgate verify: not available in this build\n", stderr);
  return 2;
}

}  // namespace jwtgate::cli
