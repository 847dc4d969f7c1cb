// The bridge between the local broker and the cloud sessions.
//
// Uplink: a local message goes to the FIRST route (in config order) whose `from` filter matches
// its topic, never to several: a message is one delivery with one id. Its payload is checked for
// the route's format (a refused one is counted as Invalid and logged, never forwarded), its cloud
// topic is expanded, and it goes into the outbox; a route with qos 0 drops (and counts) messages
// while its session is not connected instead of queueing them. Each session's DeliveryLane
// drains the outbox. While the outbox cannot take local messages, the local connection pauses
// and the local broker queues (local_intake.hpp).
//
// Downlink: a cloud request lands on the local broker under the entry's prefix (`<to>/<suffix>`,
// QoS 1); a local answer on `<to>/<suffix>/reply` (or the platform's own reply name) goes back to
// the cloud in the platform's reply format. The platform's replies to posts are counted.
//
// Publish (D-Bus): a raw message to one session's cloud topic, answered once it is durable.
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bridge/bridge_config.hpp"
#include "bridge/delivery_lane.hpp"
#include "bridge/delivery_status.hpp"
#include "bridge/outbox.hpp"
#include "base/loop.hpp"

namespace cellgate::cloud {
class Session;
}

namespace cellgate::bridge {

using cloud::Session;
using cloud::RateBuckets;

enum class PublishError {
    invalid_topic,      // not a topic name the platform accepts
    too_large,          // over the platform's max_payload
    qos_not_supported,  // above the platform's max_qos
    not_connected,      // QoS 0 while the session is not connected (it would be dropped)
    outbox_full,        // no room: larger than the whole outbox, or its disk is full (try again later)
    outbox_failed,      // the insert could not be committed (an I/O error)
};
const char* to_string(PublishError e);

struct PublishFailure {
    PublishError error;
    std::string message;
};
using PublishDone = std::function<void(std::expected<uint64_t, PublishFailure>)>;

class Bridge {
public:
    // `sessions` in config order (the index used by publish(), status() and on_change); every
    // route and downlink entry names one of them (the config loader checked). `local` is the
    // local broker connection, nullptr when there are no routes and no downlink entries. The
    // bridge takes over the sessions' message, publish and connection callbacks (not on_change)
    // and the outbox's; everything passed must outlive it.
    // `buckets` (each session's rate limit state) outlives the bridge and is kept across rebuilds.
    Bridge(Scheduler& sched, const BridgeConfig& config, Outbox& outbox, Session* local,
           std::vector<Session*> sessions, RateBuckets& buckets, DeliveryTuning tuning = {});
    ~Bridge();
    Bridge(const Bridge&) = delete;
    Bridge& operator=(const Bridge&) = delete;

    // Checks at once (a failure calls `done` before returning), else `done` runs once the
    // message is committed (with its id) or could not be.
    void publish(size_t session, const std::string& topic, std::string payload, int qos, PublishDone done);

    DeliveryStatus status(size_t session) const;
    // Coalesced: at most once per session and loop iteration.
    std::function<void(size_t session, const DeliveryStatus&)> on_change;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace cellgate::bridge
