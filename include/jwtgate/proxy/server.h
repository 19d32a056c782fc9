#pragma once
// The gateway process: N event loops (server.threads), each accepting on its
// own SO_REUSEPORT socket of the listener, plus a control loop on the calling
// thread for signals (SIGHUP reload, SIGTERM/SIGINT drain, SIGUSR1 access
// log reopen) and the admin listener. No Beast in this header.

#include <cstdint>
#include <memory>
#include <string>

#include "jwtgate/config/snapshot.h"

namespace jwtgate::proxy {

struct server_options {
  std::string config_path;      // reloaded on SIGHUP; empty: SIGHUP is ignored
  bool handle_signals = true;   // SIGHUP / SIGTERM / SIGINT / SIGUSR1
};

// Blocks the signals the server handles in the calling thread, so that every
// thread it creates afterwards inherits the mask. With handle_signals, call
// it first in main, before any thread starts (create() calls it too, for the
// threads it makes): the server reads them from a signalfd, and a thread
// that left one unblocked would take its default action (SIGHUP and SIGTERM
// would kill the process without a drain). Without handle_signals, do not:
// nothing would read them.
void block_handled_signals();

class server {
 public:
  // Opens the access log and binds every listener (so a busy port is reported
  // before anything runs). nullptr and `error` set on failure.
  static std::unique_ptr<server> create(std::shared_ptr<const config::snapshot> snap, server_options opts,
                                        std::string& error);
  ~server();

  std::uint16_t port() const noexcept;        // the bound listener port (real one for port 0)
  std::uint16_t admin_port() const noexcept;  // 0: no admin listener

  // Serves until drained after SIGTERM/SIGINT (or shutdown()); returns the exit status.
  int run();
  // Starts a drain, as SIGTERM does. Safe from any thread.
  void shutdown();

 private:
  struct impl;
  explicit server(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

}  // namespace jwtgate::proxy
