// What the bridge and delivery lane tests share: real Session state machines over scripted MQTT
// clients (a "peer" each), an in-memory outbox and a clock that moves only when the test says.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bridge/bridge_config.hpp"
#include "cloud/session.hpp"
#include "unit/support/fake_mqtt.hpp"
#include "unit/support/fake_outbox.hpp"
#include "unit/support/fake_scheduler.hpp"

namespace cellgate::bridge::testing {

using namespace std::chrono_literals;
using cellgate::testing::FakeMqttClient;
using cellgate::testing::FakeOutbox;
using cellgate::testing::FakeScheduler;

inline cloud::CloudConfig ali_config() {
    cloud::CloudConfig c;
    c.name = "ali";
    c.platform = cloud::Platform::aliyun;
    c.product_key = "a1B2c3D4e5F";
    c.device_name = "gw-001";
    c.device_secret = "ali-device-secret";
    c.region = "cn-shanghai";
    return c;
}

inline cloud::CloudConfig lab_config() {
    cloud::CloudConfig c;
    c.name = "lab";
    c.platform = cloud::Platform::generic;
    c.endpoint = "broker.example:1883";
    c.client_id = "gw-7";
    return c;
}

inline cloud::CloudConfig local_config() {
    cloud::CloudConfig c;
    c.name = "local-broker";
    c.platform = cloud::Platform::generic;
    c.endpoint = "127.0.0.1:1883";
    c.client_id = "cellgated";
    return c;
}

inline constexpr const char* kAliPost = "/sys/a1B2c3D4e5F/gw-001/thing/event/property/post";
inline constexpr const char* kAliPostReply = "/sys/a1B2c3D4e5F/gw-001/thing/event/property/post_reply";

inline RouteConfig route(std::string from, std::string to, std::string as, std::string topic = "", int qos = 1) {
    RouteConfig r;
    r.from = std::move(from);
    r.to = std::move(to);
    r.as = *cloud::parse_uplink_format(as);
    r.topic = std::move(topic);
    r.qos = qos;
    return r;
}

// A session and the scripted client under it (the broker's side of the test).
struct Peer {
    FakeMqttClient* client = nullptr;
    std::unique_ptr<cloud::Session> session;
};

class BridgeFixture : public ::testing::Test {
protected:
    Peer make(const cloud::CloudConfig& c) {
        auto client = std::make_unique<FakeMqttClient>(sched_);
        Peer p;
        p.client = client.get();
        p.session = std::make_unique<cloud::Session>(sched_, c, cloud::BackoffConfig{}, std::move(client), false, 7);
        return p;
    }

    void up(Peer& p) {
        p.client->accept();
        sched_.run_deferred();
    }

    // Kicked, then connected again once the backoff lets it.
    void bounce(Peer& p) {
        p.client->kick("broker restarted");
        for (int i = 0; i < 600 && !p.client->connecting; ++i) sched_.advance(500ms);
        ASSERT_TRUE(p.client->connecting);
        up(p);
    }

    static std::vector<std::string> published_topics(const Peer& p) {
        std::vector<std::string> out;
        for (const auto& pub : p.client->publications) out.push_back(pub.topic);
        return out;
    }

    static std::vector<std::string> published_payloads(const Peer& p) {
        std::vector<std::string> out;
        for (const auto& pub : p.client->publications) out.push_back(pub.payload);
        return out;
    }

    FakeScheduler sched_;
    FakeOutbox outbox_;
};

}  // namespace cellgate::bridge::testing
