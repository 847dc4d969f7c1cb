// The local broker connection: a generic-platform session built from the `local:` section.
#include "daemon/local_session.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include "cloud/session.hpp"
#include "unit/support/fake_scheduler.hpp"

namespace cellgate {
namespace {

bridge::LocalBrokerConfig local() {
    bridge::LocalBrokerConfig l;
    l.endpoint = "127.0.0.1:1884";
    l.client_id = "gw-bridge";
    l.username = "cellgate";
    l.password = "local-pw";
    return l;
}

TEST(LocalSession, ConnectsAsAGenericClientWithTheLocalSettings) {
    const cloud::CloudConfig c = local_session_config(local());
    EXPECT_EQ(c.name, "local-broker");
    EXPECT_EQ(c.platform, cloud::Platform::generic);
    EXPECT_EQ(c.endpoint, "127.0.0.1:1884");
    EXPECT_EQ(c.client_id, "gw-bridge");
    EXPECT_EQ(c.username, "cellgate");
    EXPECT_EQ(c.password, "local-pw");
    EXPECT_EQ(c.keepalive, std::chrono::seconds(60));
}

TEST(LocalSession, IsMadeIdleWithThoseSettings) {
    testing::FakeScheduler sched;
    const auto session = make_local_session(sched, local(), cloud::BackoffConfig{});
    ASSERT_NE(session, nullptr);
    EXPECT_EQ(session->config().name, "local-broker");
    EXPECT_EQ(session->config().endpoint, "127.0.0.1:1884");
    EXPECT_EQ(session->status().state, cloud::SessionState::idle);
}

}  // namespace
}  // namespace cellgate
