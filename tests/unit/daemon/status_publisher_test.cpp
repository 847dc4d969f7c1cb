// The gateway's retained status on the local broker: the will on every connect, the latest status
// on every connect and at most once per interval, the final message of a clean stop; and the JSON.
#include "daemon/status_publisher.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "daemon/status_message.hpp"
#include "unit/support/fake_mqtt.hpp"
#include "unit/support/fake_scheduler.hpp"

namespace cellgate {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// The publisher owns its transport and stop() destroys it; this one only forwards to a fake the
// test keeps, so what happened during stop() can still be read afterwards.
class Lent final : public mqtt::MqttClient {
public:
    explicit Lent(testing::FakeMqttClient& fake) : fake_(fake) {
        fake_.on_connected = [this] { on_connected(); };
        fake_.on_connect_failed = [this](int rc, const std::string& why) { on_connect_failed(rc, why); };
        fake_.on_disconnected = [this](const std::string& why) { on_disconnected(why); };
        fake_.on_published = [this](int mid) { if (on_published) on_published(mid); };
    }
    ~Lent() override {
        fake_.on_connected = [] {};
        fake_.on_connect_failed = [](int, const std::string&) {};
        fake_.on_disconnected = [](const std::string&) {};
        fake_.on_published = nullptr;
    }
    void connect(const mqtt::ConnectParams& p) override { fake_.connect(p); }
    void disconnect() override { fake_.disconnect(); }
    int publish(const std::string& t, const std::string& p, int qos, bool retain) override {
        return fake_.publish(t, p, qos, retain);
    }
    int subscribe(const std::string& t, int qos) override { return fake_.subscribe(t, qos); }
    int unsubscribe(const std::string& t) override { return fake_.unsubscribe(t); }

private:
    testing::FakeMqttClient& fake_;
};

class StatusPublisherTest : public ::testing::Test {
protected:
    StatusPublisherTest() {
        local_.client_id = "gw-7";
        local_.status_topic = "site/gw-7/status";
        publisher_ = std::make_unique<StatusPublisher>(sched_, local_, cloud::BackoffConfig{},
                                                       std::make_unique<Lent>(fake_));
    }

    std::vector<std::string> payloads() const {
        std::vector<std::string> out;
        for (const auto& p : client_->publications) {
            EXPECT_EQ(p.topic, "site/gw-7/status");
            EXPECT_TRUE(p.retain) << p.payload;
            EXPECT_EQ(p.qos, 1);
            out.push_back(p.payload);
        }
        return out;
    }

    void connect() {
        publisher_->start();
        sched_.run_deferred();
        ASSERT_TRUE(client_->connecting);
        client_->accept();
        sched_.run_deferred();
    }

