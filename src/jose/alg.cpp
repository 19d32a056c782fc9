#include "jwtgate/jose/alg.h"

#include <array>

namespace jwtgate::jose {
namespace {

constexpr std::array<std::string_view, alg_count> names = {
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256",
    "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
};

}  // namespace

alg_family family(alg a) noexcept {
  switch (a) {
    case alg::HS256: case alg::HS384: case alg::HS512: return alg_family::hmac;
    case alg::RS256: case alg::RS384: case alg::RS512: return alg_family::rsa_pkcs1;
    case alg::PS256: case alg::PS384: case alg::PS512: return alg_family::rsa_pss;
    case alg::ES256: case alg::ES384: case alg::ES512: return alg_family::ecdsa;
    case alg::EdDSA: return alg_family::eddsa;
  }
  return alg_family::hmac;
}

std::string_view to_string(alg a) noexcept {
  const auto i = static_cast<std::size_t>(a);
  return i < names.size() ? names[i] : std::string_view("unknown");
}

std::optional<alg> parse_alg(std::string_view name) noexcept {
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<alg>(i);
  return std::nullopt;
}

}  // namespace jwtgate::jose
