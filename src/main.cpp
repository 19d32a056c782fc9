#include <cstdio>
#include <cstring>
#include <string_view>

#include "cli/commands.h"

namespace {

constexpr const char* usage =
    "usage: jwtgate COMMAND [OPTIONS]\n"
    "\n"
    "A reverse-proxy authentication gateway: verifies JSON Web Tokens and forwards\n"
    "authorized requests upstream with identity headers.\n"
    "\n"
    "commands:\n"
    "  serve  -c FILE                 run the gateway\n"
    "  check  -c FILE                 validate a config file and print a summary\n"
    "  verify -c FILE [--provider NAME] [TOKEN|-]\n"
    "                                 decode a token and verify it against the config\n"
    "  mint   --alg ALG --key FILE [--kid KID] [--sub S] [--ttl 15m] [--claim k=v]...\n"
    "                                 sign a token (development and tests)\n"
    "  keygen --alg ALG [--kid KID] --out DIR\n"
    "                                 write a private key and its public JWKS\n"
    "  revoke -c FILE (--jti J | --sub S [--before T] | --sid X) [--iss I] [--exp T | --ttl D]\n"
    "  revoke -c FILE --list          take tokens back through the admin API\n"
    "  demo   [--port 8080]           try it: gateway + echo upstream + fresh key\n"
    "\n"
    "  jwtgate --version | --help | COMMAND --help\n";

struct command {
  std::string_view name;
  int (*run)(int, char**);
};

constexpr command commands[] = {
    {"serve", jwtgate::cli::run_serve},   {"check", jwtgate::cli::run_check},
    {"verify", jwtgate::cli::run_verify}, {"mint", jwtgate::cli::run_mint},
    {"keygen", jwtgate::cli::run_keygen}, {"demo", jwtgate::cli::run_demo},
    {"revoke", jwtgate::cli::run_revoke},
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(usage, stderr);
    return 2;
  }
  std::string_view cmd = argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::fputs(usage, stdout);
    return 0;
  }
  if (cmd == "--version" || cmd == "version") {
    std::printf("jwtgate %s\n", JWTGATE_VERSION);
    return 0;
  }
  for (const auto& c : commands)
    if (c.name == cmd) return c.run(argc - 1, argv + 1);
  std::fprintf(stderr, "jwtgate: unknown command '%s'\n\n%s", argv[1], usage);
  return 2;
}
