// The onenet-legacy profile (OneNET's port-6002 access): CONNECT fields, endpoints, rules,
// warnings, CONNACK meanings and limits.
#include <gtest/gtest.h>

#include "unit/cloud/platform_checks.hpp"

using namespace std::chrono_literals;

namespace cellgate::cloud {
namespace {

using checks::at_ms;
using checks::has;
using testing::test_session;

CloudConfig legacy() { return test_session(Platform::onenet_legacy); }

TEST(PlatformOnenetLegacy, ConnectFields) {
    const ConnectParams p = make_connect_params(legacy(), at_ms(0));
    EXPECT_EQ(p.host, "mqtt.heclouds.com");
    EXPECT_EQ(p.port, 6002);
    EXPECT_EQ(p.client_id, "503902911");
    EXPECT_EQ(p.username, "238322");
    EXPECT_EQ(p.password, testing::kLegacyAuthInfo);
    EXPECT_FALSE(p.tls);
}

TEST(PlatformOnenetLegacy, Endpoints) {
    const checks::EndpointCase cases[] = {
        {"default", [](CloudConfig&) {}, "mqtt.heclouds.com:6002", "mqtt.heclouds.com", 6002},
        {"provincial clone", [](CloudConfig& c) { c.endpoint = "mqtt.zj.cmcconenet.com"; },
         "mqtt.zj.cmcconenet.com:6002", "mqtt.zj.cmcconenet.com", 6002},
    };
    checks::expect_endpoints(Platform::onenet_legacy, cases);
}

TEST(PlatformOnenetLegacy, EveryViolation) {
    EXPECT_TRUE(check_platform_rules(legacy()).empty()) << checks::dump(check_platform_rules(legacy()));
    const checks::RuleCase cases[] = {
        {"product_id", [](CloudConfig& c) { c.product_id.clear(); }, "product_id",
         "onenet-legacy requires product_id"},
        {"device_id", [](CloudConfig& c) { c.device_id.clear(); }, "device_id", "onenet-legacy requires device_id"},
        {"device_id numeric", [](CloudConfig& c) { c.device_id = "gw-001"; }, "device_id", "numeric"},
        {"auth_info", [](CloudConfig& c) { c.auth_info.clear(); }, "auth_info", "onenet-legacy requires auth_info"},
        {"tls", [](CloudConfig& c) { c.tls.enabled = true; }, "tls", "plain TCP only"},
        {"keepalive 119s", [](CloudConfig& c) { c.keepalive = 119s; }, "keepalive",
         "onenet-legacy requires keepalive between 120s and 1200s"},
        {"keepalive 1201s", [](CloudConfig& c) { c.keepalive = 1201s; }, "keepalive",
         "onenet-legacy requires keepalive between 120s and 1200s"},
    };
    checks::expect_violations(Platform::onenet_legacy, cases);
    checks::expect_cellular_keepalive_advice(Platform::onenet_legacy, 120s, 1200s);
}

TEST(PlatformOnenetLegacy, AlwaysAdvisesTheCurrentPlatform) {
    for (const Uplink uplink : {Uplink::cellular, Uplink::other})
        EXPECT_TRUE(has(platform_warnings(legacy(), uplink), "platform", "unencrypted"));
}

TEST(PlatformOnenetLegacy, ConnackMeanings) {
    // The legacy access protocol's CONNACK table.
    const checks::ConnackCase cases[] = {
        {2, "numeric device ID"},
        {4, "wrong product_id or auth_info"},
        {5, "illegal connection"},
    };
    checks::expect_connack(Platform::onenet_legacy, cases);
}

TEST(PlatformOnenetLegacy, Limits) {
    const PlatformProfile& p = profile(Platform::onenet_legacy);
    EXPECT_EQ(p.max_qos(), 2);
    EXPECT_FALSE(p.retain_allowed());
    EXPECT_EQ(p.max_payload(), 3u * 1024 * 1024);
    EXPECT_EQ(p.connect_spacing(), 2s);  // OneNET counts logins here too
    EXPECT_FALSE(p.thing_model());
}

}  // namespace
}  // namespace cellgate::cloud
