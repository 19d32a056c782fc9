// jwtgate mint: signs a token with a private key or secret file, for
// development and tests.
#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "cli/commands.h"
#include "jwtgate/jose/alg.h"
#include "jwtgate/jose/sign.h"

namespace jwtgate::cli {
namespace {

constexpr const char* mint_usage =
    "usage: jwtgate mint --alg ALG --key FILE [--kid KID] [--sub S] [--ttl 15m]\n"
    "                    [--iss I] [--aud A] [--claim k=v]...\n"
    "\n"
    "Signs a token and prints it on stdout (iat = now, exp = now + ttl).\n"
    "\n"
    "  --alg ALG      HS256 HS384 HS512 RS256 RS384 RS512 PS256 PS384 PS512\n"
    "                 ES256 ES384 ES512 EdDSA\n"
    "  --key FILE     private key PEM, or for HS* a secret file (raw bytes,\n"
    "                 one trailing newline trimmed)\n"
    "  --kid KID      key id put in the header\n"
    "  --sub S        subject claim\n"
    "  --ttl D        lifetime: 90 (seconds), 250ms, 10s, 15m, 24h (default 15m)\n"
    "  --iss I        issuer claim\n"
    "  --aud A        audience claim\n"
    "  --claim k=v    extra claim; v is JSON when it parses as a number, boolean,\n"
    "                 array or object, else a string. Applied last, so it can\n"
    "                 override iat/exp (e.g. to mint an expired token).\n";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "jwtgate mint: %s\n\n%s", message.c_str(), mint_usage);
  return 2;
}

// "90", "250ms", "10s", "15m", "24h" -> milliseconds.
bool parse_duration(std::string_view text, std::int64_t& ms) {
  std::size_t i = 0;
  std::int64_t n = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    if (n > 1'000'000'000'000) return false;
    n = n * 10 + (text[i++] - '0');
  }
  if (i == 0) return false;
  const std::string_view unit = text.substr(i);
  if (unit.empty() || unit == "s") ms = n * 1000;
  else if (unit == "ms") ms = n;
  else if (unit == "m") ms = n * 60'000;
  else if (unit == "h") ms = n * 3'600'000;
  else return false;
  return true;
}

boost::json::value claim_value(std::string_view text) {
  boost::json::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (!ec && (v.is_number() || v.is_bool() || v.is_array() || v.is_object())) return v;
  return boost::json::value(text);
}

struct mint_options {
  std::string alg, key, kid, sub, iss, aud, ttl = "15m";
  std::vector<std::string> claims;
};

}  // namespace

int run_mint(int argc, char** argv) {
  mint_options opt;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(mint_usage, stdout);
      return 0;
    }
    std::string value;
    const auto eq = arg.find('=');
    const std::string_view name = arg.substr(0, eq);
    if (eq != std::string_view::npos && name.starts_with("--")) {
      value = std::string(arg.substr(eq + 1));
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return usage_error("option " + std::string(arg) + " needs a value");
    }
    if (name == "--alg") opt.alg = value;
    else if (name == "--key") opt.key = value;
    else if (name == "--kid") opt.kid = value;
    else if (name == "--sub") opt.sub = value;
    else if (name == "--ttl") opt.ttl = value;
    else if (name == "--iss") opt.iss = value;
    else if (name == "--aud") opt.aud = value;
    else if (name == "--claim") opt.claims.push_back(value);
    else return usage_error("unknown option " + std::string(name));
  }
  if (opt.alg.empty() || opt.key.empty()) return usage_error("--alg and --key are required");
  const auto a = jose::parse_alg(opt.alg);
  if (!a) return usage_error("unknown algorithm '" + opt.alg + "'");
  std::int64_t ttl_ms = 0;
  if (!parse_duration(opt.ttl, ttl_ms)) return usage_error("invalid --ttl '" + opt.ttl + "'");

  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  boost::json::object claims;
  if (!opt.iss.empty()) claims["iss"] = opt.iss;
  if (!opt.sub.empty()) claims["sub"] = opt.sub;
  if (!opt.aud.empty()) claims["aud"] = opt.aud;
  claims["iat"] = now;
  claims["exp"] = now + ttl_ms / 1000;
  for (const auto& c : opt.claims) {
    const auto eq = c.find('=');
    if (eq == std::string::npos || eq == 0) return usage_error("--claim needs the form name=value, got '" + c + "'");
    claims[c.substr(0, eq)] = claim_value(std::string_view(c).substr(eq + 1));
  }

  jose::signing_key key;
  std::string error, token;
  if (!jose::load_signing_key_file(*a, opt.key, key, error) || !jose::sign_jwt(key, opt.kid, claims, token, error)) {
    std::fprintf(stderr, "jwtgate mint: %s\n", error.c_str());
    return 1;
  }
  std::printf("%s\n", token.c_str());
  return 0;
}

}  // namespace jwtgate::cli
