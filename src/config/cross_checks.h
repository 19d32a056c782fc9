#pragma once
// Checks that span sections: names a route refers to, and identity headers
// that would collide with another provider's token source.

#include "config/diagnostics.h"
#include "jwtgate/config/config.h"

namespace jwtgate::config {

void check_cross_references(const config& cfg, diagnostics& d);

}  // namespace jwtgate::config
