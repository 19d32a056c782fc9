#pragma once
// The host of an http(s):// or redis(s):// URL in the config: an IP address
// as written, or a valid name in lower case.

#include <string>
#include <string_view>

#include <boost/url/url_view.hpp>

#include "config/validators.h"

namespace jwtgate::config {

// Returns "" on success, otherwise what is wrong with the host.
inline std::string url_host(const boost::urls::url_view& url, std::string& host) {
  switch (url.host_type()) {
    case boost::urls::host_type::ipv4:
    case boost::urls::host_type::ipv6: host = url.host_address(); return {};
    case boost::urls::host_type::name: {
      std::string_view encoded(url.encoded_host().data(), url.encoded_host().size());
      if (!is_valid_host(encoded)) return "the host name is not valid";
      host = to_lower(encoded);
      return {};
    }
    default: return "the host must be a name or an IP address";
  }
}

}  // namespace jwtgate::config
