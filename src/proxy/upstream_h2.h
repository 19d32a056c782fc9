#pragma once
// upstream_call over HTTP/2: each loop keeps one connection per h2 upstream
// (h2c for http://, ALPN h2 for https://) and runs every call to it as a
// stream on that connection; a connection that breaks or is sent away
// (GOAWAY) is replaced by a fresh one for the next call.

#include <memory>

#include "upstream_call.h"

namespace jwtgate::proxy {

std::shared_ptr<upstream_call> start_h2_call(loop_context& loop, const config::upstream_config& up,
                                             const outgoing_request& req, call_events& events);

}  // namespace jwtgate::proxy
