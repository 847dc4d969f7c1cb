// The daemon's configuration, loaded from YAML. Loading never throws: it collects every problem
// with the file, line, column and key so `cellgated --check-config` can print them all at once.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/log.hpp"
#include "bridge/bridge_config.hpp"
#include "cloud/cloud_config.hpp"
#include "modem/modem_config.hpp"

namespace cellgate {

struct Config {
    std::string source;                // file the config came from
    std::optional<modem::ModemConfig> modem;  // absent = Modem object reports "disabled"
    std::vector<cloud::CloudConfig> cloud;
    cloud::BackoffConfig backoff;
    bridge::BridgeConfig bridge;        // local:, routes:, downlink:, outbox:, each session's rate_limit:
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