    testing::FakeScheduler sched_;
    bridge::LocalBrokerConfig local_;
    testing::FakeMqttClient fake_{sched_};
    testing::FakeMqttClient* client_ = &fake_;
    std::unique_ptr<StatusPublisher> publisher_;
};

TEST_F(StatusPublisherTest, ConnectsUnderItsOwnClientIdWithTheOfflineWillRetained) {
    publisher_->start();
    sched_.run_deferred();
    ASSERT_EQ(client_->attempts.size(), 1u);
    const auto& p = client_->attempts[0].params;
    EXPECT_EQ(p.client_id, "gw-7-status");
    EXPECT_EQ(p.will_topic, "site/gw-7/status");
    EXPECT_TRUE(p.will_retain);
    EXPECT_EQ(p.will_qos, 1);
    EXPECT_EQ(json::parse(p.will_payload).at("state"), "offline");
}

TEST_F(StatusPublisherTest, TheLatestGoesOutOnConnectThenAtMostOncePerInterval) {
    publisher_->update("a");  // not connected yet: kept
    EXPECT_TRUE(client_->publications.empty());
    connect();
    EXPECT_EQ(payloads(), (std::vector<std::string>{"a"}));

    publisher_->update("b");
    publisher_->update("c");
    sched_.advance(StatusPublisher::kMinInterval - 1ms);
    EXPECT_EQ(payloads().size(), 1u);
    sched_.advance(1ms);
    EXPECT_EQ(payloads(), (std::vector<std::string>{"a", "c"}));  // b was overtaken

    publisher_->update("c");  // no change, nothing to say
    sched_.advance(10s);
    EXPECT_EQ(payloads().size(), 2u);
    publisher_->update("d");  // a quiet while later: at once
    EXPECT_EQ(payloads(), (std::vector<std::string>{"a", "c", "d"}));
}

TEST_F(StatusPublisherTest, AChangeUndoneWithinTheIntervalSendsNothing) {
    publisher_->update("a");
    connect();
    publisher_->update("b");
    publisher_->update("a");
    sched_.advance(5s);
    EXPECT_EQ(payloads(), (std::vector<std::string>{"a"}));
}

TEST_F(StatusPublisherTest, AfterAConnectionLossTheStatusReplacesTheWillAgain) {
    publisher_->update("a");
    connect();
    client_->kick("broker restarted");  // the broker published the will meanwhile
    sched_.advance(5min);               // the session's backoff retries
    ASSERT_GE(client_->attempts.size(), 2u);
    client_->accept();
    EXPECT_EQ(payloads(), (std::vector<std::string>{"a", "a"}));
}

TEST_F(StatusPublisherTest, StopPublishesTheFinalMessageThenDisconnects) {
    publisher_->update("a");
    connect();
    publisher_->update("b");  // waiting out the interval
    publisher_->stop(offline_message("cellgated stopped"));
    EXPECT_EQ(client_->disconnects, 1);
    ASSERT_EQ(payloads().size(), 2u);
    EXPECT_EQ(json::parse(payloads()[1]), json::parse(R"({"state":"offline","reason":"cellgated stopped"})"));
    publisher_->update("c");
    sched_.advance(10s);
    EXPECT_EQ(payloads().size(), 2u);
}

TEST(StatusPublisher, PublishedWhenCellgatedTalksToTheLocalBroker) {
    bridge::BridgeConfig b;
    EXPECT_FALSE(publishes_status(b));  // sessions only: no local broker
    b.local.configured = true;
    EXPECT_TRUE(publishes_status(b));
    b.local.configured = false;
    b.routes.push_back({});
    EXPECT_TRUE(publishes_status(b));
    b.local.status_topic.clear();
    EXPECT_FALSE(publishes_status(b));
}

TEST(StatusMessage, CarriesTheVerdictTheModemAndEverySession) {
    GatewayInputs in;
    in.name_acquired = in.modem_configured = in.modem_known = true;
    in.modem.state = modem::ModemState::connected;
    in.modem.signal_quality = 67;
    in.modem.rssi_dbm = -71;
    in.modem.access_tech = modem::AccessTech::lte;
    in.modem.operator_name = "CMCC";
    in.modem.ip_address = "10.64.1.2";
    in.sessions = {{"lab", cloud::SessionState::backoff}, {"ali", cloud::SessionState::connected}};
    const auto v = evaluate_gateway(in);
    const auto j = json::parse(status_message(v.state, v.reason, in));
    EXPECT_EQ(j, json::parse(R"j({"state":"degraded",
        "reason":"modem connected, cloud 1/2 connected (lab backoff)",
        "modem":{"state":"connected","signal":67,"rssi":-71,"technology":"lte","operator":"CMCC","ip":"10.64.1.2"},
        "sessions":{"lab":{"state":"backoff"},"ali":{"state":"connected"}}})j"));
    // In config order, for a reader that shows them as they come.
    EXPECT_LT(status_message(v.state, v.reason, in).find("\"lab\""), status_message(v.state, v.reason, in).find("\"ali\""));
}

TEST(StatusMessage, AFailedModemSaysWhyAndUnknownFieldsAreLeftOut) {
    GatewayInputs in;
    in.name_acquired = in.modem_configured = in.modem_known = true;
    in.modem.state = modem::ModemState::failed;
    in.modem.failed_reason = modem::FailedReason::sim_missing;
    const auto j = json::parse(status_message(GatewayState::offline, "modem failed: sim-missing", in));
    EXPECT_EQ(j.at("modem"), json::parse(R"({"state":"failed","failed_reason":"sim-missing"})"));
    EXPECT_EQ(j.at("sessions"), json::object());
}

}  // namespace
}  // namespace cellgate
