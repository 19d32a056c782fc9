#include "jwtgate/proxy/server.h"

#include <pthread.h>
#include <sched.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "client_session.h"
#include "jwtgate/admin/admin_server.h"
#include "jwtgate/keys/key_manager.h"
#include "jwtgate/net/tls_context.h"
#include "jwtgate/revocation/admin_api.h"
#include "jwtgate/revocation/service.h"
#include "loop.h"

namespace jwtgate::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

namespace {

// After a drain starts, connections idle between requests get this long to
// send one more request (answered 503) before they are closed.
constexpr auto drain_idle_grace = std::chrono::milliseconds(1000);
constexpr auto drain_poll = std::chrono::milliseconds(20);

sigset_t handled_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1}) sigaddset(&set, sig);
  return set;
}
constexpr auto accept_retry = std::chrono::milliseconds(100);
// How often each loop looks for connections past their deadline: timeouts
// fire up to this much late.
constexpr auto deadline_sweep = std::chrono::milliseconds(100);

std::string listener_changes(const config::config& a, const config::config& b) {
  std::string what;
  auto note = [&](bool changed, std::string_view name) {
    if (!changed) return;
    if (!what.empty()) what += ", ";
    what += name;
  };
  note(a.listen.address != b.listen.address || a.listen.port != b.listen.port, "listen address/port");
  note(a.listen.tls.has_value() != b.listen.tls.has_value() ||
           (a.listen.tls && (a.listen.tls->cert_file != b.listen.tls->cert_file ||
                             a.listen.tls->key_file != b.listen.tls->key_file)),
       "listen.tls");
  note(a.admin.has_value() != b.admin.has_value() ||
           (a.admin && (a.admin->address != b.admin->address || a.admin->port != b.admin->port)),
       "admin listener");
  note(a.listen.http2 != b.listen.http2, "listen.http2");
  note(a.server.threads != b.server.threads, "server.threads");
  note(a.server.cpu_affinity != b.server.cpu_affinity, "server.cpu_affinity");
  note(a.server.access_log != b.server.access_log, "server.access_log");
  note(a.server.max_connections != b.server.max_connections, "server.max_connections");
  auto revocation_settings = [](const config::config& c) {
    if (!c.revocation) return std::string("off");
    const auto& r = *c.revocation;
    return std::to_string(int(r.store)) + r.file + r.redis.url + r.redis.key_prefix + r.redis.password_env +
           std::to_string(r.redis.timeout.count()) + std::to_string(int(r.on_store_error)) +
           std::to_string(r.default_ttl.count()) + r.redis.tls_options.ca_file;
  };
  note(revocation_settings(a) != revocation_settings(b), "revocation");
  return what;
}

// The CPUs this process may run on, in order (a container's cpuset, taskset).
std::vector<int> allowed_cpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return cpus;
}

// server.cpu_affinity: loop k runs on the k-th allowed CPU. A loop that the
// scheduler moves off its core, or leaves waiting behind another thread on
// the same core, adds a scheduler tick (milliseconds) to the requests it holds.
void pin_loops(std::vector<std::thread>& threads) {
  auto cpus = allowed_cpus();
  if (cpus.size() < threads.size()) {
    spdlog::warn("server.cpu_affinity: {} event loops but {} usable CPUs; the loops are not pinned", threads.size(),
                 cpus.size());
    return;
  }
  for (std::size_t k = 0; k < threads.size(); ++k) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpus[k], &set);
    if (int err = pthread_setaffinity_np(threads[k].native_handle(), sizeof set, &set); err != 0)
      spdlog::warn("server.cpu_affinity: cannot pin event loop {} to CPU {}: {}", k, cpus[k], std::strerror(err));
    else
      spdlog::info("event loop {} pinned to CPU {}", k, cpus[k]);
  }
}

}  // namespace

struct listener {
  listener(loop_context& l) : loop(l), acceptor(l.ioc), retry(l.ioc), sweep(l.ioc) {}
  loop_context& loop;
  // Accepted sockets carry the loop's own executor type (see connection_stream).
  asio::basic_socket_acceptor<tcp, asio::io_context::executor_type> acceptor;
  asio::steady_timer retry;
  asio::steady_timer sweep;
};

