// The CloudSession objects: the property table, Publish()'s error names, the path escaping, and
// the objects on a real, private dbus-daemon (one coalesced PropertiesChanged per burst,
// Reconnect() dispatch, nothing secret in the interface).
#include "daemon/bus_cloud.hpp"

#include <gtest/gtest.h>
#include <systemd/sd-bus.h>

#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "bridge/bridge.hpp"
#include "daemon/bus.hpp"
#include "unit/support/private_bus.hpp"
#include "unit/support/property_table_checks.hpp"

namespace cellgate {
namespace {

using namespace std::chrono_literals;
using cloud::SessionState;
using cloud::SessionStatus;

// ---- the table ----

TEST(CloudPropertyTable, ExportsEveryDocumentedPropertyOnceWithItsSignature) {
    const testing::PropertySpec expected[] = {
        {"Name", "s"},       {"Platform", "s"},       {"Endpoint", "s"},   {"ClientId", "s"},
        {"Transport", "s"},  {"State", "s"},      {"KeepAlive", "u"},      {"ConnectedSince", "t"}, {"Reconnects", "u"},
        {"LastDisconnectReason", "s"}, {"NextRetryIn", "u"}, {"Published", "t"}, {"Received", "t"},
        {"Pings", "t"},
    };
    testing::expect_documented_properties(cloud_properties(), expected, "Password");
}

TEST(CloudPropertyTable, StateUsesTheDocumentedNames) {
    const auto* state = cloud_properties().find("State");
    ASSERT_NE(state, nullptr);
    const std::pair<SessionState, const char*> cases[] = {
        {SessionState::idle, "idle"},           {SessionState::waiting_link, "waiting-link"},
        {SessionState::connecting, "connecting"}, {SessionState::connected, "connected"},
        {SessionState::backoff, "backoff"},     {SessionState::auth_failed, "auth-failed"},
    };
    for (const auto& [st, name] : cases) {
        SessionStatus s;
        s.state = st;
        EXPECT_EQ(std::get<std::string>(state->get(s)), name);
    }
}

TEST(CloudPropertyDiff, EveryFieldIsCoveredByAProperty) {
    void (*const mutations[])(SessionStatus&) = {
        [](SessionStatus& s) { s.name = "lab"; },
        [](SessionStatus& s) { s.platform = "generic"; },
        [](SessionStatus& s) { s.endpoint = "127.0.0.1:1883"; },
        [](SessionStatus& s) { s.client_id = "gw-001"; },
        [](SessionStatus& s) { s.transport = "module"; },
        [](SessionStatus& s) { s.state = SessionState::connected; },
        [](SessionStatus& s) { s.keepalive_s = 120; },
        [](SessionStatus& s) { s.connected_since_us = 1'700'000'000'000'000ULL; },
        [](SessionStatus& s) { s.reconnects = 1; },
        [](SessionStatus& s) { s.last_disconnect_reason = "keepalive timeout"; },
        [](SessionStatus& s) { s.next_retry_in_s = 4; },
        [](SessionStatus& s) { s.published = 1; },
        [](SessionStatus& s) { s.received = 1; },
        [](SessionStatus& s) { s.pings = 1; },
    };
    testing::expect_every_field_covered(cloud_properties(), mutations);
}

TEST(CloudPropertyDiff, NamesExactlyTheChangedPropertiesInTableOrder) {
    SessionStatus before;
    before.state = SessionState::connecting;
    SessionStatus after = before;
    after.pings = 3;
    after.state = SessionState::connected;
    after.connected_since_us = 5;
    EXPECT_TRUE(cloud_properties().changed(after, after).empty());
    auto names = cloud_properties().changed(before, after);
    EXPECT_EQ(std::vector<std::string>(names.begin(), names.end()),
              (std::vector<std::string>{"State", "ConnectedSince", "Pings"}));
}

TEST(DeliveryPropertyTable, ExportsEveryDocumentedPropertyOnceWithItsSignature) {
    const testing::PropertySpec expected[] = {
        {"Queued", "t"}, {"Dropped", "t"}, {"Invalid", "t"}, {"Accepted", "t"}, {"Rejected", "t"},
        {"LastRejection", "s"},
    };
    testing::expect_documented_properties(delivery_properties(), expected, "Name");
}

TEST(DeliveryPropertyDiff, EveryFieldIsCoveredByAProperty) {
    using bridge::DeliveryStatus;
    void (*const mutations[])(DeliveryStatus&) = {
        [](DeliveryStatus& s) { s.queued = 1; },   [](DeliveryStatus& s) { s.dropped = 1; },
        [](DeliveryStatus& s) { s.invalid = 1; },  [](DeliveryStatus& s) { s.accepted = 1; },
        [](DeliveryStatus& s) { s.rejected = 1; }, [](DeliveryStatus& s) { s.last_rejection = "400 bad"; },
    };
    testing::expect_every_field_covered(delivery_properties(), mutations);
}

// ---- Publish() errors ----

TEST(PublishErrorName, EveryRefusalHasItsOwnDocumentedName) {
    using bridge::PublishError;
    const std::pair<PublishError, const char*> cases[] = {
        {PublishError::invalid_topic, "org.cellgate.Gateway1.Error.InvalidTopic"},
        {PublishError::too_large, "org.cellgate.Gateway1.Error.PayloadTooLarge"},
        {PublishError::qos_not_supported, "org.cellgate.Gateway1.Error.QosNotSupported"},
        {PublishError::not_connected, "org.cellgate.Gateway1.Error.NotConnected"},
        {PublishError::outbox_full, "org.cellgate.Gateway1.Error.OutboxFull"},
        {PublishError::outbox_failed, "org.cellgate.Gateway1.Error.OutboxFailed"},
    };
    for (const auto& [error, name] : cases) EXPECT_STREQ(publish_error_name(error), name) << to_string(error);
}

// ---- paths ----

std::string sd_encoded(const std::string& name) {
    char* out = nullptr;
    EXPECT_GE(sd_bus_path_encode(kCloudPath, name.c_str(), &out), 0);
    std::string s = out ? out : "";
    std::free(out);
    return s;
}

TEST(CloudPath, EscapesExactlyLikeSdBusPathEncode) {
    const std::pair<const char*, const char*> cases[] = {
        {"lab", "/org/cellgate/Gateway1/Cloud/lab"},
        {"ali", "/org/cellgate/Gateway1/Cloud/ali"},
        {"gw_1", "/org/cellgate/Gateway1/Cloud/gw_5f1"},
        {"my-broker", "/org/cellgate/Gateway1/Cloud/my_2dbroker"},
        {"0lab", "/org/cellgate/Gateway1/Cloud/_30lab"},
        {"a_2d", "/org/cellgate/Gateway1/Cloud/a_5f2d"},  // cannot collide with "a-"
        {"a-", "/org/cellgate/Gateway1/Cloud/a_2d"},
        {"", "/org/cellgate/Gateway1/Cloud/_"},
    };
    for (const auto& [name, path] : cases) {
        EXPECT_EQ(cloud_object_path(name), path) << name;
        EXPECT_EQ(cloud_object_path(name), sd_encoded(name)) << name;
    }
}

TEST(CloudPath, EveryShortValidNameGetsItsOwnValidPath) {
    const std::string alphabet = "abcdefghijklmnopqrstuvwxyz0123456789_-";
    std::set<std::string> paths;
    size_t names = 0;
    for (char a : alphabet) {
        for (int len = 1; len <= 2; ++len) {
            for (char b : alphabet) {
                const std::string name = len == 1 ? std::string(1, a) : std::string{a, b};
                const std::string path = cloud_object_path(name);
                ASSERT_TRUE(sd_bus_object_path_is_valid(path.c_str())) << name << " -> " << path;
                char* decoded = nullptr;
                ASSERT_GT(sd_bus_path_decode(path.c_str(), kCloudPath, &decoded), 0) << path;
                EXPECT_EQ(std::string(decoded), name);
                std::free(decoded);
                paths.insert(path);
                ++names;
                if (len == 1) break;
            }
        }
    }
    EXPECT_EQ(paths.size(), names);
}

// ---- on a private bus ----

class CloudBusTest : public testing::PrivateBusTest {
protected:
    void start_bus(const std::vector<std::string>& names) {
        start_service({}, [&](Bus& bus) {
            for (const auto& n : names) bus.add_session(n, [this, n] { reconnects_.push_back(n); });
        });
    }

    std::string get_string(const std::string& path, const char* property) {
        return PrivateBusTest::get_string(path, kCloudSessionInterface, property);
    }

    uint64_t get_u64(const std::string& path, const char* property) {
        Reply r;
        call(r, path, "org.freedesktop.DBus.Properties", "Get", "ss", kCloudSessionInterface, property);
        EXPECT_EQ(r.error, "") << property;
        uint64_t v = 0;
        if (r.message) {
            EXPECT_GE(sd_bus_message_read(r.message, "v", "t", &v), 0) << property;
        }
        return v;
    }

    std::vector<std::string> reconnects_;
};

TEST_F(CloudBusTest, EachSessionIsAnObjectAtItsEscapedPath) {
    start_bus({"lab", "my-broker"});
    EXPECT_EQ(get_string("/org/cellgate/Gateway1/Cloud/lab", "Name"), "lab");
    EXPECT_EQ(get_string("/org/cellgate/Gateway1/Cloud/my_2dbroker", "Name"), "my-broker");
    EXPECT_EQ(get_string("/org/cellgate/Gateway1/Cloud/lab", "State"), "idle");

    Reply missing;
    call(missing, "/org/cellgate/Gateway1/Cloud/nope", "org.freedesktop.DBus.Properties", "Get", "ss",
         kCloudSessionInterface, "Name");
    EXPECT_NE(missing.error, "");
}

TEST_F(CloudBusTest, StatusIsReadableWithItsTypes) {
    start_bus({"lab"});
    SessionStatus s;
    s.name = "lab";
    s.platform = "generic";
    s.endpoint = "127.0.0.1:1883";
    s.client_id = "gw-001";
    s.state = SessionState::connected;
    s.keepalive_s = 60;
    s.connected_since_us = 1'732'000'000'123'456ULL;
    s.published = 1ULL << 40;
    bus_->set_session_status(0, s);
    const std::string path = cloud_object_path("lab");
    EXPECT_EQ(get_string(path, "State"), "connected");
    EXPECT_EQ(get_string(path, "ClientId"), "gw-001");
    EXPECT_EQ(get_string(path, "Endpoint"), "127.0.0.1:1883");
    EXPECT_EQ(get_u64(path, "ConnectedSince"), 1'732'000'000'123'456ULL);
    EXPECT_EQ(get_u64(path, "Published"), 1ULL << 40);

    Reply keepalive;
    call(keepalive, path, "org.freedesktop.DBus.Properties", "Get", "ss", kCloudSessionInterface, "KeepAlive");
    uint32_t ka = 0;
    ASSERT_NE(keepalive.message, nullptr);
    ASSERT_GE(sd_bus_message_read(keepalive.message, "v", "u", &ka), 0);
    EXPECT_EQ(ka, 60u);
}

TEST_F(CloudBusTest, ABurstOfUpdatesIsOnePropertiesChangedPerSession) {
    start_bus({"ali", "lab"});
    settle();
    signals_.clear();

    SessionStatus s;
    s.name = "lab";
    s.state = SessionState::connecting;
    bus_->set_session_status(1, s);
    s.state = SessionState::connected;
    s.connected_since_us = 42;
    bus_->set_session_status(1, s);
    s.pings = 1;
    bus_->set_session_status(1, s);
    settle();

    ASSERT_EQ(signals_.size(), 1u);
    EXPECT_EQ(signals_[0].path, "/org/cellgate/Gateway1/Cloud/lab");
    EXPECT_EQ(signals_[0].interface, kCloudSessionInterface);
    EXPECT_EQ(signals_[0].changed, (std::set<std::string>{"State", "ConnectedSince", "Pings"}));

    // Undone before the loop turns: nothing to say.
    signals_.clear();
    SessionStatus other = s;
    other.state = SessionState::backoff;
    bus_->set_session_status(1, other);
    bus_->set_session_status(1, s);
    settle();
    EXPECT_TRUE(signals_.empty());
}

// A busy session changes its counters with every message: they are announced at most every
// 250 ms, the last values in one signal; a state change goes at once and takes them along.
TEST_F(CloudBusTest, CountersAreAnnouncedAFewTimesASecond) {
    start_bus({"lab"});
    settle();
    SessionStatus s;
    s.name = "lab";
    s.state = SessionState::connected;
    bus_->set_session_status(0, s);
    settle(50ms);
    signals_.clear();

    const auto t0 = Clock::now();
    for (int i = 1; i <= 20; ++i) {
        s.published = static_cast<uint64_t>(i);
        bus_->set_session_status(0, s);
        settle(20ms);
    }
    const auto elapsed = Clock::now() - t0;
    settle(300ms);
    // Twenty changes: one signal per 250 ms they spanned (and the last one after them), not twenty.
    const auto intervals = static_cast<size_t>(elapsed / 250ms);
    ASSERT_GE(signals_.size(), 2u);
    EXPECT_LE(signals_.size(), intervals + 2) << "over " << elapsed.count() << " ns";
    EXPECT_LT(signals_.size(), 20u);
    for (const auto& sig : signals_) EXPECT_EQ(sig.changed, std::set<std::string>{"Published"});
    EXPECT_EQ(get_u64(cloud_object_path("lab"), "Published"), 20u) << "a reader sees the current value";

    signals_.clear();
    s.published = 21;
    bus_->set_session_status(0, s);
    s.state = SessionState::backoff;
    bus_->set_session_status(0, s);
    settle(50ms);
    ASSERT_EQ(signals_.size(), 1u);
    EXPECT_EQ(signals_[0].changed, (std::set<std::string>{"State", "Published"}));
}

TEST_F(CloudBusTest, ReconnectIsForwardedToItsSessionForRoot) {
    start_bus({"ali", "lab"});
    Reply r;
    // The client is root, like the test: both access checks pass.
    call(r, cloud_object_path("lab"), kCloudSessionInterface, "Reconnect", "");
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(reconnects_, (std::vector<std::string>{"lab"}));
}

TEST_F(CloudBusTest, IntrospectionOffersNoCredential) {
    start_bus({"lab"});
    Reply r;
    call(r, cloud_object_path("lab"), "org.freedesktop.DBus.Introspectable", "Introspect", "");
    ASSERT_NE(r.message, nullptr);
    const char* xml = nullptr;
    ASSERT_GE(sd_bus_message_read(r.message, "s", &xml), 0);
    const std::string text = xml;
    EXPECT_NE(text.find(kCloudSessionInterface), std::string::npos);
    EXPECT_NE(text.find("<method name=\"Reconnect\">"), std::string::npos) << text;
    for (const char* word : {"Password", "Secret", "Token", "Key\""})
        EXPECT_EQ(text.find(word), std::string::npos) << word;
    // Every property announces changes (no const or invalidates-only ones).
    EXPECT_EQ(text.find("EmitsChangedSignal\" value=\"const\""), std::string::npos);

    Reply parent;
    call(parent, kCloudPath, "org.freedesktop.DBus.Introspectable", "Introspect", "");
    ASSERT_NE(parent.message, nullptr);
    ASSERT_GE(sd_bus_message_read(parent.message, "s", &xml), 0);
    EXPECT_NE(std::string(xml).find("<node name=\"lab\"/>"), std::string::npos) << xml;
}

}  // namespace
}  // namespace cellgate
