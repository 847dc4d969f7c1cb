// The gateway's state, worked out from plain inputs: the verdict (starting, offline, degraded,
// online) and its reason (logged on each change, the StateReason property, the status message),
// the line systemd shows as STATUS=, and the data-link edges the cloud sessions are fed. Pure:
// the Gateway collects the inputs and acts.
#pragma once

#include <string>
#include <vector>

#include "cloud/session_status.hpp"
#include "modem/modem_status.hpp"

namespace cellgate {

enum class GatewayState { starting, offline, degraded, online };
const char* to_string(GatewayState s);

struct SessionInput {
    std::string name;
    cloud::SessionState state = cloud::SessionState::idle;
};

struct GatewayInputs {
    bool name_acquired = false;         // the bus name is ours
    bool modem_configured = false;      // config has a modem: section
    bool modem_known = false;           // the modem reported its first status
    modem::ModemStatus modem;
    std::vector<SessionInput> sessions; // one per cloud: entry, in config order
};

struct GatewayVerdict {
    GatewayState state;
    std::string reason;  // short: "modem connected, cloud 0/1 connected (lab backoff)"
};

// starting until the bus name is ours and the modem (if any) reported once. Then the links are
// counted: the modem's data call (when a modem is configured) and every cloud session, each up
// only when connected:
//   online    every link is up (with no modem and no session: the host network is the uplink);
//   degraded  some are up (e.g. the modem is connected and a session is backing off);
//   offline   none is.
// The reason names the modem state and the sessions that are down.
GatewayVerdict evaluate_gateway(const GatewayInputs& in);

// One line for systemctl status, e.g.
// "online; modem connected lte 'CMCC' 10.64.1.2 signal 67%; cloud 2/2 connected".
std::string status_line(GatewayState state, const GatewayInputs& in);

// Turns the modem's status updates into data-link edges for the cloud sessions, which must see
// each change once. A new address while connected is a bounce: the data call was replaced under
// the sessions and every socket on the old address is dead.
class LinkTracker {
public:
    enum class Edge { none, up, down, bounce };
    Edge update(const modem::ModemStatus& status);
    bool up() const { return up_; }

private:
    bool up_ = false;
    std::string address_;
};

}  // namespace cellgate