struct server::impl {
  server_options opts;
  std::shared_ptr<const config::snapshot> current;  // control loop only
  shared_state shared;
  std::vector<std::unique_ptr<loop_context>> loops;
  std::vector<std::unique_ptr<listener>> listeners;  // one per loop
  std::string address;
  std::uint16_t bound_port = 0;

  asio::io_context control{1};
  std::unique_ptr<keys::key_manager> keys;  // JWKS URLs, on the control loop
  std::unique_ptr<admin::admin_server> admin;
  std::unique_ptr<revocation::service> revocations;
  // Signals arrive as reads on a signalfd: no handler interrupts any thread,
  // and a signal sent before the read starts waits in the kernel.
  std::optional<asio::posix::stream_descriptor> signals;
  signalfd_siginfo signal_info{};
  asio::steady_timer drain_timer{control};
  std::chrono::steady_clock::time_point drain_deadline;
  bool draining = false;

  bool bind(std::string& error);
  void accept(listener& l);
  void on_accept(listener& l, connection_stream::socket_type socket);
  void sweep(listener& l);
  void wait_signal();
  void reload();
  void begin_drain();
  void poll_drain();
  void scrape(std::function<void(std::string)> done);
  void publish_revocations(std::shared_ptr<const revocation::revocation_set> set, std::function<void()> applied);
  std::string not_ready() const;
};

bool server::impl::bind(std::string& error) {
  const auto& listen = current->source.listen;
  address = listen.address;
  beast::error_code ec;
  auto addr = asio::ip::make_address(listen.address, ec);
  if (ec) {
    error = "listen.address '" + listen.address + "' is not an IP address";
    return false;
  }
  auto fail = [&](const beast::error_code& e) {
    error = "cannot listen on " + listen.address + ":" + std::to_string(listen.port) + ": " + e.message();
    return false;
  };
  std::uint16_t port = listen.port;
  if (port != 0) {
    // SO_REUSEPORT would let us join another process's socket group on the
    // same port; a plain bind first tells us the port is really free.
    tcp::acceptor probe(control);
    probe.open(addr.is_v6() ? tcp::v6() : tcp::v4(), ec);
    if (!ec) probe.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) probe.bind(tcp::endpoint(addr, port), ec);
    if (ec) return fail(ec);
  }
  for (auto& loop : loops) {
    auto l = std::make_unique<listener>(*loop);
    tcp::endpoint ep(addr, port);
    l->acceptor.open(ep.protocol(), ec);
    if (!ec) l->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) l->acceptor.set_option(reuse_port(true), ec);
    if (!ec) l->acceptor.bind(ep, ec);
    if (!ec) l->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return fail(ec);
    if (port == 0) port = l->acceptor.local_endpoint().port();  // the others join the same port
    listeners.push_back(std::move(l));
  }
  bound_port = port;
  return true;
}

void server::impl::accept(listener& l) {
  l.acceptor.async_accept([this, &l](beast::error_code ec, connection_stream::socket_type socket) {
    if (ec == asio::error::operation_aborted || !l.acceptor.is_open()) return;
    if (ec) {
      // Out of descriptors or memory: back off instead of spinning.
      spdlog::warn("accept failed: {}", ec.message());
      l.retry.expires_after(accept_retry);
      l.retry.async_wait([this, &l](beast::error_code e) {
        if (!e) accept(l);
      });
      return;
    }
    on_accept(l, std::move(socket));
    accept(l);
  });
}

void server::impl::sweep(listener& l) {
  l.sweep.expires_after(deadline_sweep);
  l.sweep.async_wait([this, &l](beast::error_code ec) {
    if (ec) return;
    auto now = coarse_now();
    for (auto* s : l.loop.sessions) s->expire_if_due(now);
    sweep(l);
  });
}

void server::impl::on_accept(listener& l, connection_stream::socket_type socket) {
  beast::error_code ec;
  if (shared.draining.load(std::memory_order_relaxed)) return;  // socket closes here
  // Over max_connections: accept and close at once, so the client fails fast
  // instead of waiting in the backlog.
  if (shared.open_connections.load(std::memory_order_relaxed) >= static_cast<std::int64_t>(shared.max_connections))
    return;
  socket.set_option(tcp::no_delay(true), ec);
  auto remote = socket.remote_endpoint(ec);
  if (ec) return;
  auto ip = remote.address().to_string();
  std::shared_ptr<client_session> session;
  if (shared.listener_tls)
    session = std::make_shared<client_session>(l.loop, connection_stream(std::move(socket), *shared.listener_tls),
                                               true, std::move(ip));
  else
    session = std::make_shared<client_session>(l.loop, connection_stream(std::move(socket)), false, std::move(ip));
  session->start();
}

