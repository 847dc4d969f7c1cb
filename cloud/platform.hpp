// What each cloud platform wants in CONNECT, and the rules it enforces. Pure functions: the
// published signing vectors are reproduced in unit tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cloud/cloud_config.hpp"
#include "mqtt/mqtt_client.hpp"

namespace cellgate::cloud {

using mqtt::ConnectParams;

// `now` is wall-clock time (Aliyun timestamps, OneNET token expiry).
ConnectParams make_connect_params(const CloudConfig& c, std::chrono::system_clock::time_point now);

// "host:port" the session will connect to (config endpoint, or the platform default).
std::string default_endpoint(const CloudConfig& c);

// A violation of the platform's documented rules (keepalive range, required fields, QoS, ...).
struct RuleViolation {
    std::string key;      // config key under the entry, e.g. "keepalive"
    std::string message;  // states the platform's rule, never a secret
};
std::vector<RuleViolation> check_platform_rules(const CloudConfig& c);
// Non-fatal advice (e.g. keepalive above 240 s on cellular).
std::vector<RuleViolation> platform_warnings(const CloudConfig& c);

// The platform's meaning of a CONNACK return code (MQTT 3.1.1: 1..5).
std::string connack_meaning(Platform p, int rc);
// Highest QoS the platform accepts on publish (aliyun/onenet: 1, generic: 2).
int max_qos(Platform p);
bool retain_allowed(Platform p);
// Largest payload the platform accepts, in bytes.
size_t max_payload(Platform p);

}  // namespace cellgate::cloud
