#pragma once
// Keeps the remote keys (jwks_url sources, OpenID discovery) of every provider
// fresh: fetch at start, every jwks_refresh, and on demand when a token names an
// unknown kid (at most once per jwks_min_refresh, one fetch in flight per
// provider). A failed fetch keeps the last good keys and retries with
// exponential backoff and jitter. Runs on one event loop; publishes through each
// provider's key_store, which every loop reads without locks.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "jwtgate/config/snapshot.h"

namespace boost::asio {
class io_context;
}

namespace jwtgate::keys {

class remote_provider;

struct fetch_stat {
  std::string provider;
  std::string result;  // ok | network_error | bad_status | bad_document
  std::uint64_t count = 0;
};

class key_manager {
 public:
  explicit key_manager(boost::asio::io_context& ioc);
  ~key_manager();
  key_manager(const key_manager&) = delete;
  key_manager& operator=(const key_manager&) = delete;

  // Takes over the remote sources of `snap`. Call on the manager's loop (or
  // before it runs), before `snap` is handed to the request path: providers whose
  // remote sources did not change get the last good keys at once, so a reload
  // never empties a key set. Providers of the previous snapshot stop fetching.
  void adopt(const std::shared_ptr<const config::snapshot>& snap);

  // Stops every timer and fetch; call on the manager's loop.
  void stop();

  // Has every adopted provider finished its first fetch round (keys or not)?
  // For one-shot users such as `jwtgate verify`; call on the manager's loop.
  bool first_rounds_done() const;

  // Fetch counts by provider and result; call on the manager's loop.
  std::vector<fetch_stat> stats() const;

 private:
  boost::asio::io_context& ioc_;
  std::shared_ptr<const config::snapshot> snap_;
  std::map<std::string, std::shared_ptr<remote_provider>> active_;  // by provider name
  // Detached providers stay alive: a worker thread may still hold a pointer to
  // one as a refresh_listener for an instant after the reload detached it.
  std::vector<std::shared_ptr<remote_provider>> retired_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> counts_;
  std::minstd_rand rng_;

  friend class remote_provider;
};

}  // namespace jwtgate::keys
