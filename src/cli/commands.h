#pragma once
// One function per subcommand; argv[0] is the subcommand's name. Each returns
// the process exit status.

namespace jwtgate::cli {

int run_serve(int argc, char** argv);
int run_check(int argc, char** argv);
int run_verify(int argc, char** argv);
int run_mint(int argc, char** argv);
int run_keygen(int argc, char** argv);
int run_demo(int argc, char** argv);
int run_revoke(int argc, char** argv);

}  // namespace jwtgate::cli
