// What a cloud session publishes on D-Bus. Plain data, diffed by the bus adapter.
#pragma once

#include <cstdint>
#include <string>

namespace cellgate::cloud {

enum class SessionState { idle, waiting_link, connecting, connected, backoff, auth_failed };
const char* to_string(SessionState s);  // "idle", "waiting-link", ..., "auth-failed"

struct SessionStatus {
    std::string name;
    std::string platform;
    std::string endpoint;
    std::string client_id;
    std::string transport = "host";  // "host" (libmosquitto) or "module" (the module's MQTT client)
    SessionState state = SessionState::idle;
    uint32_t keepalive_s = 0;
    uint64_t connected_since_us = 0;  // wall clock, µs since the epoch; 0 when down
    uint32_t reconnects = 0;
    std::string last_disconnect_reason;
    uint32_t next_retry_in_s = 0;
    uint64_t published = 0;
    uint64_t received = 0;
    uint64_t pings = 0;

    bool operator==(const SessionStatus&) const = default;
};

}  // namespace cellgate::cloud
