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

enum class Severity { error, warning };

struct ConfigError {
    std::string file;
    int line = 0;    // 1-based; 0 when the error is not tied to a position
    int column = 0;  // 1-based
    std::string key; // dotted path, e.g. "modem.apn.auth"
    std::string message;
    Severity severity = Severity::error;

    // "file:line:column: key: message"; a warning says so after the position, as compilers do.
    std::string to_string() const;
};

struct ConfigResult {
    std::optional<Config> config;      // set only when errors is empty
    // In file order, at most the first 50; then one positionless "and K more errors".
    std::vector<ConfigError> errors;
    std::vector<ConfigError> warnings;  // severity warning; the config is loaded despite them
};

ConfigResult load_config_file(const std::string& path);
// `source_name` is used in error messages in place of a file name.
ConfigResult load_config_string(const std::string& yaml, const std::string& source_name);

// "90s", "2m", "1h", "500ms", "1m30s" -> milliseconds; nullopt when malformed or when a number has
// more than nine digits (no key allows that much, and the sum can then never overflow).
std::optional<milliseconds> parse_duration(std::string_view text);

// What a config that loaded will run, when that is less than its author likely meant ("" when there
// is nothing to say): a config without a modem and without cloud sessions only serves D-Bus.
std::string config_notice(const Config& config);

}  // namespace cellgate