void server::impl::wait_signal() {
  signals->async_read_some(asio::buffer(&signal_info, sizeof signal_info), [this](beast::error_code ec, std::size_t n) {
    if (ec == asio::error::operation_aborted) return;
    if (ec || n != sizeof signal_info) {
      spdlog::error("cannot read the next signal ({}); SIGHUP, SIGTERM and SIGUSR1 are no longer handled",
                    ec ? ec.message() : "short read");
      return;
    }
    int sig = static_cast<int>(signal_info.ssi_signo);
    if (sig == SIGHUP) {
      reload();
    } else if (sig == SIGUSR1) {
      std::string error;
      if (shared.log && !shared.log->reopen(error))
        spdlog::error("SIGUSR1: cannot reopen the access log: {}", error);
      else
        spdlog::info("SIGUSR1: access log reopened");
    } else if (!draining) {
      spdlog::info("received {}, draining (up to {} ms)", sig == SIGINT ? "SIGINT" : "SIGTERM",
                   current->source.server.drain_timeout.count());
      begin_drain();
    } else {
      spdlog::warn("second stop signal: closing every connection now");
      drain_deadline = std::chrono::steady_clock::now();
    }
    wait_signal();
  });
}

void server::impl::reload() {
  if (opts.config_path.empty()) return;
  auto result = config::load_file(opts.config_path);
  if (!result.snap) {
    spdlog::error("reload of {} failed; the running configuration stays", opts.config_path);
    for (const auto& e : result.errors) spdlog::error("{}", e.to_string());
    return;
  }
  keys->adopt(result.snap);  // before any request sees the new snapshot
  auto changes = listener_changes(current->source, result.snap->source);
  if (!changes.empty()) spdlog::warn("reload: changes to {} take effect only after a restart", changes);
  current = result.snap;
  for (auto& loop : loops)
    asio::post(loop->ioc, [l = loop.get(), snap = current] { l->snap = snap; });
  spdlog::info("configuration reloaded from {}", opts.config_path);
}

void server::impl::begin_drain() {
  draining = true;
  shared.draining.store(true, std::memory_order_relaxed);
  drain_deadline = std::chrono::steady_clock::now() + current->source.server.drain_timeout;
  auto grace = std::min<std::chrono::milliseconds>(drain_idle_grace, current->source.server.drain_timeout);
  for (auto& l : listeners) {
    asio::post(l->loop.ioc, [lp = l.get(), grace] {
      beast::error_code ec;
      lp->acceptor.close(ec);
      lp->retry.cancel();
      lp->retry.expires_after(grace);
      lp->retry.async_wait([lp](beast::error_code) {
        for (auto* s : lp->loop.sessions) s->close_if_idle();
      });
    });
  }
  poll_drain();
}

void server::impl::poll_drain() {
  bool idle = shared.open_connections.load(std::memory_order_relaxed) == 0;
  if (idle || std::chrono::steady_clock::now() >= drain_deadline) {
    if (!idle)
      spdlog::warn("drain_timeout reached with {} connections open; closing them",
                   shared.open_connections.load(std::memory_order_relaxed));
    for (auto& loop : loops) loop->ioc.stop();
    if (admin) admin->stop();
    if (revocations) revocations->stop();
    keys->stop();
    if (signals) signals->cancel();
    control.stop();
    return;
  }
  drain_timer.expires_after(drain_poll);
  drain_timer.async_wait([this](beast::error_code ec) {
    if (!ec) poll_drain();
  });
}

