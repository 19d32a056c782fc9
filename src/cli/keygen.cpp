// jwtgate keygen: writes a fresh private key (or HMAC secret) and its JWKS.
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.h"
#include "jwtgate/jose/alg.h"
#include "jwtgate/jose/keygen.h"

namespace jwtgate::cli {
namespace {

constexpr const char* keygen_usage =
    "usage: jwtgate keygen --alg ALG [--kid KID] --out DIR\n"
    "\n"
    "Writes DIR/private.pem (PKCS#8; DIR/secret for HS*) with mode 0600 and\n"
    "DIR/jwks.json, the matching JWKS (kid, alg, use: sig). For HS* the JWKS\n"
    "holds the shared secret and is written with mode 0600 as well.\n"
    "Keys: RSA 2048 (RS*, PS*), P-256/P-384/P-521 (ES256/384/512), Ed25519\n"
    "(EdDSA); HS* secrets are base64url text of 32/48/64 random bytes.\n"
    "An existing private key or secret in DIR is never overwritten.\n";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "jwtgate keygen: %s\n\n%s", message.c_str(), keygen_usage);
  return 2;
}

}  // namespace

int run_keygen(int argc, char** argv) {
  std::string alg_name, kid, out_dir;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(keygen_usage, stdout);
      return 0;
    }
    std::string value;
    const auto eq = arg.find('=');
    const std::string_view name = arg.substr(0, eq);
    if (eq != std::string_view::npos && name.starts_with("--")) value = std::string(arg.substr(eq + 1));
    else if (i + 1 < argc) value = argv[++i];
    else return usage_error("option " + std::string(arg) + " needs a value");
    if (name == "--alg") alg_name = value;
    else if (name == "--kid") kid = value;
    else if (name == "--out") out_dir = value;
    else return usage_error("unknown option " + std::string(name));
  }
  if (alg_name.empty() || out_dir.empty()) return usage_error("--alg and --out are required");
  const auto a = jose::parse_alg(alg_name);
  if (!a) return usage_error("unknown algorithm '" + alg_name + "'");

  jose::generated_key key;
  std::string error;
  std::vector<std::string> written;
  if (!jose::generate_key(*a, kid, key, error) || !jose::write_key_files(key, out_dir, written, error)) {
    std::fprintf(stderr, "jwtgate keygen: %s\n", error.c_str());
    return 1;
  }
  for (const auto& path : written) std::printf("wrote %s\n", path.c_str());
  return 0;
}

}  // namespace jwtgate::cli
