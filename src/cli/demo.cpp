#include <cstdio>

#include "cli/commands.h"

namespace jwtgate::cli {

int run_demo(int, char**) {
  std::fputs("jwtgate demo: not available in this build\n", stderr);
  return 2;
}

}  // namespace jwtgate::cli
