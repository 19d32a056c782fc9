// store: redis. Every instance sharing the Redis sees every entry:
//  - an entry is the key PREFIX "revocation:" KIND ":" sha256(iss, value),
//    holding the entry's JSON and expiring at the entry's exp (Redis drops it);
//  - each change is written and announced in one MULTI/EXEC: the key, and a
//    PUBLISH on PREFIX "revocations" ("+" JSON or "-" JSON);
//  - a second connection subscribes to that channel; once subscribed, the
//    whole store is read (SCAN + MGET), and announcements that arrive during
//    the read are applied after it, so nothing written meanwhile is missed.
// Any failure drops both connections; reconnection backs off from 100 ms to
// 5 s with jitter, and every reconnection reads the whole store again.

#include <openssl/sha.h>

#include <random>

#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "jwtgate/net/tls_context.h"
#include "revocation/redis_connection.h"
#include "revocation/stores.h"

namespace jwtgate::revocation {
namespace {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

constexpr auto min_backoff = std::chrono::milliseconds(100);
constexpr auto max_backoff = std::chrono::seconds(5);
constexpr auto heartbeat = std::chrono::seconds(1);
constexpr std::size_t scan_batch = 1000;

std::string hex_sha256(std::string_view a, std::string_view b) {
  std::string input(a);
  input.push_back('\0');
  input.append(b);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : digest) {
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 15]);
  }
  return out;
}

// SCAN MATCH treats * ? [ ] \ as pattern characters.
std::string glob_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

class redis_service final : public service {
 public:
  redis_service(asio::io_context& control, const config::revocation_config& cfg, std::string password,
                publish_fn publish)
      : service(control, cfg, std::move(publish)), password_(std::move(password)), retry_(control),
        beat_(control), rng_(std::random_device{}()) {
    const auto& r = cfg.redis;
    ep_.host = r.host;
    ep_.port = r.port;
    ep_.server_name = r.tls_options.server_name;
    ep_.timeout = r.timeout;
    entry_prefix_ = r.key_prefix + "revocation:";
    channel_ = r.key_prefix + "revocations";
    deny_ = cfg.on_store_error == config::revocation_config::error_policy::deny;
    // Until the first full read, `deny` has nothing it could enforce.
    registry_.set_unavailable(deny_);
  }

  bool init(std::string& error) {
    if (!cfg_.redis.tls) return true;
    ep_.tls = net::make_client_tls_context(cfg_.redis.tls_options.ca_file, cfg_.redis.tls_options.verify, error);
    return ep_.tls != nullptr;
  }

  void start() override {
    publish();
    start_expiry();
    connect();
  }

  void stop() override {
    stopped_ = true;
    stop_expiry();
    retry_.cancel();
    beat_.cancel();
    drop();
  }

  void add(entry e, done_fn done) override {
    if (!synced_) return done(outcome::unavailable, {});
    auto key = key_of(e);
    auto json = to_json(e);
    auto exp = std::to_string(e.exp);
    auto message = "+" + json;
    cmd_->command({"MULTI"}, nullptr);
    cmd_->command({"SET", key, json, "EXAT", exp}, nullptr);
    cmd_->command({"PUBLISH", channel_, message}, nullptr);
    cmd_->command({"EXEC"}, [this, e = std::move(e), done = std::move(done)](const reply_view& r) mutable {
      if (r.is_error() || !r.is_array() || r.size() != 2 || r[0].is_error())
        return done(outcome::failed, "Redis refused the entry: " + std::string(r.is_error() ? r.str() : r[0].str()));
      registry_.upsert(std::move(e));
      publish([done = std::move(done)] { done(outcome::ok, {}); });
    });
  }

  void remove(entry e, done_fn done) override {
    if (!synced_) return done(outcome::unavailable, {});
    auto key = key_of(e);
    auto message = "-" + to_json(e);
    cmd_->command({"MULTI"}, nullptr);
    cmd_->command({"DEL", key}, nullptr);
    cmd_->command({"PUBLISH", channel_, message}, nullptr);
    cmd_->command({"EXEC"}, [this, e = std::move(e), done = std::move(done)](const reply_view& r) mutable {
      if (r.is_error() || !r.is_array() || r.size() != 2) return done(outcome::failed, "Redis refused the removal");
      bool existed = r[0].integer() > 0;
      bool local = registry_.remove(e);
      if (!existed && !local) return done(outcome::not_found, {});
      publish([done = std::move(done)] { done(outcome::ok, {}); });
    });
  }

