#pragma once
// A received message head kept flat: one string holding the reason phrase and
// every field name and value back to back, and an index of offsets. Parsing
// an upstream response into it allocates nothing once the session's storage
// has grown to its usual size (a node-based field map allocates per field).
// No Beast here: field ids are plain integers (Beast's http::field values).

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace jwtgate::proxy {

class flat_head {
 public:
  struct entry {
    int id;  // Beast http::field value; 0 for a name Beast does not know
    std::uint32_t name_offset, name_size, value_offset, value_size;
  };

  void clear() noexcept {
    storage_.clear();
    entries_.clear();
    status = 0;
    version = 11;
    method = 0;
    first_size_ = second_size_ = 0;
  }

  // The start line's strings, stored ahead of the fields.
  // Gives memory back when this head needed more than `bytes` of storage, so a
  // connection that once carried a large head does not keep it while idle.
  void release_if_larger(std::size_t bytes) {
    if (storage_.capacity() > bytes) std::string().swap(storage_);
    if (entries_.capacity() * sizeof(entry) > bytes) std::vector<entry>().swap(entries_);
  }

  std::size_t capacity_bytes() const noexcept { return storage_.capacity() + entries_.capacity() * sizeof(entry); }

  void set_reason(std::string_view reason) { set_start(reason, {}); }
  void set_request_line(int method_id, std::string_view method_string, std::string_view target) {
    method = method_id;
    set_start(method_string, target);
  }
  std::string_view reason() const noexcept { return {storage_.data(), first_size_}; }
  std::string_view method_string() const noexcept { return {storage_.data(), first_size_}; }
  std::string_view target() const noexcept { return {storage_.data() + first_size_, second_size_}; }

  void add(int id, std::string_view name, std::string_view value) {
    entry e{id, static_cast<std::uint32_t>(storage_.size()), static_cast<std::uint32_t>(name.size()), 0,
            static_cast<std::uint32_t>(value.size())};
    storage_.append(name);
    e.value_offset = static_cast<std::uint32_t>(storage_.size());
    storage_.append(value);
    entries_.push_back(e);
  }

  const std::vector<entry>& entries() const noexcept { return entries_; }
  std::string_view name(const entry& e) const noexcept { return {storage_.data() + e.name_offset, e.name_size}; }
  std::string_view value(const entry& e) const noexcept { return {storage_.data() + e.value_offset, e.value_size}; }

  // Fields with this id (a known name).
  std::size_t count(int id) const noexcept {
    std::size_t n = 0;
    for (const auto& e : entries_) n += e.id == id;
    return n;
  }
  // The first value of the field with this id, or empty.
  std::string_view first(int id) const noexcept {
    for (const auto& e : entries_)
      if (e.id == id) return value(e);
    return {};
  }
  // The same by enum (Beast's http::field), as Beast's fields spell it.
  template <class Field>
    requires std::is_enum_v<Field>
  std::size_t count(Field id) const noexcept {
    return count(static_cast<int>(id));
  }
  template <class Field>
    requires std::is_enum_v<Field>
  std::string_view operator[](Field id) const noexcept {
    return first(static_cast<int>(id));
  }
  // By name, case-insensitively (for names without an id, such as X-Request-Id).
  std::size_t count(std::string_view name) const noexcept;
  std::string_view operator[](std::string_view name) const noexcept;

  // Every value of the field with this id as one comma-separated list (RFC
  // 9110 section 5.3); a single field is returned in place, repeated ones are
  // joined into `storage`.
  std::string_view joined(int id, std::string& storage) const;

  unsigned status = 0;    // responses
  int method = 0;         // requests: Beast's http::verb value
  unsigned version = 11;  // 10 or 11

 private:
  std::string storage_;
  std::vector<entry> entries_;
  void set_start(std::string_view first, std::string_view second) {
    storage_.assign(first);
    storage_.append(second);
    first_size_ = static_cast<std::uint32_t>(first.size());
    second_size_ = static_cast<std::uint32_t>(second.size());
  }

  std::uint32_t first_size_ = 0, second_size_ = 0;
};

}  // namespace jwtgate::proxy
