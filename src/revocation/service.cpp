#include "jwtgate/revocation/service.h"

#include <chrono>
#include <ctime>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "revocation/stores.h"

namespace jwtgate::revocation {

namespace asio = boost::asio;

namespace {
// Expired entries never match (the check compares exp), so this only bounds
// how long they take memory.
constexpr auto expiry_interval = std::chrono::seconds(10);
}  // namespace

std::int64_t unix_now() noexcept { return static_cast<std::int64_t>(std::time(nullptr)); }

struct service::expiry_timer {
  explicit expiry_timer(asio::io_context& ioc) : timer(ioc) {}
  asio::steady_timer timer;
  bool stopped = false;
};

service::service(asio::io_context& control, const config::revocation_config& cfg, publish_fn publish)
    : control_(control), cfg_(cfg), publish_(std::move(publish)) {}

void service::publish(std::function<void()> applied) {
  if (publish_) publish_(registry_.current(), std::move(applied));
  else if (applied) applied();
}

void service::start_expiry() {
  expiry_ = std::make_shared<expiry_timer>(control_);
  auto tick = std::make_shared<std::function<void()>>();
  std::weak_ptr<expiry_timer> weak = expiry_;
  *tick = [this, weak, tick] {
    auto t = weak.lock();
    if (!t || t->stopped) return;
    t->timer.expires_after(expiry_interval);
    t->timer.async_wait([this, weak, tick](const boost::system::error_code& ec) {
      auto t2 = weak.lock();
      if (ec || !t2 || t2->stopped) return;
      if (registry_.purge(unix_now())) {
        publish();
        on_expired();
      }
      (*tick)();
    });
  };
  (*tick)();
}

void service::stop_expiry() {
  if (!expiry_) return;
  expiry_->stopped = true;
  expiry_->timer.cancel();
}

std::unique_ptr<service> service::create(asio::io_context& control, const config::revocation_config& cfg,
                                         std::string redis_password, publish_fn publish, std::string& error) {
  if (cfg.store == config::revocation_config::store_kind::redis)
    return make_redis_service(control, cfg, std::move(redis_password), std::move(publish), error);
  return make_local_service(control, cfg, std::move(publish), error);
}

}  // namespace jwtgate::revocation
