#pragma once
// TLS contexts for the gateway's two sides. Includes Asio SSL: only for the
// I/O modules.

#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>

namespace jwtgate::net {

// Server side: TLS 1.2+, the given PEM certificate chain and private key.
// nullptr and `error` set when a file cannot be used.
std::shared_ptr<boost::asio::ssl::context> make_server_tls_context(const std::string& cert_file,
                                                                   const std::string& key_file,
                                                                   std::string& error);

// Client side (toward upstreams): TLS 1.2+, verify_peer with the system store or
// `ca_file` unless `verify` is false.
// ALPN on a server context (RFC 7301): "h2" when `http2` and the client
// offers it, else "http/1.1"; a client offering neither gets no ALPN answer.
void select_alpn(boost::asio::ssl::context& ctx, bool http2);

// ALPN on a client context: offer only "h2" (an h2 upstream).
bool offer_h2(boost::asio::ssl::context& ctx);

std::shared_ptr<boost::asio::ssl::context> make_client_tls_context(const std::string& ca_file, bool verify,
                                                                   std::string& error);

}  // namespace jwtgate::net
