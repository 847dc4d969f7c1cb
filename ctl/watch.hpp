// `cellgatectl watch`: follows the daemon's PropertiesChanged signals (and its name coming and
// going) and prints one line per change. It never polls: the properties are read once when the
// daemon is first seen, then only signals are read.
#pragma once

#include "ctl/gateway_client.hpp"

namespace cellgate::ctl {

// Runs until killed (SIGINT, SIGTERM) or the bus connection fails; returns the exit status.
int watch(GatewayClient& client, bool json);

}  // namespace cellgate::ctl
