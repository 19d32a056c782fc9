#pragma once
// One event loop: its io_context and thread-owned state. Everything here is
// touched only from the loop's own thread (or before it starts), so the
// request path takes no lock; the few values other threads read are atomics.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <unordered_set>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "jwtgate/admin/metrics.h"
#include "jwtgate/auth/thread_context.h"
#include "jwtgate/config/snapshot.h"
#include "jwtgate/proxy/access_log.h"
#include "jwtgate/proxy/flat_head.h"
#include "jwtgate/proxy/request_id.h"
#include "upstream_pool.h"

namespace jwtgate::revocation { class service; }

namespace jwtgate::proxy {

// A client connection its loop sweeps for deadlines and closes on drain
// (an HTTP/1 client_session or an HTTP/2 h2_session).
class loop_connection {
 public:
  // Drain: close what waits for its next request (HTTP/2: GOAWAY first).
  virtual void close_if_idle() = 0;
  virtual void expire_if_due(std::chrono::steady_clock::time_point now) = 0;
  // At shutdown, after the loop's thread was joined: lets go of references
  // the session holds to itself while something else (the control loop, an
  // upstream call) is to answer it.
  virtual void drop_self_references() noexcept {}

 protected:
  ~loop_connection() = default;
};

// State every loop reads; written before the loops start or via atomics.
struct shared_state {
  std::shared_ptr<access_log> log;
  // The control loop and the revocation store on it (nullptr: revocation off);
  // back-channel logout posts its entries there.
  boost::asio::io_context* control = nullptr;
  revocation::service* revocations = nullptr;
  std::shared_ptr<boost::asio::ssl::context> listener_tls;  // nullptr: plain HTTP
  bool http2 = true;  // listen.http2 as the listener started with
  std::atomic<bool> draining{false};
  std::atomic<std::int64_t> open_connections{0};  // every loop; for max_connections and drain
  std::size_t max_connections = 10000;
};

// Buffers of one size a loop lends and takes back, keeping up to MaxSpares.
// Not zero-filled: only bytes written into one are ever read.
template <std::size_t Size, std::size_t MaxSpares>
class spare_buffers {
 public:
  std::unique_ptr<char[]> take() {
    if (spares_.empty()) return std::make_unique_for_overwrite<char[]>(Size);
    auto b = std::move(spares_.back());
    spares_.pop_back();
    return b;
  }
  void give(std::unique_ptr<char[]> b) {
    if (b && spares_.size() < MaxSpares) spares_.push_back(std::move(b));
  }

 private:
  std::vector<std::unique_ptr<char[]>> spares_;
};

// Memory blocks of one size (the first one given back), reused by a loop for
// objects made per request: a busy loop takes from here instead of malloc.
class block_cache {
 public:
  static constexpr std::size_t max_spares = 256;
  block_cache() { spares_.reserve(max_spares); }
  ~block_cache() {
    for (void* p : spares_) ::operator delete(p);
  }
  block_cache(const block_cache&) = delete;
  block_cache& operator=(const block_cache&) = delete;

  void* take(std::size_t size) {
    if (size == size_ && !spares_.empty()) {
      void* p = spares_.back();
      spares_.pop_back();
      return p;
    }
    return ::operator new(size);
  }
  void give(void* p, std::size_t size) noexcept {
    if (size_ == 0) size_ = size;
    if (size == size_ && spares_.size() < max_spares) spares_.push_back(p);  // reserved: no allocation
    else ::operator delete(p);
  }

