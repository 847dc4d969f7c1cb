// Configuration of the bridge (`local:`, `routes:`, `downlink:`, `outbox:` and each session's
// `rate_limit:` in the YAML). Plain data shared by the config loader, the gateway and the bridge.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "bridge/outbox.hpp"
#include "cloud/payload.hpp"
#include "cloud/rate_limit.hpp"

namespace cellgate::bridge {

using cloud::RateLimit;
using cloud::UplinkFormat;

// The local mosquitto broker the applications publish to.
struct LocalBrokerConfig {
    std::string endpoint = "127.0.0.1:1883";
    // Fixed, so the broker keeps our persistent session (and queues for us) across restarts.
    std::string client_id = "cellgated";
    std::string username;
    std::string password;  // secret (from password or password_file)
    // The gateway's retained status and last will (daemon/status_publisher.hpp), published when
    // cellgated talks to the local broker at all; "" = not published. The bridge ignores it.
    std::string status_topic = "cellgate/status";
    bool configured = false;  // the config has a local: section
    bool operator==(const LocalBrokerConfig&) const = default;
};

// Local topic filter -> cloud session. The first route whose filter matches a message wins.
struct RouteConfig {
    std::string from;      // local topic filter
    std::string to;        // cloud session name
    UplinkFormat as;
    std::string topic;     // template ({field}, {1}..); "" = the platform's topic for `as`
    int qos = 1;
    int config_line = 0;   // for log lines that name the route
    bool operator==(const RouteConfig&) const = default;
};

// Cloud requests of one session -> local topics under `to`, and the local answers back.
struct DownlinkConfig {
    std::string from;                  // cloud session name
    std::string to;                    // local topic prefix, no trailing '/'
    std::vector<std::string> filters;  // cloud filters, for platforms without their own (generic)
    int config_line = 0;
    bool operator==(const DownlinkConfig&) const = default;
};

struct BridgeConfig {
    LocalBrokerConfig local;
    std::vector<RouteConfig> routes;
    std::vector<DownlinkConfig> downlink;
    // The outbox (and with it D-Bus Publish) exists when the config has routes, downlink or an
    // outbox section: a gateway that only keeps sessions up never writes to the disk.
    bool outbox_enabled = false;
    OutboxConfig outbox;
    // Per session name; every configured session has an entry (its platform's default or its
    // own rate_limit).
    std::map<std::string, RateLimit, std::less<>> rate_limits;

    // Whether a local broker connection is needed.
    bool needs_local() const { return !routes.empty() || !downlink.empty(); }
};

}  // namespace cellgate::bridge