void server::impl::scrape(std::function<void(std::string)> done) {
  // Each loop copies its own counters on its own thread; the copies are merged here.
  struct gather {
    std::vector<admin::thread_metrics> parts;
    std::size_t pending;
    std::function<void(std::string)> done;
    std::vector<keys::fetch_stat> keys_stats;
    std::map<std::string, admin::key_set_info, std::less<>> key_sets;
    admin::revocation_info revocation;
  };
  auto g = std::make_shared<gather>();
  g->keys_stats = keys->stats();
  if (revocations) {
    auto st = revocations->status();
    const auto& set = *revocations->entries().current();
    g->revocation = {true, st.store, st.up, st.sync_age_seconds, st.reconnects,
                     set.count(revocation::kind::jti), set.count(revocation::kind::sub),
                     set.count(revocation::kind::sid)};
  }
  const auto now_ms = keys::key_store::now_ms();
  for (const auto& p : current->providers) {
    if (!p.keys || !p.cfg) continue;
    auto set = p.keys->current();
    g->key_sets[p.cfg->name] = {double(now_ms - p.keys->published_at_ms()) / 1000.0,
                                set ? std::uint64_t(set->keys().size()) : 0};
  }
  g->parts.resize(loops.size());
  g->pending = loops.size();
  g->done = std::move(done);
  for (std::size_t i = 0; i < loops.size(); ++i) {
    asio::post(loops[i]->ioc, [this, g, i, l = loops[i].get()] {
      auto copy = l->metrics;
      auto cache = l->auth.token_cache_counts();
      copy.set_token_cache_counts(cache.hits, cache.misses);
      asio::post(control, [g, i, copy = std::move(copy)]() mutable {
        g->parts[i] = std::move(copy);
        if (--g->pending != 0) return;
        admin::metrics_snapshot all;
        for (const auto& p : g->parts) p.merge_into(all);
        for (const auto& f : g->keys_stats) all.jwks_fetches[f.provider][f.result] += f.count;
        all.key_sets = std::move(g->key_sets);
        all.revocation = g->revocation;
        g->done(all.render_prometheus());
      });
    });
  }
}

// Installs the set on every loop; `applied` runs on the control loop once each
// loop has it, so an API call that waits for it is enforced everywhere when it
// returns.
void server::impl::publish_revocations(std::shared_ptr<const revocation::revocation_set> set,
                                       std::function<void()> applied) {
  auto pending = std::make_shared<std::size_t>(loops.size());
  auto done = std::make_shared<std::function<void()>>(std::move(applied));
  for (auto& loop : loops) {
    asio::post(loop->ioc, [this, l = loop.get(), set, pending, done] {
      l->auth.set_revocations(set);
      asio::post(control, [pending, done] {
        if (--*pending == 0 && *done) (*done)();
      });
    });
  }
  if (loops.empty() && *done) (*done)();
}

std::string server::impl::not_ready() const {
  if (draining) return R"({"status":"not_ready","reason":"draining"})";
  if (revocations && !revocations->status().synced_once)
    return R"({"status":"not_ready","reason":"revocation_store_unavailable"})";
  for (const auto& p : current->providers) {
    auto keys = p.keys ? p.keys->current() : nullptr;
    if (!keys || keys->empty()) {
      std::string out = R"({"status":"not_ready","reason":"keys_unavailable","provider":)";
      append_json_string(out, p.cfg ? p.cfg->name : "");
      out.push_back('}');
      return out;
    }
  }
  return {};
}

server::server(std::unique_ptr<impl> i) : impl_(std::move(i)) {}
server::~server() = default;