 private:
  std::size_t size_ = 0;
  std::vector<void*> spares_;
};

// For std::allocate_shared: the object and its control block in a block_cache.
template <class T>
class cached_allocator {
 public:
  using value_type = T;
  explicit cached_allocator(block_cache& cache) noexcept : cache_(&cache) {}
  template <class U>
  cached_allocator(const cached_allocator<U>& other) noexcept : cache_(other.cache_) {}
  T* allocate(std::size_t n) { return static_cast<T*>(cache_->take(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { cache_->give(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const cached_allocator<U>& other) const noexcept { return cache_ == other.cache_; }

 private:
  template <class U>
  friend class cached_allocator;
  block_cache* cache_;
};

struct loop_context {
  loop_context(shared_state& s, std::shared_ptr<const config::snapshot> first)
      : shared(s), snap(std::move(first)), auth(snap->source.server.token_cache_entries), pool(ioc) {}

  // Declaration order is destruction order, reversed: the pool's idle sockets
  // go first while the io_context lives, then the io_context destroys pending
  // handlers (and with them the sessions), which still find the rest alive.
  shared_state& shared;
  // The current config for new requests; replaced on reload by a task posted here.
  std::shared_ptr<const config::snapshot> snap;
  auth::thread_context auth;
  admin::thread_metrics metrics;

  // Body relay buffers: a session holds one only while a body is moving, so
  // idle keep-alive connections cost no relay memory, and a busy loop reuses
  // a few buffers instead of allocating one per request.
  static constexpr std::size_t relay_buffer_size = 64 * 1024;
  static constexpr std::size_t max_spare_relay_buffers = 64;
  spare_buffers<relay_buffer_size, max_spare_relay_buffers> relay_buffers;
  std::unique_ptr<char[]> take_relay_buffer() { return relay_buffers.take(); }
  void give_relay_buffer(std::unique_ptr<char[]> b) { relay_buffers.give(std::move(b)); }
  // Small relay buffers, for upstream responses that declare a short body:
  // a loop with hundreds of small responses in flight would otherwise lend
  // (and, past its spares, allocate) 64 KiB for each.
  static constexpr std::size_t small_relay_buffer_size = 4 * 1024;
  spare_buffers<small_relay_buffer_size, 256> small_relay_buffers;
  std::unique_ptr<char[]> take_small_relay_buffer() { return small_relay_buffers.take(); }
  void give_small_relay_buffer(std::unique_ptr<char[]> b) { small_relay_buffers.give(std::move(b)); }
  // Request-head read buffers, lent the same way: a plain-TCP connection
  // waiting for its next request holds none.
  static constexpr std::size_t read_buffer_size = 16 * 1024;
  std::vector<boost::beast::flat_buffer> spare_read_buffers;

  void take_read_buffer(boost::beast::flat_buffer& b) {
    if (b.capacity() >= read_buffer_size) return;
    if (!spare_read_buffers.empty()) {
      b = std::move(spare_read_buffers.back());
      spare_read_buffers.pop_back();
      return;
    }
    b.reserve(read_buffer_size);
  }
  void give_read_buffer(boost::beast::flat_buffer& b) {
    if (b.size() != 0 || b.capacity() == 0) return;
    if (spare_read_buffers.size() < max_spare_relay_buffers) spare_read_buffers.push_back(std::move(b));
    else b.shrink_to_fit();
    b = boost::beast::flat_buffer();
  }

  // The head storage of sessions waiting for their next request, lent the
  // same way: an idle keep-alive connection holds none of it, and a busy loop
  // still reuses capacity instead of allocating per request.
  struct head_storage {
    std::string res_head;
    flat_head req_in, out_fields;
  };
  std::vector<head_storage> spare_heads;
  // Upstream calls' response heads and HTTP/1 request heads, lent the same
  // way (upstream_call.cpp).
  std::vector<flat_head> spare_response_heads;
  std::vector<std::string> spare_request_heads;
  // HTTP/1 upstream calls; declared before the io_context, whose pending
  // handlers may hold the last reference to one when it is destroyed.
  block_cache h1_calls;

  request_id_generator ids;
  std::unordered_set<loop_connection*> sessions;  // open sessions, for drain and deadlines
  // Every I/O object of a loop is used on the loop's thread only; other
  // threads just post to it. So the reactor skips its per-descriptor locks.
  boost::asio::io_context ioc{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  upstream_pool pool;
  // This loop's HTTP/2 upstream connections (upstream_h2.cpp), made on first use.
  std::shared_ptr<void> h2_upstreams;
};

}  // namespace jwtgate::proxy
