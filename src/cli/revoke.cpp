// jwtgate revoke: adds, removes or lists revocation entries through the admin
// API of a running gateway (the admin listener of the config file), with the
// admin token from the variable revocation.admin_token_env names.
//
// Exit status: 0 done, 1 refused by the gateway (the reply is printed), 2
// usage error, unusable config, or the gateway cannot be reached.

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/serialize.hpp>

#include "cli/commands.h"
#include "jwtgate/config/snapshot.h"
#include "jwtgate/config/units.h"

namespace jwtgate::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

constexpr const char* revoke_usage =
    "usage: jwtgate revoke -c FILE (--jti J | --sub S [--before T] | --sid X) [--iss I] [--exp T | --ttl D] [--delete]\n"
    "       jwtgate revoke -c FILE --list\n"
    "\n"
    "Takes tokens back on a running gateway through its admin API\n"
    "(POST/DELETE/GET /revocations on the admin listener of FILE), with the\n"
    "bearer token from the variable that revocation.admin_token_env names.\n"
    "\n"
    "  --jti J          the token whose jti is J\n"
    "  --sub S          every token of subject S issued before --before\n"
    "  --before T       unix seconds (default: now)\n"
    "  --sid X          every token whose sid is X\n"
    "  --iss I          only tokens issued by I\n"
    "  --exp T          drop the entry at T (unix seconds)\n"
    "  --ttl D          drop the entry after D (default: revocation.default_ttl)\n"
    "  --delete         remove the entry instead of adding it\n"
    "  --list           print every entry\n"
    "\n"
    "exit status: 0 done, 1 refused by the gateway, 2 usage, config or connection error\n";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "jwtgate revoke: %s\n\n%s", message.c_str(), revoke_usage);
  return 2;
}

bool parse_unix(std::string_view s, std::int64_t& out) {
  if (s.empty() || s.size() > 15) return false;
  std::int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

}  // namespace

int run_revoke(int argc, char** argv) {
  std::string config_path;
  std::optional<std::string> jti, sub, sid, iss;
  std::optional<std::int64_t> before, exp;
  std::optional<config::duration> ttl;
  bool list = false, remove = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (a == "--help" || a == "-h") {
      std::fputs(revoke_usage, stdout);
      return 0;
    }
    if (a == "--list") { list = true; continue; }
    if (a == "--delete") { remove = true; continue; }
    const char* v = value();
    if (v == nullptr) return usage_error(std::string(a) + " needs a value");
    if (a == "-c" || a == "--config") config_path = v;
    else if (a == "--jti") jti = v;
    else if (a == "--sub") sub = v;
    else if (a == "--sid") sid = v;
    else if (a == "--iss") iss = v;
    else if (a == "--before" || a == "--exp") {
      std::int64_t t = 0;
      if (!parse_unix(v, t)) return usage_error(std::string(a) + " takes unix seconds");
      (a == "--before" ? before : exp) = t;
    } else if (a == "--ttl") {
      config::duration d{};
      std::string error;
      if (!config::parse_duration(v, d, error)) return usage_error("--ttl: " + error);
      ttl = d;
    } else {
      return usage_error("unknown option " + std::string(a));
    }
  }
  if (config_path.empty()) return usage_error("-c FILE is required");
  int kinds = int(jti.has_value()) + int(sub.has_value()) + int(sid.has_value());
  if (list && (kinds != 0 || remove)) return usage_error("--list takes no entry");
  if (!list && kinds != 1) return usage_error("give exactly one of --jti, --sub, --sid (or --list)");
  if (before && !sub) return usage_error("--before applies to --sub only");
  if (exp && ttl) return usage_error("give --exp or --ttl, not both");

  auto loaded = config::load_file(config_path);
  if (!loaded.snap) {
    for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
    return 2;
  }
  const auto& cfg = loaded.snap->source;
  if (!cfg.revocation) return usage_error(config_path + " has no revocation section");
  if (!cfg.admin) return usage_error(config_path + " has no admin listener to call");
  const std::string& token = loaded.snap->revocation_admin_token;
  if (token.empty())
    return usage_error("the variable " + cfg.revocation->admin_token_env + " (revocation.admin_token_env) is not set");

  std::string body;
  if (!list) {
    boost::json::object o;
    if (jti) o["jti"] = *jti;
    if (sub) o["sub"] = *sub;
    if (sid) o["sid"] = *sid;
    if (before) o["before"] = *before;
    if (iss) o["iss"] = *iss;
    if (ttl) exp = static_cast<std::int64_t>(std::time(nullptr)) +
                   std::chrono::duration_cast<std::chrono::seconds>(*ttl).count();
    if (exp) o["exp"] = *exp;
    body = boost::json::serialize(o);
  }

  // A wildcard listen address is reached on the loopback.
  std::string host = cfg.admin->address;
  if (host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  http::request<http::string_body> req(list ? http::verb::get : remove ? http::verb::delete_ : http::verb::post,
                                       "/revocations", 11);
  req.set(http::field::host, host);
  req.set(http::field::authorization, "Bearer " + token);
  if (!list) req.set(http::field::content_type, "application/json");
  req.body() = body;
  req.prepare_payload();
  http::response<http::string_body> res;
  beast::flat_buffer buffer;
  std::string failure;
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return usage_error("admin.address '" + host + "' is not an IP address");
  stream.expires_after(std::chrono::seconds(10));
  stream.async_connect(asio::ip::tcp::endpoint(addr, cfg.admin->port), [&](beast::error_code e) {
    if (e) return void(failure = "cannot connect to the admin listener " + host + ":" +
                              std::to_string(cfg.admin->port) + ": " + e.message());
    http::async_write(stream, req, [&](beast::error_code e2, std::size_t) {
      if (e2) return void(failure = "cannot send the request: " + e2.message());
      http::async_read(stream, buffer, res, [&](beast::error_code e3, std::size_t) {
        if (e3) failure = "no answer from the gateway: " + e3.message();
      });
    });
  });
  ioc.run();
  if (!failure.empty()) {
    std::fprintf(stderr, "jwtgate revoke: %s\n", failure.c_str());
    return 2;
  }
  std::cout << res.body() << "\n";
  return res.result_int() >= 200 && res.result_int() < 300 ? 0 : 1;
}

}  // namespace jwtgate::cli
