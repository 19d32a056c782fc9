#include "jwtgate/keys/key_manager.h"

#include <algorithm>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/parse.hpp>
#include <spdlog/spdlog.h>

#include "jwtgate/jose/key_set.h"
#include "jwtgate/keys/http_fetch.h"
#include "jwtgate/keys/key_store.h"

namespace jwtgate::keys {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

constexpr milliseconds first_backoff{1000};
constexpr milliseconds max_backoff{60000};

// What must stay equal across a reload for the last good keys to be carried over.
std::string remote_identity(const config::provider& p) {
  std::string id = p.cfg->name;
  id += '\n';
  p.cfg->algorithms.for_each([&](jose::alg a) { id += jose::to_string(a); id += ','; });
  if (p.cfg->discovery) id += "\ndiscovery " + p.cfg->issuer.value_or("") + " " + p.cfg->ca_file;
  for (const auto& k : p.cfg->keys)
    if (k.type == config::key_source::kind::jwks_url) id += "\n" + k.value + " " + k.ca_file;
  return id;
}

std::string discovery_url(const std::string& issuer) {
  std::string base = issuer;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/.well-known/openid-configuration";
}

}  // namespace

class remote_provider : public refresh_listener, public std::enable_shared_from_this<remote_provider> {
 public:
  remote_provider(key_manager& m, const config::provider& p)
      : manager_(m),
        name_(p.cfg->name),
        identity_(remote_identity(p)),
        store_(p.keys),
        allowed_(p.cfg->algorithms),
        refresh_(std::max<milliseconds>(p.cfg->jwks_refresh, milliseconds(1000))),
        min_refresh_(p.cfg->jwks_min_refresh),
        timer_(m.ioc_) {
    if (auto initial = store_->current()) {
      auto ks = initial->keys();
      static_keys_.assign(ks.begin(), ks.end());
    }
    if (p.cfg->discovery && p.cfg->issuer) {
      discovery_issuer_ = *p.cfg->issuer;
      discovery_ca_file_ = p.cfg->ca_file;
      // Its URL comes from the discovery document; the provider's ca_file is
      // trusted for it as for the discovery request.
      sources_.push_back(source{{}, p.cfg->ca_file, {}, false, {}});
    }
    for (const auto& k : p.cfg->keys)
      if (k.type == config::key_source::kind::jwks_url) sources_.push_back(source{k.value, k.ca_file, {}, false, {}});
  }

  const std::string& identity() const noexcept { return identity_; }
  bool finished_a_round() const noexcept { return rounds_ != 0; }

  // Takes the keys an identical provider of the previous config had fetched.
  void inherit(const remote_provider& old) {
    for (std::size_t i = 0; i < sources_.size() && i < old.sources_.size(); ++i) sources_[i] = old.sources_[i];
    discovered_ = old.discovered_;
    if (std::any_of(sources_.begin(), sources_.end(), [](const source& s) { return s.have; })) publish();
  }

  void start() {
    store_->set_refresh_listener(this, min_refresh_);
    fetch_round();
  }

  void detach() {
    stopped_ = true;
    store_->set_refresh_listener(nullptr, min_refresh_);
    timer_.cancel();
  }

  void refresh_requested(key_store&) noexcept override {
    try {
      asio::post(manager_.ioc_, [self = weak_from_this()] {
        if (auto p = self.lock(); p && !p->stopped_) {
          spdlog::info("jwks: provider '{}': token with an unknown kid, refreshing keys", p->name_);
          p->fetch_round();
        }
      });
    } catch (...) {
      // Out of memory: the periodic refresh will pick the keys up.
    }
  }

 private:
  struct source {
    std::string url;  // empty for the discovered one until discovery succeeds
    std::string ca_file;
    std::vector<jose::key> keys;
    bool have = false;  // keys holds a good document's keys
    std::string last_body;
  };

