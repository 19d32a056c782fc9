#pragma once
// A received message head kept flat: one string holding the reason phrase and
// every field name and value back to back, and an index of offsets. Parsing
// an upstream response into it allocates nothing once the session's storage
// has grown to its usual size (a node-based field map allocates per field).
// No Beast here: field ids are plain integers (Beast's http::field values).

#include <cstdint>
#include <string>
#include <string_view>
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
    reason_size_ = 0;
  }

  void set_reason(std::string_view reason) {
    storage_.assign(reason);
    reason_size_ = static_cast<std::uint32_t>(reason.size());
  }
  std::string_view reason() const noexcept { return {storage_.data(), reason_size_}; }

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
  // Every value of the field with this id as one comma-separated list (RFC
  // 9110 section 5.3); a single field is returned in place, repeated ones are
  // joined into `storage`.
  std::string_view joined(int id, std::string& storage) const;

  unsigned status = 0;
  unsigned version = 11;  // 10 or 11

 private:
  std::string storage_;
  std::vector<entry> entries_;
  std::uint32_t reason_size_ = 0;
};

}  // namespace jwtgate::proxy