  void claim_logout_jti(std::string key, std::int64_t until, done_fn done) override {
    if (!synced_) return done(outcome::unavailable, {});
    auto k = cfg_.redis.key_prefix + "logout-jti:" + hex_sha256(key, "");
    cmd_->command({"SET", k, "1", "NX", "EXAT", std::to_string(until)},
                  [done = std::move(done)](const reply_view& r) {
                    if (r.is_error()) return done(outcome::failed, std::string(r.str()));
                    done(r.is_nil() ? outcome::replayed : outcome::ok, {});
                  });
  }

  store_status status() const override {
    double age = synced_once_ ? std::chrono::duration<double>(clock::now() - last_sync_).count() : 0;
    return {"redis", synced_, synced_once_, age, reconnects_};
  }

 private:
  std::string key_of(const entry& e) const {
    return entry_prefix_ + std::string(to_string(e.type)) + ":" + hex_sha256(e.iss, e.value);
  }

  void connect() {
    if (stopped_) return;
    auto gen = ++generation_;
    cmd_ = std::make_shared<redis_connection>(control_);
    sub_ = std::make_shared<redis_connection>(control_);
    sub_->subscriber = true;
    auto pending = std::make_shared<int>(2);
    auto on_connected = [this, gen, pending](const std::string& why) {
      if (gen != generation_) return;
      if (!why.empty()) return lost(why);
      if (--*pending == 0) handshake(gen);
    };
    cmd_->connect(ep_, on_connected);
    sub_->connect(ep_, on_connected);
  }

  // AUTH and SELECT on both, SUBSCRIBE on one, then the full read.
  void handshake(std::uint64_t gen) {
    for (auto* c : {cmd_.get(), sub_.get()}) {
      c->on_failure = [this, gen](const std::string& why) {
        if (gen == generation_) lost(why);
      };
      if (!password_.empty())
        c->command({"AUTH", password_}, [this, gen](const reply_view& r) {
          if (gen == generation_ && r.is_error()) lost("Redis refused the password: " + std::string(r.str()));
        });
    }
    if (cfg_.redis.database != 0)
      cmd_->command({"SELECT", std::to_string(cfg_.redis.database)}, [this, gen](const reply_view& r) {
        if (gen == generation_ && r.is_error()) lost("Redis refused SELECT: " + std::string(r.str()));
      });
    // Pub/sub channels are not per database; the channel name carries the prefix.
    sub_->on_message = [this](std::string_view, std::string_view payload) { on_message(payload); };
    sub_->command({"SUBSCRIBE", channel_}, [this, gen](const reply_view& r) {
      if (gen != generation_) return;
      if (r.is_error() || !r.is_array()) return lost("Redis refused SUBSCRIBE");
      reading_ = true;
      buffered_.clear();
      scan_builder_ = std::make_unique<table::builder>();
      scanned_ = 0;
      scan("0", gen);
    });
  }

  void scan(const std::string& cursor, std::uint64_t gen) {
    cmd_->command({"SCAN", cursor, "MATCH", glob_escape(entry_prefix_) + "*", "COUNT", std::to_string(scan_batch)},
                  [this, gen](const reply_view& r) {
                    if (gen != generation_) return;
                    if (r.is_error() || r.size() != 2) return lost("SCAN failed");
                    std::string next(r[0].str());
                    std::vector<std::string> keys;
                    for (std::size_t i = 0; i < r[1].size(); ++i) keys.emplace_back(r[1][i].str());
                    if (keys.empty()) return next == "0" ? read_done(gen) : scan(next, gen);
                    std::vector<std::string_view> argv{"MGET"};
                    for (const auto& k : keys) argv.push_back(k);
                    cmd_->command(argv, [this, gen, next](const reply_view& values) {
                      if (gen != generation_) return;
                      if (!values.is_array()) return lost("MGET failed");
                      auto now = unix_now();
                      for (std::size_t i = 0; i < values.size(); ++i) {
                        if (values[i].is_nil()) continue;  // expired between SCAN and MGET
                        entry e;
                        std::string why;
                        if (!parse_entry(values[i].str(), {0, 0}, e, why)) {
                          spdlog::warn("revocation: skipping an unreadable entry in Redis: {}", why);
                          continue;
                        }
                        if (e.exp <= now) continue;
                        scan_builder_->add(e);
                        ++scanned_;
                      }
                      if (next == "0") read_done(gen);
                      else scan(next, gen);
                    });
                  });
  }

