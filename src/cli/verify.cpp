// jwtgate verify: decodes a token, prints its header and claims, and verifies
// it against the providers of a config file exactly as a route naming them
// would (issuer match first, then the providers without issuer in order).
//
// Exit status: 0 valid, 1 invalid, 2 usage error or unusable config file.
// The jwks_url and discovery sources of the providers are fetched first, as
// `serve` would (with each source's ca_file), within --timeout.

#include <cstdio>
#include <ctime>
#include <iostream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "jwtgate/auth/authenticate.h"
#include "jwtgate/auth/thread_context.h"
#include "jwtgate/config/snapshot.h"
#include "jwtgate/config/units.h"
#include "jwtgate/jose/base64url.h"
#include "jwtgate/jose/json.h"
#include "jwtgate/jose/status.h"
#include "jwtgate/keys/key_manager.h"

namespace jwtgate::cli {
namespace {

constexpr const char* verify_usage =
    "usage: jwtgate verify -c FILE [--provider NAME] [TOKEN|-]\n"
    "\n"
    "Decodes a token (the argument, or stdin when absent or '-'), prints its\n"
    "header and claims, verifies it against the config's providers and prints\n"
    "'valid' or the failure reason code, then one sentence.\n"
    "\n"
    "  -c, --config FILE   the gateway configuration\n"
    "  --provider NAME     verify with this provider only (default: every\n"
    "                      provider, issuer match first)\n"
    "  --timeout DURATION  how long to wait for jwks_url and discovery\n"
    "                      fetches (default 10s)\n"
    "\n"
    "exit status: 0 valid, 1 invalid, 2 usage or config error\n";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "jwtgate verify: %s\n\n%s", message.c_str(), verify_usage);
  return 2;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

void indent(std::string& out, int depth) { out.append(static_cast<std::size_t>(depth) * 2, ' '); }

void pretty(const boost::json::value& v, std::string& out, int depth) {
  if (v.is_object()) {
    const auto& o = v.get_object();
    if (o.empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    std::size_t i = 0;
    for (const auto& member : o) {
      indent(out, depth + 1);
      out += boost::json::serialize(boost::json::value(member.key()));
      out += ": ";
      pretty(member.value(), out, depth + 1);
      out += ++i < o.size() ? ",\n" : "\n";
    }
    indent(out, depth);
    out += "}";
  } else if (v.is_array()) {
    const auto& a = v.get_array();
    if (a.empty()) {
      out += "[]";
      return;
    }
    out += "[\n";
    for (std::size_t i = 0; i < a.size(); ++i) {
      indent(out, depth + 1);
      pretty(a[i], out, depth + 1);
      out += i + 1 < a.size() ? ",\n" : "\n";
    }
    indent(out, depth);
    out += "]";
  } else {
    out += boost::json::serialize(v);
  }
}

// Decodes one dot-separated part as a JSON object, for display only; the
// verdict always comes from the strict parser.
bool decode_part(std::string_view part, boost::json::object& out) {
  std::string bytes, error;
  return jose::base64url_decode(part, bytes) && jose::parse_json_object(bytes, out, error);
}

void print_decoded(std::string_view token) {
  std::size_t first = token.find('.');
  if (first == std::string_view::npos) return;
  std::size_t second = token.find('.', first + 1);
  boost::json::object header, claims;
  if (!decode_part(token.substr(0, first), header)) return;
  std::string text = "header:\n";
  pretty(header, text, 0);
  if (second != std::string_view::npos && decode_part(token.substr(first + 1, second - first - 1), claims)) {
    text += "\nclaims:\n";
    pretty(claims, text, 0);
  }
  std::printf("%s\n", text.c_str());
}

// Fetches the remote keys of `providers` once, as serve does at start: each
// provider's key store gets what its first round brought. Prints a line on
// stderr for every remote provider still without keys.
void fetch_remote_keys(const std::shared_ptr<const config::snapshot>& snap,
                       const std::vector<const config::provider*>& providers, std::chrono::milliseconds timeout) {
  bool any_remote = false;
  for (const auto* p : providers) any_remote = any_remote || p->has_remote_keys;
  if (!any_remote) return;
  boost::asio::io_context ioc;
  keys::key_manager manager(ioc);
  manager.adopt(snap);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!manager.first_rounds_done() && std::chrono::steady_clock::now() < deadline) {
    ioc.run_for(std::chrono::milliseconds(50));
    if (ioc.stopped()) ioc.restart();
  }
  bool timed_out = !manager.first_rounds_done();
  manager.stop();
  ioc.restart();
  ioc.poll();
  for (const auto* p : providers) {
    if (!p->has_remote_keys || !p->keys) continue;
    auto current = p->keys->current();
    if (current && !current->empty()) continue;
    if (timed_out)
      std::fprintf(stderr, "jwtgate verify: provider '%s': no keys fetched within %lld ms (jwks_url or discovery "
                           "did not answer in time)\n", p->cfg->name.c_str(), static_cast<long long>(timeout.count()));
    else
      std::fprintf(stderr, "jwtgate verify: provider '%s': its jwks_url or discovery sources gave no usable key "
                           "(see the jwks: lines above)\n", p->cfg->name.c_str());
  }
}

}  // namespace

