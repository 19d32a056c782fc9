// store: local. Entries in memory, and with `file:` in a journal that is
// fdatasync'd before a change is confirmed.

#include <unordered_map>

#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>

#include "jwtgate/revocation/journal.h"
#include "revocation/stores.h"

namespace jwtgate::revocation {
namespace {

class local_service final : public service {
 public:
  local_service(boost::asio::io_context& control, const config::revocation_config& cfg, publish_fn publish)
      : service(control, cfg, std::move(publish)) {}

  bool load(std::string& error) {
    if (cfg_.file.empty()) return true;
    journal_ = std::make_unique<journal>();
    std::vector<entry> live;
    journal::load_report report;
    if (!journal_->open(cfg_.file, unix_now(), live, report, error)) return false;
    table::builder b(live.size());
    for (const auto& e : live) b.add(e);
    registry_.replace_all(b.finish());
    if (report.torn_tail)
      spdlog::warn("revocation file {}: dropped an incomplete last record (an interrupted write)", cfg_.file);
    spdlog::info("revocation file {}: {} entries ({} records replayed, {} expired)", cfg_.file, live.size(),
                 report.records, report.expired);
    return true;
  }

  void start() override {
    publish();
    start_expiry();
  }
  void stop() override { stop_expiry(); }

  void add(entry e, done_fn done) override {
    std::string error;
    if (journal_ && !journal_->append_add(e, error)) {
      spdlog::error("revocation: {}", error);
      return done(outcome::failed, error);
    }
    registry_.upsert(std::move(e));
    maybe_compact();
    publish([done] { done(outcome::ok, {}); });
  }

  void remove(entry e, done_fn done) override {
    if (!registry_.current()->base() && !registry_.current()->delta()) return done(outcome::not_found, {});
    if (!has(e)) return done(outcome::not_found, {});
    std::string error;
    if (journal_ && !journal_->append_remove(e, error)) {
      spdlog::error("revocation: {}", error);
      return done(outcome::failed, error);
    }
    registry_.remove(e);
    maybe_compact();
    publish([done] { done(outcome::ok, {}); });
  }

  void claim_logout_jti(std::string key, std::int64_t until, done_fn done) override {
    auto now = unix_now();
    if (seen_.size() > 4096) std::erase_if(seen_, [now](const auto& kv) { return kv.second <= now; });
    auto [it, fresh] = seen_.try_emplace(std::move(key), until);
    if (!fresh && it->second > now) return done(outcome::replayed, {});
    it->second = until;
    done(outcome::ok, {});
  }

  store_status status() const override { return {"local", true, true, 0, 0}; }

 private:
  bool has(const entry& e) const {
    const auto& set = registry_.current();
    if (set->delta() && set->delta()->find(e.type, e.value, e.iss)) return true;
    return set->base() && set->base()->find(e.type, e.value, e.iss);
  }

  void on_expired() override { maybe_compact(); }

  // Removed, replaced and expired records stay in the journal until rewritten.
  void maybe_compact() {
    if (!journal_) return;
    std::size_t live = registry_.size();
    if (journal_->records() < 1024 || journal_->records() < 2 * live) return;
    std::vector<entry> entries;
    entries.reserve(live);
    registry_.current()->for_each(unix_now(), [&](const table& t, const table::record& r) {
      entries.push_back(t.to_entry(r));
    });
    std::string error;
    if (!journal_->compact(entries, error)) spdlog::error("revocation: compaction failed: {}", error);
  }

  std::unique_ptr<journal> journal_;
  std::unordered_map<std::string, std::int64_t> seen_;  // logout jti -> until
};

}  // namespace

std::unique_ptr<service> make_local_service(boost::asio::io_context& control, const config::revocation_config& cfg,
                                            service::publish_fn publish, std::string& error) {
  auto s = std::make_unique<local_service>(control, cfg, std::move(publish));
  if (!s->load(error)) return nullptr;
  return s;
}

}  // namespace jwtgate::revocation
