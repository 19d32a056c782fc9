#include <cstdio>

#include "cli/commands.h"

namespace jwtgate::cli {

int run_keygen(int, char**) {
  std::fputs("jwtgate keygen: not available in this build\n", stderr);
  return 2;
}

}  // namespace jwtgate::cli
