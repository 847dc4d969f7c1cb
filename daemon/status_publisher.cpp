#include "daemon/status_publisher.hpp"

#include <random>

#include "base/log.hpp"
#include "cloud/session.hpp"
#include "daemon/local_session.hpp"
#include "daemon/status_message.hpp"
#include "mqtt/mosquitto_client.hpp"

namespace cellgate {

namespace {

// The status connection's transport: every connect carries the will and every message is
// retained. cloud::Session builds the CONNECT and publishes unretained, as a cloud session must;
// both differences belong to this one connection, so they live in this wrapper.
class RetainedWithWill final : public mqtt::MqttClient {
public:
    RetainedWithWill(std::unique_ptr<MqttClient> inner, std::string topic, std::string will)
        : inner_(std::move(inner)), topic_(std::move(topic)), will_(std::move(will)) {
        inner_->on_connected = [this] { if (on_connected) on_connected(); };
        inner_->on_connect_failed = [this](int rc, const std::string& why) {
            if (on_connect_failed) on_connect_failed(rc, why);
        };
        inner_->on_disconnected = [this](const std::string& why) { if (on_disconnected) on_disconnected(why); };
        inner_->on_message = [this](const std::string& t, const std::string& p) { if (on_message) on_message(t, p); };
        inner_->on_published = [this](int mid) { if (on_published) on_published(mid); };
        inner_->on_ping_sent = [this] { if (on_ping_sent) on_ping_sent(); };
    }

    void connect(const mqtt::ConnectParams& params) override {
        mqtt::ConnectParams p = params;
        p.will_topic = topic_;
        p.will_payload = will_;
        p.will_qos = 1;
        p.will_retain = true;
        inner_->connect(p);
    }
    void disconnect() override { inner_->disconnect(); }
    int publish(const std::string& topic, const std::string& payload, int qos, bool) override {
        return inner_->publish(topic, payload, qos, true);
    }
    int subscribe(const std::string& topic, int qos) override { return inner_->subscribe(topic, qos); }
    int unsubscribe(const std::string& topic) override { return inner_->unsubscribe(topic); }

private:
    std::unique_ptr<MqttClient> inner_;
    std::string topic_, will_;
};

}  // namespace

bool publishes_status(const bridge::BridgeConfig& bridge) {
    return !bridge.local.status_topic.empty() && (bridge.local.configured || bridge.needs_local());
}

StatusPublisher::StatusPublisher(Scheduler& sched, const bridge::LocalBrokerConfig& local,
                                 const cloud::BackoffConfig& backoff, std::unique_ptr<mqtt::MqttClient> client)
    : sched_(sched), topic_(local.status_topic) {
    cloud::CloudConfig c = local_session_config(local);
    c.name = kStatusSessionName;
    // Its own client id: the bridge's connection holds the configured one.
    c.client_id = local.client_id + "-status";
    auto transport = std::make_unique<RetainedWithWill>(std::move(client), topic_,
                                                        offline_message("cellgated is gone (connection lost)"));
    std::random_device entropy;
    session_ = std::make_unique<cloud::Session>(sched, c, backoff, std::move(transport),
                                                /*link_follows_modem=*/false, entropy());
    // After any connection loss the broker has published the will: say it again.
    session_->on_connected = [this] {
        sent_.clear();
        publish_latest();
    };
    timer_ = sched.make_timer([this] { publish_latest(); });
}

StatusPublisher::~StatusPublisher() = default;

void StatusPublisher::start() {
    if (session_) session_->start();
}

void StatusPublisher::update(std::string status) {
    latest_ = std::move(status);
    if (!session_ || timer_->armed() || latest_ == sent_) return;
    const auto since = sched_.now() - sent_at_;
    if (sent_once_ && since < kMinInterval)
        timer_->arm(std::chrono::ceil<std::chrono::milliseconds>(kMinInterval - since));
    else
        publish_latest();
}

void StatusPublisher::publish_latest() {
    timer_->cancel();
    if (!session_ || latest_.empty() || latest_ == sent_) return;
    // Not connected: on_connected publishes it.
    if (session_->publish(topic_, latest_, 1) < 0) return;
    sent_ = latest_;
    sent_once_ = true;
    sent_at_ = sched_.now();
}

void StatusPublisher::stop(const std::string& last) {
    timer_->cancel();
    if (!session_) return;
    if (session_->status().state == cloud::SessionState::connected) {
        // Written to the socket at once, ahead of the DISCONNECT the session's end sends.
        if (session_->publish(topic_, last, 1) < 0)
            log::warning("status: could not publish the final status on ", topic_);
    }
    session_->on_connected = nullptr;
    session_.reset();
}

std::unique_ptr<StatusPublisher> make_status_publisher(Scheduler& sched, const bridge::LocalBrokerConfig& local,
                                                       const cloud::BackoffConfig& backoff) {
    return std::make_unique<StatusPublisher>(sched, local, backoff,
                                             mqtt::make_mosquitto_client(sched, kStatusSessionName));
}

}  // namespace cellgate