  void fetch_round() {
    if (stopped_ || in_flight_) return;  // single flight: callers share the fetch under way
    timer_.cancel();
    in_flight_ = true;
    round_failed_ = false;
    round_changed_ = false;
    round_max_age_.reset();
    if (!discovery_issuer_.empty() && discovered_.empty()) {
      discover();
      return;
    }
    fetch_sources();
  }

  void discover() {
    fetch_request req;
    req.url = discovery_url(discovery_issuer_);
    req.ca_file = discovery_ca_file_;  // empty: the system store
    http_fetch(manager_.ioc_, std::move(req), [self = shared_from_this()](fetch_response res) {
      if (self->stopped_) return;
      std::string problem;
      if (!res.error.empty()) problem = res.error;
      else if (res.status != 200) problem = "HTTP status " + std::to_string(res.status);
      else {
        boost::system::error_code ec;
        auto doc = boost::json::parse(res.body, ec);
        const boost::json::object* obj = ec ? nullptr : doc.if_object();
        const boost::json::value* iss = obj ? obj->if_contains("issuer") : nullptr;
        const boost::json::value* uri = obj ? obj->if_contains("jwks_uri") : nullptr;
        if (!obj) problem = "discovery document is not a JSON object";
        else if (!iss || !iss->is_string() || iss->as_string() != self->discovery_issuer_)
          problem = "discovery document's issuer does not equal the configured issuer";
        else if (!uri || !uri->is_string() ||
                 !(uri->as_string().starts_with("https://") || uri->as_string().starts_with("http://")))
          problem = "discovery document has no http(s) jwks_uri";
        else
          self->discovered_ = std::string(uri->as_string());
      }
      if (!problem.empty()) {
        spdlog::warn("jwks: provider '{}': discovery failed: {}", self->name_, problem);
        self->count(res.error.empty() ? (res.status != 200 ? "bad_status" : "bad_document") : "network_error");
        self->round_failed_ = true;
        self->finish_round();
        return;
      }
      self->sources_[0].url = self->discovered_;
      self->fetch_sources();
    });
  }

  void fetch_sources() {
    outstanding_ = 0;
    for (std::size_t i = 0; i < sources_.size(); ++i) {
      if (sources_[i].url.empty()) continue;
      ++outstanding_;
      fetch_request req;
      req.url = sources_[i].url;
      req.ca_file = sources_[i].ca_file;
      http_fetch(manager_.ioc_, std::move(req), [self = shared_from_this(), i](fetch_response res) {
        if (self->stopped_) return;
        self->on_document(i, std::move(res));
        if (--self->outstanding_ == 0) self->finish_round();
      });
    }
    if (outstanding_ == 0) finish_round();
  }

  void on_document(std::size_t i, fetch_response res) {
    source& s = sources_[i];
    if (!res.error.empty()) {
      spdlog::warn("jwks: provider '{}': fetching {} failed: {}; keeping the last good keys", name_, s.url, res.error);
      count("network_error");
      round_failed_ = true;
      return;
    }
    if (res.status != 200) {
      spdlog::warn("jwks: provider '{}': {} answered HTTP {}; keeping the last good keys", name_, s.url, res.status);
      count("bad_status");
      round_failed_ = true;
      return;
    }
    if (res.max_age && (!round_max_age_ || *res.max_age < *round_max_age_)) round_max_age_ = res.max_age;
    if (s.have && res.body == s.last_body) {
      count("ok");
      return;
    }
    jose::jwks_result parsed;
    std::string error;
    if (!jose::parse_jwks(res.body, allowed_, parsed, error)) {
      spdlog::warn("jwks: provider '{}': {} is not a usable JWKS: {}; keeping the last good keys", name_, s.url, error);
      count("bad_document");
      round_failed_ = true;
      return;
    }
    for (const auto& w : parsed.warnings) spdlog::warn("jwks: provider '{}': {}: {}", name_, s.url, w);
    count("ok");
    spdlog::info("jwks: provider '{}': {} keys from {}", name_, parsed.keys.size(), s.url);
    s.keys = std::move(parsed.keys);
    s.have = true;
    s.last_body = std::move(res.body);
    round_changed_ = true;
  }

