#pragma once
// The two stores behind revocation::service.

#include <memory>
#include <string>

#include "jwtgate/revocation/service.h"

namespace jwtgate::revocation {

std::unique_ptr<service> make_local_service(boost::asio::io_context& control, const config::revocation_config& cfg,
                                            service::publish_fn publish, std::string& error);
std::unique_ptr<service> make_redis_service(boost::asio::io_context& control, const config::revocation_config& cfg,
                                            std::string password, service::publish_fn publish, std::string& error);

}  // namespace jwtgate::revocation
