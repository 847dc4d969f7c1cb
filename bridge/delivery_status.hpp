// What the bridge publishes per cloud session on D-Bus, next to the SessionStatus. Plain data,
// diffed by the bus adapter.
#pragma once

#include <cstdint>
#include <string>

namespace cellgate::bridge {

struct DeliveryStatus {
    uint64_t queued = 0;    // committed in the outbox, not yet acknowledged by the cloud
    uint64_t dropped = 0;   // accepted or received but never sent: outbox limits (oldest first),
                            // QoS 0 while not connected, messages the outbox could not store
    uint64_t invalid = 0;   // local payloads or topics a route refused (never forwarded)
    uint64_t accepted = 0;  // posts the platform answered with code 200
    uint64_t rejected = 0;  // posts the platform answered with another code
    std::string last_rejection;  // "<code> <message>" of the last rejected post

    bool operator==(const DeliveryStatus&) const = default;
};

}  // namespace cellgate::bridge
