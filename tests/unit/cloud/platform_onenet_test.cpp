// The onenet profile: the published token vector (OneNET's official MQTT.fx example, reproduced
// exactly) and the other methods over the same inputs, endpoints, rules, warnings, CONNACK
// meanings and limits.
#include <gtest/gtest.h>

#include <string>

#include "cloud/platform_detail.hpp"
#include "unit/cloud/platform_checks.hpp"

using namespace std::chrono_literals;

namespace cellgate::cloud {
namespace {

using checks::at_ms;
using checks::has;
using testing::kOnenetKey;
using testing::test_session;

CloudConfig onenet() { return test_session(Platform::onenet); }

// The device of the official example.
CloudConfig example_device() {
    CloudConfig c = onenet();
    c.device_name = "mqtts-test-device";
    return c;
}

// ---------------------------------------------------------------------------------------------
// Token

TEST(PlatformOnenet, PublishedTokenVector) {
    const auto token =
        detail::onenet_token("products/238322/devices/mqtts-test-device", 7557387130, "sha1", kOnenetKey);
    ASSERT_TRUE(token);
    EXPECT_EQ(*token,
              "version=2018-10-31&res=products%2F238322%2Fdevices%2Fmqtts-test-device&et=7557387130&method=sha1"
              "&sign=Rs0u%2FKnyoK5%2FMuKo5xKa0tW%2BWqY%3D");
}

TEST(PlatformOnenet, PublishedVectorThroughConnectParams) {
    CloudConfig c = example_device();
    c.token_method = "sha1";
    c.token_lifetime = 3600s;
    const ConnectParams p = make_connect_params(c, at_ms((7557387130 - 3600) * 1000));
    EXPECT_EQ(p.client_id, "mqtts-test-device");
    EXPECT_EQ(p.username, "238322");
    EXPECT_EQ(p.password,
              "version=2018-10-31&res=products%2F238322%2Fdevices%2Fmqtts-test-device&et=7557387130&method=sha1"
              "&sign=Rs0u%2FKnyoK5%2FMuKo5xKa0tW%2BWqY%3D");
    EXPECT_TRUE(p.clean_session);
}

struct TokenCase {
    const char* method;
    const char* res;
    const char* sign;
};

TEST(PlatformOnenet, EveryMethod) {
    // Computed with the documented algorithm, with the example's key and et.
    const TokenCase cases[] = {
        {"sha1", "products/238322/devices/mqtts-test-device", "Rs0u%2FKnyoK5%2FMuKo5xKa0tW%2BWqY%3D"},
        {"md5", "products/238322/devices/mqtts-test-device", "9z6sXacZSD2aPEH8lbVPyA%3D%3D"},
        {"sha256", "products/238322/devices/mqtts-test-device", "hVAf8QEdu5v4O%2FvqQmyNzkkxVMzvZOpwtrXXmhyGu7M%3D"},
        {"sha1", "products/238322", "nSQhIecD3JamN3TdUbQd2HaoniQ%3D"},
    };
    for (const auto& k : cases) {
        SCOPED_TRACE(std::string(k.method) + " " + k.res);
        const auto token = detail::onenet_token(k.res, 7557387130, k.method, kOnenetKey);
        ASSERT_TRUE(token);
        EXPECT_EQ(*token, "version=2018-10-31&res=" + detail::onenet_url_encode(k.res) +
                              "&et=7557387130&method=" + k.method + "&sign=" + k.sign);
    }
}

TEST(PlatformOnenet, DefaultMethodIsSha256AndTokenIsFreshPerConnect) {
    const CloudConfig c = example_device();  // token_method sha256, lifetime 30 days
    const ConnectParams p = make_connect_params(c, at_ms((7557387130 - 30LL * 86400) * 1000));
    EXPECT_EQ(p.password,
              "version=2018-10-31&res=products%2F238322%2Fdevices%2Fmqtts-test-device&et=7557387130&method=sha256"
              "&sign=hVAf8QEdu5v4O%2FvqQmyNzkkxVMzvZOpwtrXXmhyGu7M%3D");
    const ConnectParams later = make_connect_params(c, at_ms((7557387130 - 30LL * 86400 + 5) * 1000));
    EXPECT_NE(later.password.find("&et=7557387135&"), std::string::npos);
    EXPECT_NE(later.password, p.password);
}

TEST(PlatformOnenet, BadKeyOrMethodGivesNoToken) {
    EXPECT_FALSE(detail::onenet_token("products/1/devices/d", 1, "sha1", "not base64!"));
    EXPECT_FALSE(detail::onenet_token("products/1/devices/d", 1, "sha512", kOnenetKey));
    EXPECT_FALSE(detail::onenet_token("products/1/devices/d", 1, "hmacsha1", kOnenetKey));
}

TEST(PlatformOnenet, UrlEncodingIsExactlyTheDocumentedTable) {
    EXPECT_EQ(detail::onenet_url_encode("+ /?%#&="), "%2B%20%2F%3F%25%23%26%3D");
    EXPECT_EQ(detail::onenet_url_encode("AZaz09-_.~"), "AZaz09-_.~");
}

// ---------------------------------------------------------------------------------------------
// Endpoints, rules, warnings

TEST(PlatformOnenet, Endpoints) {
    const checks::EndpointCase cases[] = {
        {"tls", [](CloudConfig&) {}, "mqttstls.heclouds.com:8883", "mqttstls.heclouds.com", 8883},
        {"plain", [](CloudConfig& c) { c.tls.enabled = false; }, "mqtts.heclouds.com:1883", "mqtts.heclouds.com",
         1883},
        {"smart domain override", [](CloudConfig& c) { c.endpoint = "238322.mqttstls.acc.cmcconenet.cn"; },
         "238322.mqttstls.acc.cmcconenet.cn:8883", "238322.mqttstls.acc.cmcconenet.cn", 8883},
    };
    checks::expect_endpoints(Platform::onenet, cases);
}

TEST(PlatformOnenet, EveryViolation) {
    EXPECT_TRUE(check_platform_rules(onenet()).empty()) << checks::dump(check_platform_rules(onenet()));
    const checks::RuleCase cases[] = {
        {"product_id", [](CloudConfig& c) { c.product_id.clear(); }, "product_id", "onenet requires product_id"},
        {"device_name", [](CloudConfig& c) { c.device_name.clear(); }, "device_name", "onenet requires device_name"},
        {"device_key", [](CloudConfig& c) { c.device_key.clear(); }, "device_key", "onenet requires device_key"},
        {"device_key not base64", [](CloudConfig& c) { c.device_key = "EnW4T71eIE55xOIQMN6p!"; }, "device_key",
         "base64"},
        {"device_name charset", [](CloudConfig& c) { c.device_name = "gw.001"; }, "device_name",
         "letters, digits, _ and -"},
        {"product_id charset", [](CloudConfig& c) { c.product_id = "238/322"; }, "product_id", "letters and digits"},
        {"token_method", [](CloudConfig& c) { c.token_method = "hmacsha1"; }, "token_method", "sha256, sha1 or md5"},
        {"token_lifetime", [](CloudConfig& c) { c.token_lifetime = 30s; }, "token_lifetime", "at least 60s"},
        {"keepalive 9s", [](CloudConfig& c) { c.keepalive = 9s; }, "keepalive",
         "onenet requires keepalive between 10s and 1800s (got 9s)"},
        {"keepalive 1801s", [](CloudConfig& c) { c.keepalive = 1801s; }, "keepalive",
         "onenet requires keepalive between 10s and 1800s (got 1801s)"},
    };
    checks::expect_violations(Platform::onenet, cases);
    checks::expect_cellular_keepalive_advice(Platform::onenet, 10s, 1800s);
}

TEST(PlatformOnenet, Warnings) {
    const auto cellular = [](const CloudConfig& c) { return platform_warnings(c, Uplink::cellular); };
    EXPECT_TRUE(cellular(onenet()).empty()) << checks::dump(cellular(onenet()));
    CloudConfig c = onenet();
    c.keepalive = 300s;
    EXPECT_FALSE(has(cellular(c), "keepalive", "must not exceed"));
    c.keepalive = 301s;
    EXPECT_TRUE(has(cellular(c), "keepalive", "must not exceed 300s (got 301s)"));
    EXPECT_TRUE(has(cellular(c), "keepalive", "carrier NAT"));
    // The device SDK's limit is the platform's, whatever the uplink.
    EXPECT_TRUE(has(platform_warnings(c, Uplink::other), "keepalive", "must not exceed 300s"));
}

// ---------------------------------------------------------------------------------------------
// CONNACK and limits

TEST(PlatformOnenet, ConnackMeanings) {
    const checks::ConnackCase cases[] = {
        {0, "accepted"},
        {1, "MQTT 3.1.1"},
        {2, "must be the device name"},
        {3, "server unavailable"},
        {4, "token expired (check the system clock)"},
        {5, "illegal connection"},
        {134, "unknown CONNACK code 134"},
    };
    checks::expect_connack(Platform::onenet, cases);
}

TEST(PlatformOnenet, Limits) {
    const PlatformProfile& p = profile(Platform::onenet);
    EXPECT_EQ(p.max_qos(), 1);
    EXPECT_FALSE(p.retain_allowed());
    EXPECT_EQ(p.max_payload(), 256u * 1024);
    // Its Studio limits page says 3 logins per 5 s: 2 s apart keeps any 5 s window at 3.
    EXPECT_EQ(p.connect_spacing(), 2s);
    EXPECT_TRUE(p.thing_model());
}

}  // namespace
}  // namespace cellgate::cloud
