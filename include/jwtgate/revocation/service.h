#pragma once
// The revocation store of one instance, on the control event loop: it owns the
// registry, persists changes (the local journal, or Redis shared by a fleet),
// applies changes made by other instances, expires entries, and hands every
// new revocation_set to `publish`, which installs it on each event loop. The
// admin API and back-channel logout call it; the request path only reads the
// published sets. No Asio in this header.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "jwtgate/config/config.h"
#include "jwtgate/revocation/entry.h"
#include "jwtgate/revocation/registry.h"

namespace boost::asio { class io_context; }

namespace jwtgate::revocation {

enum class outcome {
  ok,           // done (added, removed, logout jti claimed)
  not_found,    // remove: no such entry
  replayed,     // claim_logout_jti: seen before
  unavailable,  // the store cannot take changes now (Redis away)
  failed,       // the store refused or failed (journal write error)
};

struct store_status {
  std::string store;  // "local" or "redis"
  bool up = true;     // local: always; redis: connected and synchronized
  bool synced_once = true;     // the store has been read completely at least once
  double sync_age_seconds = 0;  // since the last confirmed synchronization
  std::uint64_t reconnects = 0;
};

class service {
 public:
  // `applied` runs once every event loop uses the new set.
  using publish_fn = std::function<void(std::shared_ptr<const revocation_set>, std::function<void()> applied)>;
  using done_fn = std::function<void(outcome, std::string error)>;

  // The store of `cfg`. The local store reads (and compacts) its file here: an
  // unreadable or damaged file is an error before anything listens.
  static std::unique_ptr<service> create(boost::asio::io_context& control, const config::revocation_config& cfg,
                                         std::string redis_password, publish_fn publish, std::string& error);
  virtual ~service() = default;

  virtual void start() = 0;
  virtual void stop() = 0;

  virtual void add(entry e, done_fn done) = 0;
  virtual void remove(entry e, done_fn done) = 0;
  // Records a logout token's jti until `until` (unix seconds): ok the first
  // time, replayed after. Shared by the fleet with Redis.
  virtual void claim_logout_jti(std::string key, std::int64_t until, done_fn done) = 0;

  virtual store_status status() const = 0;
  const registry& entries() const noexcept { return registry_; }
  const config::revocation_config& config() const noexcept { return cfg_; }

 protected:
  service(boost::asio::io_context& control, const config::revocation_config& cfg, publish_fn publish);
  // Publishes the registry's current set; `applied` may be empty.
  void publish(std::function<void()> applied = {});
  // Drops expired entries every few seconds.
  void start_expiry();
  void stop_expiry();
  void arm_expiry();
  virtual void on_expired() {}

  boost::asio::io_context& control_;
  config::revocation_config cfg_;
  registry registry_;
  publish_fn publish_;

 private:
  struct expiry_timer;
  std::shared_ptr<expiry_timer> expiry_;
};

std::int64_t unix_now() noexcept;

}  // namespace jwtgate::revocation
