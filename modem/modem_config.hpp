// The `modem:` section of the configuration, as the modem reads it. The daemon fills it from
// YAML and checks ranges; a reload restarts the modem only when this compares unequal.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "modem/vendor.hpp"

namespace cellgate::modem {

using std::chrono::milliseconds;

// Here rather than in vendor.hpp, which the AT layer owns: only a reload compares APNs.
inline bool operator==(const ApnSettings& a, const ApnSettings& b) {
    return a.name == b.name && a.user == b.user && a.password == b.password && a.auth == b.auth &&
           a.ip_type == b.ip_type;
}

// The host side of the data path: the daemon applies it to the module's network interface
// (net::DataLink); the modem only carries it. Values are checked when the config is read.
struct DataPathConfig {
    std::string interface;            // "" = the netdev on the AT port's USB device
    std::string ip_method = "auto";   // auto | dhcp | static
    std::string route = "failover";   // failover | primary | none
    bool operator==(const DataPathConfig&) const = default;
};

struct ModemConfig {
    std::string port;                  // device path, symlink, or "auto"
    std::optional<Vendor> vendor;      // nullopt = auto-detect
    int baud = 115200;
    std::optional<std::string> pin;    // secret
    ApnSettings apn;                   // apn.password is secret
    int cid = 1;                       // PDP context id, 1..15
    milliseconds signal_interval{60'000};
    // How long registration may be lost before the recovery ladder starts.
    milliseconds registration_grace{60'000};
    // How long the first registration may take before the ladder starts (slow networks are normal).
    milliseconds registration_timeout{180'000};
    // Slow re-check of registration and data call, in case a URC was lost.
    milliseconds status_poll{30'000};
    // First backoff of the recovery ladder; it doubles per failed step up to recovery_backoff_max.
    milliseconds recovery_backoff{5'000};
    milliseconds recovery_backoff_max{300'000};
    // How long to wait for the port to come back after a module reset before reporting port-missing.
    milliseconds port_return_timeout{60'000};
    DataPathConfig data_path;
    bool operator==(const ModemConfig&) const = default;
};

}  // namespace cellgate::modem