int run_verify(int argc, char** argv) {
  std::string config_path, provider_name, token_arg;
  bool have_provider = false, have_token = false;
  std::chrono::milliseconds fetch_timeout(10000);
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(verify_usage, stdout);
      return 0;
    }
    if (arg == "--timeout") {
      if (i + 1 >= argc) return usage_error("--timeout needs a value");
      config::duration d{};
      std::string why;
      if (!config::parse_duration(argv[++i], d, why) || d.count() <= 0)
        return usage_error("--timeout: expected a duration such as 10s or 500ms");
      fetch_timeout = d;
    } else if (arg == "-c" || arg == "--config" || arg == "--provider") {
      if (i + 1 >= argc) return usage_error(std::string(arg) + " needs a value");
      (arg == "--provider" ? provider_name : config_path) = argv[++i];
      if (arg == "--provider") have_provider = true;
    } else if (arg.size() > 1 && arg.front() == '-' && arg != "-") {
      return usage_error("unknown option '" + std::string(arg) + "'");
    } else {
      if (have_token) return usage_error("more than one token given");
      token_arg = std::string(arg);
      have_token = true;
    }
  }
  if (config_path.empty()) return usage_error("-c FILE is required");

  std::string input;
  if (!have_token || token_arg == "-") {
    input.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    input = std::move(token_arg);
  }
  std::string token(trim(input));
  if (token.empty()) return usage_error("no token given");

  config::load_result loaded = config::load_file(config_path);
  if (!loaded.snap) {
    for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
    return 2;
  }
  const config::snapshot& snap = *loaded.snap;

  std::vector<const config::provider*> providers;
  for (const auto& p : snap.providers)
    if (!have_provider || (p.cfg != nullptr && p.cfg->name == provider_name)) providers.push_back(&p);
  if (have_provider && providers.empty()) return usage_error("no provider named '" + provider_name + "'");
  if (providers.empty()) return usage_error("the config has no providers");

  print_decoded(token);

  // Diagnostics (jwks: lines) on stderr; stdout carries only the verdict.
  spdlog::set_default_logger(spdlog::stderr_color_mt("jwtgate"));
  spdlog::set_pattern("%l %v");
  fetch_remote_keys(loaded.snap, providers, fetch_timeout);

  auth::thread_context ctx(0);
  auth::authentication result = auth::authenticate(snap, providers, token, ctx, std::time(nullptr));
  if (result.status == jose::status::ok) {
    std::printf("valid\n%s (provider %s).\n", std::string(jose::describe(result.status)).c_str(),
                result.provider->cfg->name.c_str());
    return 0;
  }
  std::string sentence(jose::describe(result.status));
  if (result.provider != nullptr && result.provider->cfg != nullptr) sentence += " (provider " + result.provider->cfg->name + ")";
  std::printf("%s\n%s.\n", std::string(jose::to_string(result.status)).c_str(), sentence.c_str());
  return 1;
}

}  // namespace jwtgate::cli
