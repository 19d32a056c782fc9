#include <cstdio>

#include "cli/commands.h"

namespace jwtgate::cli {

int run_serve(int, char**) {
  std::fputs("jwtgate serve: not available in this build\n", stderr);
  return 2;
}

}  // namespace jwtgate::cli
