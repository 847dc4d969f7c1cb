// The daemon's configuration, loaded from YAML. Loading never throws: it collects every problem
// with the file, line, column and key so `cellgated --check-config` can print them all at once.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "cloud/bridge_config.hpp"
#include "cloud/cloud_config.hpp"
#include "daemon/log.hpp"
#include "modem/vendor.hpp"

namespace cellgate {

namespace modem {
// For ModemConfig's comparison (a reload restarts the modem only when its section changed);
// here rather than in modem/vendor.hpp, which the AT layer owns.
inline bool operator==(const ApnSettings& a, const ApnSettings& b) {
    return a.name == b.name && a.user == b.user && a.password == b.password && a.auth == b.auth &&
           a.ip_type == b.ip_type;
}
}  // namespace modem

using std::chrono::milliseconds;

struct ModemConfig {
    std::string port;                  // device path, symlink, or "auto"
    std::optional<modem::Vendor> vendor;  // nullopt = auto-detect
    int baud = 115200;
    std::optional<std::string> pin;    // secret
    modem::ApnSettings apn;            // apn.password is secret
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
    bool operator==(const ModemConfig&) const = default;
};

struct Config {
    std::string source;                // file the config came from
    std::optional<ModemConfig> modem;  // absent = Modem object reports "disabled"
    std::vector<cloud::CloudConfig> cloud;
    cloud::BackoffConfig backoff;
    cloud::BridgeConfig bridge;        // local:, routes:, downlink:, outbox:, each session's rate_limit:
    log::Level log_level = log::Level::info;
};

struct ConfigError {
    std::string file;
    int line = 0;    // 1-based; 0 when the error is not tied to a position
    int column = 0;  // 1-based
    std::string key; // dotted path, e.g. "modem.apn.auth"
    std::string message;

    // "file:line:column: key: message"
    std::string to_string() const;
};

struct ConfigResult {
    std::optional<Config> config;      // set only when errors is empty
    std::vector<ConfigError> errors;
};

ConfigResult load_config_file(const std::string& path);
// `source_name` is used in error messages in place of a file name.
ConfigResult load_config_string(const std::string& yaml, const std::string& source_name);

// "90s", "2m", "1h", "500ms", "1m30s" -> milliseconds; nullopt when malformed.
std::optional<milliseconds> parse_duration(std::string_view text);

}  // namespace cellgate
