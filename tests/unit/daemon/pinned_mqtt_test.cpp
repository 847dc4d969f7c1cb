// The transport of a session that follows the modem: every connect is bound to the link's
// address and goes to the address the network's DNS gave, with the broker's name kept for TLS.
#include "daemon/pinned_mqtt.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <optional>

#include "net/dns.hpp"
#include "unit/support/fake_mqtt.hpp"
#include "unit/support/poll_scheduler.hpp"

namespace cellgate {
namespace {

using namespace std::chrono_literals;
using testing::FakeMqttClient;

struct Fixture {
    testing::FakeScheduler clock;  // the fake client's timestamps
    testing::PollScheduler loop;
    FakeMqttClient* inner = nullptr;
    std::optional<PinnedPath> path;
    std::unique_ptr<PinnedMqttClient> client;
    std::vector<std::pair<int, std::string>> failures;
    int connected = 0;

    Fixture() {
        auto fake = std::make_unique<FakeMqttClient>(clock);
        inner = fake.get();
        client = std::make_unique<PinnedMqttClient>(loop, std::move(fake), [this] { return path; });
        client->on_connected = [this] { ++connected; };
        client->on_connect_failed = [this](int rc, const std::string& why) { failures.emplace_back(rc, why); };
    }
    mqtt::ConnectParams params(const std::string& host) {
        mqtt::ConnectParams p;
        p.host = host;
        p.port = 8883;
        p.tls = true;
        return p;
    }
};

// A resolver whose only server is a closed port: names fail at once, addresses need no query.
net::Resolver::Options refusing_dns() {
    return {{*net::parse_ipv4("127.0.0.1")}, 9, std::nullopt, 500ms, 1};
}

TEST(PinnedMqttClient, WithoutALinkToPinToTheConnectPassesThrough) {
    Fixture f;
    f.client->connect(f.params("cloud.example"));
    ASSERT_EQ(f.inner->attempts.size(), 1U);
    EXPECT_EQ(f.inner->attempts[0].params.host, "cloud.example");
    EXPECT_EQ(f.inner->attempts[0].params.bind_address, "");
    EXPECT_EQ(f.inner->attempts[0].params.connect_address, "");
    f.inner->accept();
    EXPECT_EQ(f.connected, 1);
}

TEST(PinnedMqttClient, WithoutNetworkDnsOnlyTheSocketIsPinned) {
    Fixture f;
    f.path = PinnedPath{"192.168.225.51", nullptr};
    f.client->connect(f.params("cloud.example"));
    ASSERT_EQ(f.inner->attempts.size(), 1U);
    EXPECT_EQ(f.inner->attempts[0].params.bind_address, "192.168.225.51");
    EXPECT_EQ(f.inner->attempts[0].params.connect_address, "");
}

TEST(PinnedMqttClient, ConnectsToTheResolvedAddressFromTheLinksAddress) {
    Fixture f;
    net::Resolver dns(f.loop, refusing_dns());
    f.path = PinnedPath{"192.168.225.51", &dns};
    f.client->connect(f.params("203.0.113.7"));
    EXPECT_TRUE(f.inner->attempts.empty()) << "resolved from the loop, not inside connect()";
    ASSERT_TRUE(f.loop.run_until([&] { return !f.inner->attempts.empty(); }));
    const auto& p = f.inner->attempts[0].params;
    EXPECT_EQ(p.host, "203.0.113.7");
    EXPECT_EQ(p.connect_address, "203.0.113.7");
    EXPECT_EQ(p.bind_address, "192.168.225.51");
    EXPECT_TRUE(p.tls);
    EXPECT_EQ(p.port, 8883);
}

TEST(PinnedMqttClient, AnUnresolvableNameIsAConnectFailure) {
    Fixture f;
    net::Resolver dns(f.loop, refusing_dns());
    f.path = PinnedPath{"127.0.0.1", &dns};
    f.client->connect(f.params("cloud.example"));
    ASSERT_TRUE(f.loop.run_until([&] { return !f.failures.empty(); }, 5000ms));
    EXPECT_EQ(f.failures[0].first, -EHOSTUNREACH);
    EXPECT_NE(f.failures[0].second.find("mobile network's DNS"), std::string::npos) << f.failures[0].second;
    EXPECT_TRUE(f.inner->attempts.empty());
}

TEST(PinnedMqttClient, ADisconnectWhileResolvingCancelsTheAttempt) {
    Fixture f;
    net::Resolver dns(f.loop, refusing_dns());
    f.path = PinnedPath{"192.168.225.51", &dns};
    f.client->connect(f.params("203.0.113.7"));
    f.client->disconnect();
    f.loop.run_for(100ms);
    EXPECT_TRUE(f.inner->attempts.empty());
    EXPECT_TRUE(f.failures.empty());
    EXPECT_EQ(f.inner->disconnects, 1);
}

}  // namespace
}  // namespace cellgate
