#pragma once
// Client HTTP/2 connections (h2 through ALPN, or h2c with prior knowledge),
// on libnghttp2: framing, HPACK and flow control are the library's. The
// session moves bytes between it and the socket and runs every stream
// through the same pipeline as an HTTP/1 request: route, auth, identity
// headers, then the upstream over its own protocol (upstream_call.h).

#include <string>
#include <string_view>

#include "connection_stream.h"
#include "loop.h"

namespace jwtgate::proxy {

// Takes over an accepted connection whose client speaks HTTP/2. `already_read`
// holds bytes read before the protocol was known (the preface, for h2c).
void start_h2_session(loop_context& loop, connection_stream stream, bool https, std::string client_ip,
                      std::string_view already_read);

// Does `bytes` begin like the HTTP/2 client preface (RFC 9113 section 3.4)?
// `complete` is set when all 24 bytes of it are there.
bool starts_like_h2_preface(std::string_view bytes, bool& complete) noexcept;

}  // namespace jwtgate::proxy