std::unique_ptr<server> server::create(std::shared_ptr<const config::snapshot> snap, server_options opts,
                                       std::string& error) {
  // create() starts threads of its own (the access log's writer, the JWKS
  // resolver): they must inherit the mask before the signalfd takes over.
  if (opts.handle_signals) block_handled_signals();
  auto i = std::make_unique<impl>();
  i->opts = std::move(opts);
  i->current = std::move(snap);
  const auto& cfg = i->current->source;
  i->shared.max_connections = cfg.server.max_connections;
  i->shared.http2 = cfg.listen.http2;
  i->shared.log = access_log::open(cfg.server.access_log, error);
  if (!i->shared.log) return nullptr;
  if (cfg.listen.tls) {
    i->shared.listener_tls = net::make_server_tls_context(cfg.listen.tls->cert_file, cfg.listen.tls->key_file, error);
    if (!i->shared.listener_tls) return nullptr;
    net::select_alpn(*i->shared.listener_tls, cfg.listen.http2);
  }
  i->keys = std::make_unique<keys::key_manager>(i->control);
  i->keys->adopt(i->current);
  // 0: one loop per CPU this process may use (a container's cpuset, taskset),
  // not per CPU of the machine.
  unsigned threads = cfg.server.threads;
  if (threads == 0) {
    auto usable = allowed_cpus().size();
    threads = usable != 0 ? static_cast<unsigned>(usable) : std::max(1u, std::thread::hardware_concurrency());
  }
  for (unsigned t = 0; t < threads; ++t) i->loops.push_back(std::make_unique<loop_context>(i->shared, i->current));
  if (!i->bind(error)) return nullptr;
  if (cfg.revocation) {
    auto* raw = i.get();
    i->revocations = revocation::service::create(
        i->control, *cfg.revocation, i->current->redis_password,
        [raw](std::shared_ptr<const revocation::revocation_set> set, std::function<void()> applied) {
          raw->publish_revocations(std::move(set), std::move(applied));
        },
        error);
    if (!i->revocations) return nullptr;
    for (auto& loop : i->loops) loop->auth.set_revocations(i->revocations->entries().current());
    i->shared.control = &i->control;
    i->shared.revocations = i->revocations.get();
  }
  if (cfg.admin) {
    auto* raw = i.get();
    admin::admin_hooks hooks;
    hooks.api = [raw](const admin::admin_request& req, std::function<void(admin::admin_response)> done) {
      if (req.path != revocation::api_path) return false;
      revocation::api_request r{req.method, req.path, req.authorization, req.authorization_count, req.body};
      revocation::handle_api(raw->revocations.get(), raw->current->revocation_admin_token, r,
                             [done = std::move(done)](revocation::api_response res) {
                               done({res.status, std::move(res.body), std::move(res.www_authenticate)});
                             });
      return true;
    };
    hooks.metrics = [raw](std::function<void(std::string)> done) { raw->scrape(std::move(done)); };
    hooks.not_ready = [raw] { return raw->not_ready(); };
    i->admin = admin::admin_server::create(i->control, cfg.admin->address, cfg.admin->port, std::move(hooks), error);
    if (!i->admin) return nullptr;
  }
  return std::unique_ptr<server>(new server(std::move(i)));
}

std::uint16_t server::port() const noexcept { return impl_->bound_port; }
std::uint16_t server::admin_port() const noexcept { return impl_->admin ? impl_->admin->port() : 0; }

void server::shutdown() {
  asio::post(impl_->control, [i = impl_.get()] {
    if (!i->draining) i->begin_drain();
  });
}

void block_handled_signals() {
  sigset_t handled = handled_signals();
  pthread_sigmask(SIG_BLOCK, &handled, nullptr);
}

int server::run() {
  auto& i = *impl_;
  if (i.opts.handle_signals) {
    // Blocked in create() already; here too for the thread that calls run(),
    // should it not be the one that called create(). The loops inherit it.
    block_handled_signals();
    sigset_t handled = handled_signals();
    int fd = ::signalfd(-1, &handled, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) {
      spdlog::error("cannot watch signals: signalfd: {}", std::strerror(errno));
      return 1;
    }
    i.signals.emplace(i.control, fd);
    i.wait_signal();
  }
  std::vector<std::thread> threads;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (std::size_t k = 0; k < i.loops.size(); ++k) {
    guards.push_back(asio::make_work_guard(i.loops[k]->ioc));
    i.accept(*i.listeners[k]);
    i.sweep(*i.listeners[k]);
    threads.emplace_back([loop = i.loops[k].get()] { loop->ioc.run(); });
  }
  if (i.current->source.server.cpu_affinity) pin_loops(threads);
  const char* scheme = i.shared.listener_tls ? " (https)" : "";
  spdlog::info("listening on {}:{}{}", i.address, i.bound_port, scheme);
  if (i.admin) {
    i.admin->start();
    spdlog::info("admin listening on {}:{}", i.current->source.admin->address, i.admin->port());
  }
  if (i.revocations) i.revocations->start();
  auto guard = asio::make_work_guard(i.control);
  i.control.run();
  for (auto& g : guards) g.reset();
  for (auto& loop : i.loops) loop->ioc.stop();
  for (auto& t : threads) t.join();
  // A session still waiting for the control loop's answer to a back-channel
  // logout, or for its upstream call, holds itself (client_session); the
  // loops are joined, so it is let go here, while its loop still exists.
  for (auto& loop : i.loops) {
    std::vector<loop_connection*> open(loop->sessions.begin(), loop->sessions.end());
    for (auto* s : open)
      if (loop->sessions.count(s) != 0) s->drop_self_references();
  }
  // Sessions still open (drain_timeout reached) die with their loops here.
  i.listeners.clear();
  i.loops.clear();
  spdlog::info("stopped");
  return 0;
}

}  // namespace jwtgate::proxy
