#pragma once
// Static key sources (secret_env, secret_file, public_key_file, jwks_file) are
// read and checked once, at load time, through the JOSE layer. jwks_url sources
// are left to the keys module.

#include <memory>

#include "config/diagnostics.h"
#include "jwtgate/config/config.h"
#include "jwtgate/jose/key_set.h"

namespace jwtgate::config {

// Every refusal is reported at the key source's value. Never null.
std::shared_ptr<const jose::key_set> load_static_keys(const provider_config& provider, diagnostics& d);

}  // namespace jwtgate::config
