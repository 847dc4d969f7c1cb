// The MQTT transport of a session that follows the modem, pinned to the module's data link: at
// every connect the broker's name is resolved with the mobile network's DNS servers (queries sent
// from the cellular address) and the socket is bound to the cellular address, so the source rule
// takes it through the module whatever the main routing table prefers. TLS still verifies, and
// sends as SNI, the broker's name (mqtt::ConnectParams::connect_address).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/lifetime.hpp"
#include "base/loop.hpp"
#include "mqtt/mqtt_client.hpp"

namespace cellgate {

namespace net { class Resolver; }

// Where a pinned connect goes out: the link's address and its resolver (nullptr when the network
// gave no DNS servers: then the host's resolver answers, and only the socket is pinned).
struct PinnedPath {
    std::string address;
    net::Resolver* resolver = nullptr;
};

class PinnedMqttClient final : public mqtt::MqttClient {
public:
    // `path` is asked at every connect; nullopt means nothing to pin to (a module without a
    // network interface: its data goes through the module's own stack).
    PinnedMqttClient(Scheduler& loop, std::unique_ptr<mqtt::MqttClient> inner,
                     std::function<std::optional<PinnedPath>()> path);
    ~PinnedMqttClient() override;

    void connect(const mqtt::ConnectParams& params) override;
    void disconnect() override;
    int publish(const std::string& topic, const std::string& payload, int qos, bool retain) override;
    int subscribe(const std::string& topic, int qos) override;
    int unsubscribe(const std::string& topic) override;

    // How long a name may take before the attempt fails (a resolver replaced under a query
    // never answers).
    static constexpr milliseconds kResolveBudget{15000};

private:
    void fail(const std::string& reason);

    Scheduler& loop_;
    std::unique_ptr<mqtt::MqttClient> inner_;
    std::function<std::optional<PinnedPath>()> path_;
    std::unique_ptr<Timer> resolve_timer_;
    unsigned attempt_ = 0;  // a disconnect or a new connect makes older answers stale
    Lifetime life_;
};

}  // namespace cellgate
