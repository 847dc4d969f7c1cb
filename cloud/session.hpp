// One cloud session: connects through an MqttClient, follows the modem's data link, and backs off
// with full jitter without ever storming a platform.
#pragma once

#include <functional>
#include <memory>
#include <random>
#include <string>

#include "cloud/cloud_config.hpp"
#include "mqtt/mqtt_client.hpp"
#include "cloud/session_status.hpp"
#include "base/loop.hpp"

namespace cellgate::cloud {

using mqtt::MqttClient;

class Session {
public:
    // `link_follows_modem`: with a modem, wait for link_changed(true) before connecting;
    // without one, the host network is the uplink and the session starts at once.
    Session(Scheduler& sched, CloudConfig config, BackoffConfig backoff, std::unique_ptr<MqttClient> client,
            bool link_follows_modem, uint32_t random_seed);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    // Connect with clean_session off: the broker keeps the subscriptions and queues QoS 1 messages
    // while we are away (the local broker). Call before start().
    void keep_session(bool keep);
    // The filters to hold (duplicates ignored), replacing the previous set: subscribed after
    // every CONNACK (a clean session forgets them), and while connected the new ones are
    // subscribed and the dropped ones unsubscribed at once, so a rebuilt bridge neither piles up
    // subscriptions (OneNET disconnects a device with more than 15) nor keeps stale ones. A kept
    // session (keep_session) unsubscribes what was dropped while it was away on its next
    // connection: the broker still holds those.
    void set_subscriptions(const std::vector<std::pair<std::string, int>>& filters);

    void start();
    // The modem's data link went up or down.
    void link_changed(bool up);
    // D-Bus Reconnect() (or a connection that stopped acknowledging): drop the connection and
    // connect again now; `why` is the reason logged and shown as LastDisconnectReason.
    void reconnect(const std::string& why = "Reconnect() requested");
    // Stop taking from this broker for now (the bridge's outbox cannot store what it would get):
    // the connection closes, a kept session's broker queues for us meanwhile, and nothing connects
    // until resume(). `why` is logged and shown as LastDisconnectReason. Not from inside on_message:
    // closing drops what the client has read but not yet delivered.
    void pause(const std::string& why);
    void resume(const std::string& why);
    bool paused() const;
    // Publish on the cloud connection; returns the message id or -1 when not connected.
    int publish(const std::string& topic, const std::string& payload, int qos);

    const SessionStatus& status() const;
    const CloudConfig& config() const;
    std::function<void(const SessionStatus&)> on_change;
    std::function<void(const std::string& topic, const std::string& payload)> on_message;
    std::function<void(int mid)> on_published;
    // The session became connected (its subscriptions are sent) / stopped being connected,
    // whatever ended it. Publishes in flight then will never be acknowledged on this connection.
    std::function<void()> on_connected;
    std::function<void()> on_disconnected;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace cellgate::cloud
