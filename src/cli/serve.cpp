
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "jwtgate/config/snapshot.h"
#include "jwtgate/proxy/server.h"

namespace jwtgate::cli {

namespace {

constexpr const char* serve_usage =
    "usage: jwtgate serve -c FILE\n"
    "\n"
    "Runs the gateway with the configuration in FILE.\n"
    "  SIGHUP           reload FILE (kept only when valid)\n"
    "  SIGUSR1          reopen the access log file (after logrotate renamed it)\n"
    "  SIGTERM, SIGINT  stop accepting, finish requests in flight (server.drain_timeout), exit 0\n"
    "\n"
    "Logs go to stderr; the access log to stdout, a file, or nowhere (server.access_log).\n";

}  // namespace

int run_serve(int argc, char** argv) {
  std::string file;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(serve_usage, stdout);
      return 0;
    }
    if ((arg == "-c" || arg == "--config") && i + 1 < argc) {
      file = argv[++i];
    } else if (arg.starts_with("--config=")) {
      file = std::string(arg.substr(9));
    } else {
      std::fprintf(stderr, "jwtgate serve: unexpected argument '%s'\n\n%s", argv[i], serve_usage);
      return 2;
    }
  }
  if (file.empty()) {
    std::fprintf(stderr, "jwtgate serve: -c FILE is required\n\n%s", serve_usage);
    return 2;
  }

  proxy::block_handled_signals();  // before any thread starts
  // Diagnostics on stderr; stdout belongs to the access log.
  auto logger = spdlog::stderr_color_mt("jwtgate");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);

  auto loaded = config::load_file(file);
  if (!loaded.snap) {
    for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
    if (loaded.errors.empty()) std::fprintf(stderr, "%s: the configuration could not be loaded\n", file.c_str());
    return 1;
  }
  std::string error;
  auto srv = proxy::server::create(loaded.snap, {file, true}, error);
  if (!srv) {
    std::fprintf(stderr, "jwtgate serve: %s\n", error.c_str());
    return 1;
  }
  int status = srv->run();
  srv.reset();
  spdlog::shutdown();
  return status;
}

}  // namespace jwtgate::cli
