#pragma once
// JWS algorithms (RFC 7518 section 3, RFC 8037). `none` is deliberately absent:
// it can never be named, configured or accepted.

#include <cstdint>
#include <optional>
#include <string_view>

namespace jwtgate::jose {

enum class alg : std::uint8_t {
  HS256, HS384, HS512,
  RS256, RS384, RS512,
  PS256, PS384, PS512,
  ES256, ES384, ES512,
  EdDSA,
};
inline constexpr std::size_t alg_count = 13;

enum class alg_family : std::uint8_t { hmac, rsa_pkcs1, rsa_pss, ecdsa, eddsa };

alg_family family(alg a) noexcept;
std::string_view to_string(alg a) noexcept;
// Exact, case-sensitive JOSE name ("RS256"); nullopt for anything else, `none` included.
std::optional<alg> parse_alg(std::string_view name) noexcept;

// A small set of algorithms (a provider's pinned list, a key's allowed algs).
class alg_set {
 public:
  constexpr alg_set() noexcept = default;
  constexpr alg_set(std::initializer_list<alg> algs) noexcept {
    for (alg a : algs) insert(a);
  }
  constexpr void insert(alg a) noexcept { bits_ |= bit(a); }
  constexpr bool contains(alg a) const noexcept { return (bits_ & bit(a)) != 0; }
  constexpr bool empty() const noexcept { return bits_ == 0; }
  constexpr alg_set operator&(alg_set o) const noexcept { return from_bits(bits_ & o.bits_); }
  constexpr bool operator==(const alg_set&) const noexcept = default;

  template <class F>
  constexpr void for_each(F&& f) const {
    for (std::size_t i = 0; i < alg_count; ++i)
      if (bits_ & (1u << i)) f(static_cast<alg>(i));
  }

 private:
  static constexpr std::uint16_t bit(alg a) noexcept { return std::uint16_t(1u << static_cast<unsigned>(a)); }
  static constexpr alg_set from_bits(std::uint16_t b) noexcept { alg_set s; s.bits_ = b; return s; }
  std::uint16_t bits_ = 0;
};

}  // namespace jwtgate::jose
