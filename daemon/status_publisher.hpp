// The gateway's status on the local broker: a retained message on local.status_topic, from a
// connection of its own whose last will is the offline message, so local applications learn
// that the uplink is gone even when cellgated dies (kill -9, a crash, power). A connection of its
// own because the bridge's local connection publishes unretained messages and has no will.
// Latest wins: a burst of changes goes out as at most one message per kMinInterval.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "base/loop.hpp"
#include "bridge/bridge_config.hpp"
#include "cloud/cloud_config.hpp"
#include "mqtt/mqtt_client.hpp"

namespace cellgate {

namespace cloud {
class Session;
}

// The name its log lines carry.
inline constexpr const char* kStatusSessionName = "local-status";

// Whether the config publishes a status: a status topic, and a local broker cellgated talks to
// (a local: section, routes or downlink).
bool publishes_status(const bridge::BridgeConfig& bridge);

class StatusPublisher {
public:
    static constexpr std::chrono::milliseconds kMinInterval{2000};

    // `client` is the transport (libmosquitto in the daemon, a fake in tests); it connects as
    // "<local.client_id>-status" with the offline message as its retained will.
    StatusPublisher(Scheduler& sched, const bridge::LocalBrokerConfig& local, const cloud::BackoffConfig& backoff,
                    std::unique_ptr<mqtt::MqttClient> client);
    ~StatusPublisher();
    StatusPublisher(const StatusPublisher&) = delete;
    StatusPublisher& operator=(const StatusPublisher&) = delete;

    void start();
    // The latest status (status_message()); published now, after the interval, or on connect.
    void update(std::string status);
    // Publishes `last` (retained; "" removes the retained status) and disconnects, which cancels
    // the will: a clean stop says offline itself. Nothing is published afterwards.
    void stop(const std::string& last);

private:
    void publish_latest();

    Scheduler& sched_;
    std::string topic_;
    std::unique_ptr<cloud::Session> session_;
    std::unique_ptr<Timer> timer_;
    std::string latest_, sent_;
    bool sent_once_ = false;
    Clock::time_point sent_at_{};
};

// With a libmosquitto connection.
std::unique_ptr<StatusPublisher> make_status_publisher(Scheduler& sched, const bridge::LocalBrokerConfig& local,
                                                       const cloud::BackoffConfig& backoff);

}  // namespace cellgate