  void finish_round() {
    in_flight_ = false;
    ++rounds_;
    if (round_changed_) publish();
    if (!round_failed_) store_->note_fetched();
    milliseconds next = refresh_;
    if (round_failed_) {
      // A rediscovery may find a moved jwks_uri.
      if (!discovery_issuer_.empty()) discovered_.clear();
      ++failures_;
      milliseconds backoff = first_backoff * (1u << std::min(failures_ - 1, 10u));
      backoff = std::min({backoff, max_backoff, refresh_});
      std::uniform_real_distribution<double> jitter(0.8, 1.2);
      next = milliseconds(static_cast<long long>(double(backoff.count()) * jitter(manager_.rng_)));
    } else {
      failures_ = 0;
      next = next_refresh(refresh_, min_refresh_, round_max_age_);
    }
    timer_.expires_after(next);
    timer_.async_wait([self = weak_from_this()](boost::system::error_code ec) {
      if (ec) return;
      if (auto p = self.lock(); p && !p->stopped_) p->fetch_round();
    });
  }

  void publish() {
    std::vector<jose::key> all = static_keys_;
    for (const auto& s : sources_)
      if (s.have) all.insert(all.end(), s.keys.begin(), s.keys.end());
    store_->publish(std::make_shared<const jose::key_set>(std::move(all)));
  }

  void count(const char* result) { ++manager_.counts_[{name_, result}]; }

  key_manager& manager_;
  std::string name_;
  std::string identity_;
  std::shared_ptr<key_store> store_;
  std::vector<jose::key> static_keys_;
  std::vector<source> sources_;
  std::string discovery_issuer_;
  std::string discovery_ca_file_;
  std::string discovered_;
  jose::alg_set allowed_;
  milliseconds refresh_;
  milliseconds min_refresh_;
  asio::steady_timer timer_;
  bool in_flight_ = false;
  std::uint64_t rounds_ = 0;  // fetch rounds finished, good or failed
  bool stopped_ = false;
  bool round_failed_ = false;
  bool round_changed_ = false;
  std::optional<seconds> round_max_age_;
  unsigned failures_ = 0;
  unsigned outstanding_ = 0;
};

key_manager::key_manager(asio::io_context& ioc) : ioc_(ioc), rng_(std::random_device{}()) {}

key_manager::~key_manager() { stop(); }

void key_manager::adopt(const std::shared_ptr<const config::snapshot>& snap) {
  std::map<std::string, std::shared_ptr<remote_provider>> next;
  for (const auto& p : snap->providers) {
    if (!p.has_remote_keys || !p.keys) continue;
    auto rp = std::make_shared<remote_provider>(*this, p);
    if (auto it = active_.find(p.cfg->name); it != active_.end() && it->second->identity() == rp->identity())
      rp->inherit(*it->second);
    next.emplace(p.cfg->name, std::move(rp));
  }
  for (auto& [name, old] : active_) {
    old->detach();
    retired_.push_back(std::move(old));
  }
  active_ = std::move(next);
  snap_ = snap;
  for (auto& [name, rp] : active_) rp->start();
}

void key_manager::stop() {
  for (auto& [name, rp] : active_) {
    rp->detach();
    retired_.push_back(rp);
  }
  active_.clear();
}

bool key_manager::first_rounds_done() const {
  for (const auto& [name, p] : active_)
    if (!p->finished_a_round()) return false;
  return true;
}

std::vector<fetch_stat> key_manager::stats() const {
  std::vector<fetch_stat> out;
  out.reserve(counts_.size());
  for (const auto& [key, n] : counts_) out.push_back({key.first, key.second, n});
  return out;
}

}  // namespace jwtgate::keys
