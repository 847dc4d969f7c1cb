// An MqttClient that records what the session asks for and lets a test play the broker: accept,
// refuse, fail, kick, deliver, ping. `on_connect_attempt` scripts a reaction from inside connect(),
// the way a client that fails at once (bad address, no route) reports before connect() returns.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "mqtt/mqtt_client.hpp"
#include "unit/support/fake_scheduler.hpp"

namespace cellgate::testing {

class FakeMqttClient final : public mqtt::MqttClient {
public:
    struct Attempt {
        Clock::time_point at;
        mqtt::ConnectParams params;
    };
    struct Publication {
        std::string topic, payload;
        int qos;
        bool retain;
    };

    explicit FakeMqttClient(FakeScheduler& sched) : sched_(sched) {}

    void connect(const mqtt::ConnectParams& params) override {
        attempts.push_back({sched_.now(), params});
        connecting = true;
        connected = false;
        if (on_connect_attempt) on_connect_attempt();
    }
    void disconnect() override {
        ++disconnects;
        connecting = connected = false;
    }
    int publish(const std::string& topic, const std::string& payload, int qos, bool retain) override {
        if (!connected) return -1;
        publications.push_back({topic, payload, qos, retain});
        return next_mid++;
    }
    int subscribe(const std::string& filter, int qos) override {
        if (!connected) return -1;
        subscriptions.emplace_back(filter, qos);
        return next_mid++;
    }
    int unsubscribe(const std::string& filter) override {
        if (!connected) return -1;
        unsubscriptions.push_back(filter);
        return next_mid++;
    }

    // The broker's side.
    void accept() {
        connecting = false;
        connected = true;
        on_connected();
    }
    void refuse(int rc) {
        connecting = false;
        on_connect_failed(rc, "CONNACK " + std::to_string(rc));
    }
    void fail(const std::string& reason) {
        connecting = false;
        on_connect_failed(-1, reason);
    }
    void kick(const std::string& reason) {
        connected = false;
        on_disconnected(reason);
    }
    void deliver(const std::string& topic, const std::string& payload) { on_message(topic, payload); }
    void ping() { on_ping_sent(); }
    void acked(int mid) { on_published(mid); }

    std::function<void()> on_connect_attempt;
    std::vector<Attempt> attempts;
    std::vector<Publication> publications;
    std::vector<std::pair<std::string, int>> subscriptions;  // in the order sent, over all connections
    std::vector<std::string> unsubscriptions;                // likewise
    int disconnects = 0;
    bool connecting = false;
    bool connected = false;
    int next_mid = 1;

private:
    FakeScheduler& sched_;
};

}  // namespace cellgate::testing
