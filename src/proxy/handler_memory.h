#pragma once
// Memory for the handler of one asynchronous operation at a time, kept in
// the object that starts it. Asio's per-thread cache holds only a couple of
// blocks, so a loop with hundreds of upstream reads and writes in flight
// would otherwise allocate and free one per operation.

#include <cstddef>
#include <new>

namespace jwtgate::proxy {

// Size: what the operations it serves need (measured with the build's
// Boost; a larger one still works, from the heap).
template <std::size_t Size>
class handler_memory {
 public:
  handler_memory() = default;
  handler_memory(const handler_memory&) = delete;
  handler_memory& operator=(const handler_memory&) = delete;

  void* allocate(std::size_t size) {
    if (!in_use_ && size <= sizeof storage_) {
      in_use_ = true;
      return storage_;
    }
    return ::operator new(size);  // a second operation, or a larger one
  }

  void deallocate(void* p) noexcept {
    if (p == storage_) in_use_ = false;
    else ::operator delete(p);
  }

 private:
  alignas(std::max_align_t) unsigned char storage_[Size];
  bool in_use_ = false;
};

// The allocator to bind to a handler (asio::bind_allocator).
template <class T, std::size_t Size>
class handler_allocator {
 public:
  using value_type = T;
  template <class U>
  struct rebind {
    using other = handler_allocator<U, Size>;
  };

  explicit handler_allocator(handler_memory<Size>& m) noexcept : memory_(&m) {}
  template <class U>
  handler_allocator(const handler_allocator<U, Size>& other) noexcept : memory_(other.memory_) {}

  T* allocate(std::size_t n) { return static_cast<T*>(memory_->allocate(sizeof(T) * n)); }
  void deallocate(T* p, std::size_t) noexcept { memory_->deallocate(p); }

  template <class U>
  bool operator==(const handler_allocator<U, Size>& other) const noexcept {
    return memory_ == other.memory_;
  }

 private:
  template <class, std::size_t>
  friend class handler_allocator;
  handler_memory<Size>* memory_;
};

template <std::size_t Size>
handler_allocator<char, Size> allocator_of(handler_memory<Size>& m) noexcept {
  return handler_allocator<char, Size>(m);
}

}  // namespace jwtgate::proxy
