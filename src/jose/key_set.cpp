#include "jwtgate/jose/key_set.h"

#include <cstddef>
#include <functional>
#include <unordered_map>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "jose/openssl_util.h"

namespace jwtgate::jose {
namespace {

struct pem_block {
  char* name = nullptr;
  char* header = nullptr;
  unsigned char* data = nullptr;
  long len = 0;
  ~pem_block() {
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
  }
};

EVP_PKEY* key_from_certificate(const unsigned char* der, long len) {
  X509* cert = d2i_X509(nullptr, &der, len);
  if (cert == nullptr) return nullptr;
  EVP_PKEY* key = X509_get_pubkey(cert);  // a new reference
  X509_free(cert);
  return key;
}

// Decodes the first key-bearing PEM block. Private keys are refused on
// purpose: the gateway only verifies, and a private key has no business in
// its configuration.
detail::pkey_ptr decode_public_pem(std::string_view pem, std::string& error) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) {
    error = "out of memory";
    return {};
  }
  detail::pkey_ptr key;
  for (;;) {
    pem_block block;
    if (PEM_read_bio(bio, &block.name, &block.header, &block.data, &block.len) != 1) {
      detail::take_openssl_error();
      error = "no PEM public key or certificate found";
      break;
    }
    const std::string_view label = block.name;
    const unsigned char* der = block.data;
    if (label == "EC PARAMETERS") continue;  // openssl ecparam -genkey writes it before the key
    if (label == "PUBLIC KEY") {
      key = detail::adopt_pkey(d2i_PUBKEY(nullptr, &der, block.len));
    } else if (label == "RSA PUBLIC KEY") {
      key = detail::adopt_pkey(d2i_PublicKey(EVP_PKEY_RSA, nullptr, &der, block.len));
    } else if (label == "CERTIFICATE" || label == "X509 CERTIFICATE") {
      key = detail::adopt_pkey(key_from_certificate(der, block.len));
    } else if (label.find("PRIVATE KEY") != std::string_view::npos) {
      error = "the PEM holds a private key; give the public key instead (openssl pkey -in KEY -pubout)";
      break;
    } else {
      error = "unsupported PEM block \"" + std::string(label) + "\"";
      break;
    }
    if (!key) error = "invalid " + std::string(label) + " PEM: " + detail::take_openssl_error();
    break;
  }
  BIO_free(bio);
  return key;
}

}  // namespace

key_set::key_set(std::vector<key> keys) : keys_(std::move(keys)) {
  std::vector<std::vector<std::uint32_t>> groups;
  std::unordered_map<std::string_view, std::size_t> group_of;  // views keys_, used only here
  std::array<std::vector<std::uint32_t>, alg_count> algs;
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    auto [it, fresh] = group_of.emplace(keys_[i].kid, groups.size());
    if (fresh) groups.emplace_back();
    groups[it->second].push_back(static_cast<std::uint32_t>(i));
    algs[static_cast<std::size_t>(keys_[i].algorithm)].push_back(static_cast<std::uint32_t>(i));
  }
  auto append = [&](const std::vector<std::uint32_t>& v) {
    range r{static_cast<std::uint32_t>(order_.size()), 0};
    order_.insert(order_.end(), v.begin(), v.end());
    r.end = static_cast<std::uint32_t>(order_.size());
    return r;
  };
  std::size_t slots = 8;
  while (slots < 2 * groups.size()) slots *= 2;
  kid_slots_.assign(groups.empty() ? 0 : slots, 0);
  for (std::size_t g = 0; g < groups.size(); ++g) {
    by_kid_.push_back(append(groups[g]));
    std::size_t i = std::hash<std::string_view>{}(keys_[groups[g].front()].kid) & (kid_slots_.size() - 1);
    while (kid_slots_[i] != 0) i = (i + 1) & (kid_slots_.size() - 1);
    kid_slots_[i] = static_cast<std::uint32_t>(g + 1);
  }
  for (std::size_t a = 0; a < alg_count; ++a) by_alg_[a] = append(algs[a]);
}

std::span<const std::uint32_t> key_set::with_kid(std::string_view kid) const noexcept {
  if (kid_slots_.empty()) return {};
  const std::size_t mask = kid_slots_.size() - 1;
  for (std::size_t i = std::hash<std::string_view>{}(kid) & mask; kid_slots_[i] != 0; i = (i + 1) & mask) {
    const range r = by_kid_[kid_slots_[i] - 1];
    if (keys_[order_[r.begin]].kid == kid) return std::span(order_).subspan(r.begin, r.end - r.begin);
  }
  return {};
}

std::span<const std::uint32_t> key_set::with_alg(alg a) const noexcept {
  const range r = by_alg_[static_cast<std::size_t>(a)];
  return std::span(order_).subspan(r.begin, r.end - r.begin);
}

bool make_hmac_key(std::string kid, alg a, std::string secret, key& out, std::string& error) {
  if (family(a) != alg_family::hmac) {
    error = std::string(to_string(a)) + " is not an HMAC algorithm: a shared secret cannot verify it";
    return false;
  }
  const std::size_t min = detail::hmac_min_secret(a);
  if (secret.size() < min) {
    error = "HMAC secret of " + std::to_string(secret.size()) + " bytes is too short for " +
            std::string(to_string(a)) + ": at least " + std::to_string(min) + " bytes are required";
    return false;
  }
  auto keyed = detail::keyed_hmac(a, secret);
  if (!keyed) {
    error = "HMAC key setup failed: " + detail::take_openssl_error();
    return false;
  }
  out = key{std::move(kid), a, std::move(secret), nullptr, std::move(keyed)};
  return true;
}

bool load_public_key_pem(std::string kid, alg a, std::string_view pem, key& out, std::string& error) {
  if (family(a) == alg_family::hmac) {
    error = std::string(to_string(a)) + " is an HMAC algorithm: it takes a shared secret, never a public key";
    return false;
  }
  detail::pkey_ptr pkey = decode_public_pem(pem, error);
  if (!pkey) return false;
  if (!detail::check_key_for_alg(pkey.get(), a, error)) return false;
  auto verifier = detail::verify_template(pkey.get(), a);
  out = key{std::move(kid), a, {}, std::move(pkey), nullptr, std::move(verifier)};
  return true;
}

}  // namespace jwtgate::jose