  void read_done(std::uint64_t gen) {
    if (gen != generation_) return;
    // SCAN may return a key twice (during a rehash); a twin record matches
    // exactly like the first, so it only costs a slot.
    registry_.replace_all(scan_builder_->finish());
    scan_builder_.reset();
    reading_ = false;
    for (auto& m : buffered_) apply(m);
    buffered_.clear();
    registry_.set_unavailable(false);
    bool first = !synced_once_;
    synced_ = synced_once_ = true;
    last_sync_ = clock::now();
    backoff_ = min_backoff;
    publish();
    spdlog::info("revocation: {} Redis at {}:{}, {} entries read", first ? "connected to" : "reconnected to",
                 ep_.host, ep_.port, registry_.size());
    beat(gen);
  }

  // PINGs on both connections prove them alive and date the synchronization.
  void beat(std::uint64_t gen) {
    beat_.expires_after(heartbeat);
    beat_.async_wait([this, gen](const boost::system::error_code& ec) {
      if (ec || gen != generation_ || stopped_) return;
      auto pongs = std::make_shared<int>(2);
      auto pong = [this, gen, pongs](const reply_view& r) {
        if (gen != generation_) return;
        if (r.is_error()) return lost("PING failed");
        if (--*pongs == 0) last_sync_ = clock::now();
      };
      cmd_->command({"PING"}, pong);
      sub_->command({"PING"}, pong);
      beat(gen);
    });
  }

  void on_message(std::string_view payload) {
    if (payload.empty()) return;
    std::string m(payload);
    if (reading_) {
      buffered_.push_back(std::move(m));
      return;
    }
    if (apply(m)) publish();
  }

  bool apply(const std::string& m) {
    entry e;
    std::string why;
    if ((m[0] != '+' && m[0] != '-') || !parse_entry(std::string_view(m).substr(1), {0, 0}, e, why)) {
      spdlog::warn("revocation: ignoring an unreadable announcement on {}: {}", channel_, why);
      return false;
    }
    if (m[0] == '+') {
      if (e.exp <= unix_now()) return false;
      registry_.upsert(std::move(e));
      return true;
    }
    return registry_.remove(e);
  }

  void lost(const std::string& why) {
    if (stopped_) return;
    ++generation_;
    drop();
    bool was_synced = synced_;
    synced_ = false;
    reading_ = false;
    if (deny_) registry_.set_unavailable(true);
    publish();
    if (was_synced || !warned_) {
      spdlog::warn("revocation: Redis at {}:{} unavailable ({}); {}", ep_.host, ep_.port, why,
                   deny_ ? "refusing every token until it is back" : "serving the entries held");
      warned_ = true;
    }
    std::uniform_real_distribution<double> jitter(0.8, 1.2);
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(backoff_ * jitter(rng_));
    backoff_ = std::min<std::chrono::milliseconds>(backoff_ * 2, max_backoff);
    retry_.expires_after(wait);
    retry_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopped_) return;
      ++reconnects_;
      connect();
    });
  }

  void drop() {
    beat_.cancel();
    if (cmd_) cmd_->close();
    if (sub_) sub_->close();
  }

  std::string password_;
  redis_endpoint ep_;
  std::string entry_prefix_, channel_;
  bool deny_ = false;
  std::shared_ptr<redis_connection> cmd_, sub_;
  std::uint64_t generation_ = 0;
  asio::steady_timer retry_, beat_;
  std::chrono::milliseconds backoff_ = min_backoff;
  std::mt19937 rng_;
  bool stopped_ = false, synced_ = false, synced_once_ = false, warned_ = false, reading_ = false;
  clock::time_point last_sync_{};
  std::uint64_t reconnects_ = 0;
  std::unique_ptr<table::builder> scan_builder_;
  std::size_t scanned_ = 0;
  std::vector<std::string> buffered_;
};

}  // namespace

std::unique_ptr<service> make_redis_service(asio::io_context& control, const config::revocation_config& cfg,
                                            std::string password, service::publish_fn publish, std::string& error) {
  auto s = std::make_unique<redis_service>(control, cfg, std::move(password), std::move(publish));
  if (!s->init(error)) return nullptr;
  return s;
}

}  // namespace jwtgate::revocation
