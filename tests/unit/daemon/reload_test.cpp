// What a SIGHUP changes: plan_reload() compares the running config with the one just loaded, so
// the gateway replaces exactly what changed and keeps every healthy connection that did not.
#include "daemon/reload.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <stdexcept>
#include <string>

#include "daemon/config.hpp"

namespace cellgate {
namespace {

constexpr const char* kModem = R"(
modem:
  port: /dev/ttyUSB2
  apn:
    name: cmnet
)";

constexpr const char* kLab = R"(
  - name: lab
    platform: generic
    endpoint: 127.0.0.1:1883
    client_id: gw-lab
)";

constexpr const char* kAli = R"(
  - name: ali
    platform: aliyun
    product_key: a1B2c3D4e5F
    device_name: gw-001
    device_secret: "ali-secret"
    region: cn-shanghai
    tls: true
)";

const char* name(Change c) {
    switch (c) {
        case Change::unchanged: return "unchanged";
        case Change::changed: return "changed";
        case Change::added: return "added";
        case Change::removed: return "removed";
    }
    return "?";
}

}  // namespace

// gtest prints a Change by its name.
void PrintTo(Change c, std::ostream* os) { *os << name(c); }

namespace {

// A config the loader refused would make every comparison below meaningless: stop the test.
Config load(const std::string& yaml) {
    auto r = load_config_string(yaml, "test.yaml");
    std::string errors;
    for (const auto& e : r.errors) errors += e.to_string() + "\n";
    if (!r.config) throw std::runtime_error("the test's config was refused:\n" + errors);
    return *r.config;
}

std::string cloud(const std::string& entries) { return "cloud:" + entries; }

TEST(ReloadPlan, TheSameFileChangesNothing) {
    const std::string yaml = std::string(kModem) + cloud(std::string(kLab) + kAli);
    const auto plan = plan_reload(load(yaml), load(yaml));
    EXPECT_TRUE(plan.empty()) << plan.summary();
    EXPECT_EQ(plan.modem, Change::unchanged);
    EXPECT_EQ(plan.session("lab"), Change::unchanged);
    EXPECT_EQ(plan.session("ali"), Change::unchanged);
    EXPECT_FALSE(plan.rebuild_bridge());
    EXPECT_EQ(plan.summary(), "modem unchanged; cloud: lab kept, ali kept");
}

// Lines only say where an entry was: a comment added at the top moves every entry.
TEST(ReloadPlan, EntriesThatOnlyMovedAreKept) {
    const std::string before = std::string(kModem) + cloud(std::string(kLab) + kAli);
    const std::string after = "# edited\n\n\n" + before;
    const auto a = load(before), b = load(after);
    ASSERT_EQ(a.cloud.size(), 2u);
    ASSERT_EQ(b.cloud.size(), 2u);
    ASSERT_NE(a.cloud[0].config_line, b.cloud[0].config_line);
    const auto plan = plan_reload(a, b);
    EXPECT_TRUE(plan.empty()) << plan.summary();
}

TEST(ReloadPlan, OnlyTheEditedSessionIsReplaced) {
    const std::string before = std::string(kModem) + cloud(std::string(kLab) + kAli);
    std::string edited_lab = kLab;
    edited_lab.replace(edited_lab.find("gw-lab"), 6, "gw-lab2");
    const auto plan = plan_reload(load(before), load(std::string(kModem) + cloud(edited_lab + kAli)));
    EXPECT_EQ(plan.modem, Change::unchanged);
    EXPECT_EQ(plan.session("lab"), Change::changed);
    EXPECT_EQ(plan.session("ali"), Change::unchanged);
    EXPECT_TRUE(plan.sessions_changed());
    EXPECT_FALSE(plan.empty());
    EXPECT_EQ(plan.summary(), "modem unchanged; cloud: lab replaced, ali kept");
}

TEST(ReloadPlan, AddedAndRemovedSessionsAreNamed) {
    const auto plan = plan_reload(load(std::string(kModem) + cloud(kLab)), load(std::string(kModem) + cloud(kAli)));
    EXPECT_EQ(plan.session("ali"), Change::added);
    EXPECT_EQ(plan.session("lab"), Change::removed);
    EXPECT_EQ(plan.session("nowhere"), Change::removed);
    EXPECT_EQ(plan.summary(), "modem unchanged; cloud: ali added, lab removed");
}

TEST(ReloadPlan, AModemEditRestartsTheModemAndKeepsTheSessions) {
    std::string apn = kModem;
    apn.replace(apn.find("cmnet"), 5, "cmiot");
    const auto plan = plan_reload(load(std::string(kModem) + cloud(kLab)), load(apn + cloud(kLab)));
    EXPECT_EQ(plan.modem, Change::changed);
    EXPECT_EQ(plan.session("lab"), Change::unchanged);
}

// A session built to follow the modem's data link must follow the host network instead, or the
// other way round: that is a different session.
TEST(ReloadPlan, TheModemComingOrGoingReplacesEverySession) {
    const auto with = load(std::string(kModem) + cloud(kLab));
    const auto without = load(cloud(kLab));
    const auto gone = plan_reload(with, without);
    EXPECT_EQ(gone.modem, Change::removed);
    EXPECT_FALSE(gone.has_modem);
    EXPECT_EQ(gone.session("lab"), Change::changed);
    const auto back = plan_reload(without, with);
    EXPECT_EQ(back.modem, Change::added);
    EXPECT_EQ(back.session("lab"), Change::changed);
}

TEST(ReloadPlan, RoutesDownlinkLocalAndRateLimitsRebuildTheBridgeOnly) {
    const std::string sessions = cloud(std::string(kLab) + kAli);
    const std::string base = sessions + R"(
local: { endpoint: 127.0.0.1:1883 }
routes:
  - { from: sensors/#, to: lab, as: raw, topic: "t/{1}" }
downlink:
  - { from: ali, to: cloud/ali }
)";
    const auto running = load(base);

    std::string routes = base;
    routes.replace(routes.find("sensors/#"), 9, "meters/#");
    auto plan = plan_reload(running, load(routes));
    EXPECT_TRUE(plan.routes_changed);
    EXPECT_FALSE(plan.downlink_changed);
    EXPECT_FALSE(plan.sessions_changed());
    EXPECT_TRUE(plan.rebuild_bridge());
    EXPECT_NE(plan.summary().find("; routes changed"), std::string::npos) << plan.summary();

    std::string downlink = base;
    downlink.replace(downlink.find("cloud/ali"), 9, "cmd/ali");
    plan = plan_reload(running, load(downlink));
    EXPECT_TRUE(plan.downlink_changed);
    EXPECT_FALSE(plan.routes_changed);
    EXPECT_TRUE(plan.rebuild_bridge());

    std::string local = base;
    local.replace(local.find("127.0.0.1:1883 }"), 14, "127.0.0.1:1884");
    plan = plan_reload(running, load(local));
    EXPECT_TRUE(plan.local_changed);
    EXPECT_TRUE(plan.rebuild_bridge());

    // A rate limit is a session key, but the bridge's pacing, not the connection, uses it.
    std::string rate = base;
    rate.replace(rate.find("    client_id: gw-lab\n"), 22, "    client_id: gw-lab\n    rate_limit: { per_second: 5, burst: 2 }\n");
    plan = plan_reload(running, load(rate));
    EXPECT_TRUE(plan.rate_limits_changed) << plan.summary();
    EXPECT_EQ(plan.session("lab"), Change::unchanged) << plan.summary();
    EXPECT_TRUE(plan.rebuild_bridge());
}

// The retained status has a connection of its own: the gateway restarts it, and only it, when its
// topic, its broker or whether it is published changes, and the log line says so.
TEST(ReloadPlan, TheStatusTopicRestartsTheStatusAlone) {
    const auto running = load(cloud(kLab) + "local: { status_topic: gw/status }\n");
    auto plan = plan_reload(running, load(cloud(kLab) + "local: { status_topic: gw/state }\n"));
    EXPECT_TRUE(plan.status_changed);
    EXPECT_FALSE(plan.local_changed);
    EXPECT_FALSE(plan.rebuild_bridge());
    EXPECT_FALSE(plan.empty());
    EXPECT_EQ(plan.summary(), "no modem; cloud: lab kept; status on the local broker changed");

    // Not published any more (an empty topic), or published for the first time.
    plan = plan_reload(running, load(cloud(kLab) + "local: { status_topic: \"\" }\n"));
    EXPECT_TRUE(plan.status_changed) << plan.summary();
    plan = plan_reload(load(cloud(kLab)), running);
    EXPECT_TRUE(plan.status_changed) << plan.summary();

    // With routes the bridge has a local connection too, which the topic is not part of.
    const std::string routed = cloud(kLab) + "routes:\n  - { from: sensors/#, to: lab, as: raw, topic: \"t/{1}\" }\n";
    plan = plan_reload(load(routed + "local: { status_topic: gw/status }\n"),
                       load(routed + "local: { status_topic: gw/state }\n"));
    EXPECT_TRUE(plan.status_changed);
    EXPECT_FALSE(plan.local_changed);
    EXPECT_FALSE(plan.rebuild_bridge());
    // The broker both use moves: both follow.
    plan = plan_reload(load(routed + "local: { status_topic: gw/status }\n"),
                       load(routed + "local: { status_topic: gw/status, endpoint: 127.0.0.1:1884 }\n"));
    EXPECT_TRUE(plan.status_changed);
    EXPECT_TRUE(plan.local_changed);

    // The same file: nothing to restart.
    plan = plan_reload(running, running);
    EXPECT_FALSE(plan.status_changed);
    EXPECT_TRUE(plan.empty()) << plan.summary();
}

TEST(ReloadPlan, SettingsThatWaitForARestartAreNamedAsSuch) {
    const std::string sessions = cloud(kLab);
    const auto running = load(sessions + "outbox: { path: /var/lib/cellgate/outbox.db }\n");
    auto plan = plan_reload(running, load(sessions + "outbox: { path: /tmp/elsewhere.db }\n"));
    EXPECT_TRUE(plan.outbox_changed);
    EXPECT_FALSE(plan.rebuild_bridge());
    EXPECT_NE(plan.summary().find("outbox changed (at the next restart)"), std::string::npos) << plan.summary();

    plan = plan_reload(running, load(sessions + "outbox: { path: /var/lib/cellgate/outbox.db }\nbackoff: { initial: 5s }\n"));
    EXPECT_TRUE(plan.backoff_changed);
    EXPECT_FALSE(plan.sessions_changed());
    EXPECT_NE(plan.summary().find("backoff changed (for new and replaced sessions)"), std::string::npos);

    plan = plan_reload(running, load(sessions + "outbox: { path: /var/lib/cellgate/outbox.db }\nlog_level: debug\n"));
    EXPECT_TRUE(plan.log_level_changed);
    EXPECT_FALSE(plan.empty());
}

}  // namespace
}  // namespace cellgate
