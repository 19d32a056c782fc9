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
  arm_expiry();
}

// The handler holds only a weak reference: a closure owning itself would
// never be freed.
void service::arm_expiry() {
  expiry_->timer.expires_after(expiry_interval);
  expiry_->timer.async_wait([this, weak = std::weak_ptr<expiry_timer>(expiry_)](const boost::system::error_code& ec) {
    auto t = weak.lock();
    if (ec || !t || t->stopped) return;
    if (registry_.purge(unix_now())) {
      publish();
      on_expired();
    }
    arm_expiry();
  });
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
