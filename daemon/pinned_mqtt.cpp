#include "daemon/pinned_mqtt.hpp"

#include <cerrno>

#include "base/log.hpp"
#include "net/dns.hpp"

namespace cellgate {

PinnedMqttClient::PinnedMqttClient(Scheduler& loop, std::unique_ptr<mqtt::MqttClient> inner,
                                   std::function<std::optional<PinnedPath>()> path)
    : loop_(loop), inner_(std::move(inner)), path_(std::move(path)) {
    // The session sets our callbacks; the inner client's lead to them whenever they are set.
    inner_->on_connected = [this] { if (on_connected) on_connected(); };
    inner_->on_connect_failed = [this](int rc, const std::string& reason) { if (on_connect_failed) on_connect_failed(rc, reason); };
    inner_->on_disconnected = [this](const std::string& reason) { if (on_disconnected) on_disconnected(reason); };
    inner_->on_message = [this](const std::string& t, const std::string& p) { if (on_message) on_message(t, p); };
    inner_->on_published = [this](int mid) { if (on_published) on_published(mid); };
    inner_->on_ping_sent = [this] { if (on_ping_sent) on_ping_sent(); };
    resolve_timer_ = loop_.make_timer([this] {
        ++attempt_;
        fail("no answer from the mobile network's DNS within " + std::to_string(kResolveBudget.count() / 1000) + " s");
    });
}

PinnedMqttClient::~PinnedMqttClient() = default;

void PinnedMqttClient::fail(const std::string& reason) {
    if (on_connect_failed) on_connect_failed(-EHOSTUNREACH, reason);
}

void PinnedMqttClient::connect(const mqtt::ConnectParams& params) {
    const unsigned attempt = ++attempt_;
    resolve_timer_->cancel();
    const auto path = path_ ? path_() : std::nullopt;
    if (!path) return inner_->connect(params);
    mqtt::ConnectParams pinned = params;
    pinned.bind_address = path->address;
    if (!path->resolver) {
        log::info("mqtt: ", params.host, ": the mobile network gave no DNS servers; resolving with the host's, "
                  "connecting from ", path->address);
        return inner_->connect(pinned);
    }
    resolve_timer_->arm(kResolveBudget);
    path->resolver->resolve(params.host, [this, attempt, pinned, alive = life_.token()](net::Resolver::Result r) mutable {
        if (!alive || attempt != attempt_) return;
        resolve_timer_->cancel();
        if (!r) {
            // From the resolver's callback, which is already on the loop.
            return fail("cannot resolve '" + pinned.host + "' with the mobile network's DNS: " + r.error());
        }
        pinned.connect_address = net::to_string(r->front());
        log::debug("mqtt: ", pinned.host, " is ", pinned.connect_address, " (mobile network DNS), connecting from ",
                   pinned.bind_address);
        inner_->connect(pinned);
    });
}

void PinnedMqttClient::disconnect() {
    ++attempt_;
    resolve_timer_->cancel();
    inner_->disconnect();
}

int PinnedMqttClient::publish(const std::string& topic, const std::string& payload, int qos, bool retain) {
    return inner_->publish(topic, payload, qos, retain);
}

int PinnedMqttClient::subscribe(const std::string& topic, int qos) { return inner_->subscribe(topic, qos); }

int PinnedMqttClient::unsubscribe(const std::string& topic) { return inner_->unsubscribe(topic); }

}  // namespace cellgate
