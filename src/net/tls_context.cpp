#include "jwtgate/net/tls_context.h"

#include <string_view>

namespace jwtgate::net {

namespace ssl = boost::asio::ssl;

std::shared_ptr<ssl::context> make_server_tls_context(const std::string& cert_file,
                                                      const std::string& key_file, std::string& error) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                       ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use,
                   ec);
  ctx->use_certificate_chain_file(cert_file, ec);
  if (ec) {
    error = "cannot use TLS certificate '" + cert_file + "': " + ec.message();
    return nullptr;
  }
  ctx->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) {
    error = "cannot use TLS private key '" + key_file + "': " + ec.message();
    return nullptr;
  }
  return ctx;
}

std::shared_ptr<ssl::context> make_client_tls_context(const std::string& ca_file, bool verify,
                                                      std::string& error) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                       ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                   ec);
  if (!verify) {
    ctx->set_verify_mode(ssl::verify_none, ec);
    return ctx;
  }
  if (ca_file.empty()) ctx->set_default_verify_paths(ec);
  else ctx->load_verify_file(ca_file, ec);
  if (ec) {
    error = "cannot load CA certificates" + (ca_file.empty() ? std::string() : " '" + ca_file + "'") +
            ": " + ec.message();
    return nullptr;
  }
  ctx->set_verify_mode(ssl::verify_peer, ec);
  return ctx;
}

namespace {

int pick_protocol(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
                  void* arg) {
  const bool http2 = arg != nullptr;
  const unsigned char* http11 = nullptr;
  for (unsigned int i = 0; i < inlen;) {
    unsigned int len = in[i];
    if (i + 1 + len > inlen) break;
    std::string_view proto(reinterpret_cast<const char*>(in + i + 1), len);
    if (http2 && proto == "h2") {
      *out = in + i + 1;
      *outlen = static_cast<unsigned char>(len);
      return SSL_TLSEXT_ERR_OK;
    }
    if (proto == "http/1.1" && http11 == nullptr) http11 = in + i + 1;
    i += 1 + len;
  }
  if (http11 == nullptr) return SSL_TLSEXT_ERR_NOACK;
  *out = http11;
  *outlen = 8;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

void select_alpn(ssl::context& ctx, bool http2) {
  // The callback's argument only says yes or no: a non-null pointer for h2.
  static int yes = 1;
  SSL_CTX_set_alpn_select_cb(ctx.native_handle(), pick_protocol, http2 ? &yes : nullptr);
}

bool offer_h2(ssl::context& ctx) {
  static constexpr unsigned char h2[] = {2, 'h', '2'};
  return SSL_CTX_set_alpn_protos(ctx.native_handle(), h2, sizeof h2) == 0;
}

}  // namespace jwtgate::net
