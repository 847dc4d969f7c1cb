// The gateway's status as local applications read it from the local broker (retained, on
// local.status_topic), and the offline message that replaces it when cellgated stops or dies.
// Pure: JSON text from the same inputs the gateway verdict is worked out from.
#pragma once

#include <string>
#include <string_view>

#include "daemon/gateway_state.hpp"

namespace cellgate {

// {"state":"degraded","reason":"modem connected, cloud 0/1 connected (lab backoff)",
//  "modem":{"state":"connected","signal":67,"rssi":-71,"technology":"lte","operator":"CMCC",
//           "ip":"10.64.1.2"},
//  "sessions":{"lab":{"state":"backoff"}}}
// Sessions in config order; modem fields that are unknown are left out; the modem reads
// "disabled" without a modem section, as on D-Bus.
std::string status_message(GatewayState state, std::string_view reason, const GatewayInputs& in);

// {"state":"offline","reason":"..."}: the last will, and what a clean stop publishes.
std::string offline_message(std::string_view reason);

}  // namespace cellgate
