// What a cloud session's config makes of CONNECT, and the rules it must keep: the parts every
// platform shares, plus the platform's own from its profile (platform_profile.hpp). Pure
// functions: the published signing vectors are reproduced in unit tests.
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

// A violation of the platform's documented rules (keepalive range, required fields, QoS, ...).
struct RuleViolation {
    std::string key;      // config key under the entry, e.g. "keepalive"
    std::string message;  // states the platform's rule, never a secret
};
std::vector<RuleViolation> check_platform_rules(const CloudConfig& c);

// How the gateway reaches the platform: through its modem, or a network it does not manage.
// Only cellular has a radio to keep asleep and carrier NAT in the path.
enum class Uplink { cellular, other };
// Non-fatal advice (e.g. keepalive above 240 s on cellular).
std::vector<RuleViolation> platform_warnings(const CloudConfig& c, Uplink uplink);

// The profile's publish limits, for the bridge and its config reader: the highest QoS the
// platform accepts on publish, and its largest payload in bytes.
int max_qos(Platform p);
size_t max_payload(Platform p);

}  // namespace cellgate::cloud
