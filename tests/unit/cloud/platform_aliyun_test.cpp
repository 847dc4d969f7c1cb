// The aliyun profile: the published signing vector (from "Connect over MQTT-TLS" in the Alibaba
// Cloud IoT Platform docs, reproduced exactly) and the other sign methods over the same content,
// endpoints, rules, warnings, CONNACK meanings and limits.
#include <gtest/gtest.h>

#include <string>

#include "cloud/platform_detail.hpp"
#include "unit/cloud/platform_checks.hpp"

using namespace std::chrono_literals;

namespace cellgate::cloud {
namespace {

using checks::at_ms;
using checks::has;
using testing::test_session;

CloudConfig aliyun() { return test_session(Platform::aliyun); }

// ---------------------------------------------------------------------------------------------
// Signing

TEST(PlatformAliyun, PublishedVectorHmacSha1) {
    // clientId 12345, deviceName device, productKey pk, timestamp 789, secret "secret"; the full
    // value is in the oldest version of the page, as quoted in developer.aliyun.com/article/603507.
    const auto creds = detail::aliyun_sign("12345", "pk", "device", "secret", "hmacsha1", "789", false);
    EXPECT_EQ(creds.client_id, "12345|securemode=3,signmethod=hmacsha1,timestamp=789|");
    EXPECT_EQ(creds.username, "device&pk");
    EXPECT_EQ(creds.password, "FAFD82A3D602B37FB0FA8B7892F24A477F851A14");
}

TEST(PlatformAliyun, PublishedVectorThroughConnectParams) {
    CloudConfig c = aliyun();
    c.client_id = "12345";
    c.product_key = "pk";
    c.device_name = "device";
    c.device_secret = "secret";
    c.sign_method = "hmacsha1";
    c.tls.enabled = false;
    const ConnectParams p = make_connect_params(c, at_ms(789));
    EXPECT_EQ(p.client_id, "12345|securemode=3,signmethod=hmacsha1,timestamp=789|");
    EXPECT_EQ(p.username, "device&pk");
    EXPECT_EQ(p.password, "FAFD82A3D602B37FB0FA8B7892F24A477F851A14");
    EXPECT_FALSE(p.tls);
    EXPECT_EQ(p.ca_file, "");
}

struct SignCase {
    const char* method;
    const char* password;
};

TEST(PlatformAliyun, EverySignMethodOverThePublishedContent) {
    // Computed with the documented algorithm: the official vector's content, other methods.
    const SignCase cases[] = {
        {"hmacsha1", "FAFD82A3D602B37FB0FA8B7892F24A477F851A14"},
        {"hmacsha256", "6074A46A91B1EBB2CC4EA42790AD0E80202C9843859FC292E57C4EB19FAD9E57"},
        {"hmacmd5", "14B198324FE55E1D3C88F2E705E201EE"},
    };
    for (const auto& k : cases) {
        SCOPED_TRACE(k.method);
        const auto creds = detail::aliyun_sign("12345", "pk", "device", "secret", k.method, "789", true);
        EXPECT_EQ(creds.client_id, std::string("12345|securemode=2,signmethod=") + k.method + ",timestamp=789|");
        EXPECT_EQ(creds.password, k.password);
    }
}

TEST(PlatformAliyun, DefaultClientIdIsProductKeyDotDeviceName) {
    // Computed: content clientIdpk.device...timestamp2524608000000 (the C SDKs' fixed 2050
    // timestamp), hmacsha256.
    CloudConfig c = aliyun();
    c.product_key = "pk";
    c.device_name = "device";
    c.device_secret = "secret";
    const ConnectParams p = make_connect_params(c, at_ms(2524608000000));
    EXPECT_EQ(p.client_id, "pk.device|securemode=2,signmethod=hmacsha256,timestamp=2524608000000|");
    EXPECT_EQ(p.username, "device&pk");
    EXPECT_EQ(p.password, "2EAB47D05EC94FAB1A34E7E9F54AEBD34A1E15770F932E05300193007E0091E9");
    EXPECT_TRUE(p.tls);
    EXPECT_TRUE(p.clean_session);
}

TEST(PlatformAliyun, TimestampFollowsTheClock) {
    const CloudConfig c = aliyun();
    const ConnectParams a = make_connect_params(c, at_ms(1'700'000'000'123));
    const ConnectParams b = make_connect_params(c, at_ms(1'700'000'000'124));
    EXPECT_NE(a.client_id.find("timestamp=1700000000123|"), std::string::npos);
    EXPECT_NE(a.password, b.password);
}

TEST(PlatformAliyun, UnknownSignMethodGivesNoPassword) {
    EXPECT_EQ(detail::aliyun_sign("x", "pk", "dn", "s", "sha256", "1", true).password, "");
}

// ---------------------------------------------------------------------------------------------
// Endpoints, rules, warnings

TEST(PlatformAliyun, Endpoints) {
    const checks::EndpointCase cases[] = {
        {"region (legacy public instance)", [](CloudConfig&) {},
         "a1B2c3D4e5F.iot-as-mqtt.cn-shanghai.aliyuncs.com:1883", "a1B2c3D4e5F.iot-as-mqtt.cn-shanghai.aliyuncs.com",
         1883},
        {"region without tls", [](CloudConfig& c) { c.tls.enabled = false; },
         "a1B2c3D4e5F.iot-as-mqtt.cn-shanghai.aliyuncs.com:1883", "a1B2c3D4e5F.iot-as-mqtt.cn-shanghai.aliyuncs.com",
         1883},
        {"instance", [](CloudConfig& c) { c.region.clear(); c.instance = "iot-06z00abc"; },
         "iot-06z00abc.mqtt.iothub.aliyuncs.com:1883", "iot-06z00abc.mqtt.iothub.aliyuncs.com", 1883},
        {"instance wins over region", [](CloudConfig& c) { c.instance = "iot-06z00abc"; },
         "iot-06z00abc.mqtt.iothub.aliyuncs.com:1883", "iot-06z00abc.mqtt.iothub.aliyuncs.com", 1883},
        {"endpoint overrides both", [](CloudConfig& c) { c.instance = "x"; c.endpoint = "10.0.0.5:443"; },
         "10.0.0.5:443", "10.0.0.5", 443},
        {"endpoint without port", [](CloudConfig& c) { c.endpoint = "iot.example.cn"; }, "iot.example.cn:1883",
         "iot.example.cn", 1883},
        {"nothing to go on", [](CloudConfig& c) { c.region.clear(); }, "", "", 1883},
    };
    checks::expect_endpoints(Platform::aliyun, cases);
}

TEST(PlatformAliyun, ValidConfigsPass) {
    CloudConfig c = aliyun();
    EXPECT_TRUE(check_platform_rules(c).empty()) << checks::dump(check_platform_rules(c));
    c.region.clear();
    c.instance = "iot-06z00abc";
    EXPECT_TRUE(check_platform_rules(c).empty()) << checks::dump(check_platform_rules(c));
    c.instance.clear();
    c.endpoint = "iot.example.cn:8883";
    EXPECT_TRUE(check_platform_rules(c).empty()) << checks::dump(check_platform_rules(c));
}

TEST(PlatformAliyun, EveryViolation) {
    const checks::RuleCase cases[] = {
        {"product_key", [](CloudConfig& c) { c.product_key.clear(); }, "product_key", "aliyun requires product_key"},
        {"device_name", [](CloudConfig& c) { c.device_name.clear(); }, "device_name", "aliyun requires device_name"},
        {"device_secret", [](CloudConfig& c) { c.device_secret.clear(); }, "device_secret",
         "aliyun requires device_secret"},
        {"no region/instance/endpoint", [](CloudConfig& c) { c.region.clear(); }, "region", "aliyun requires region"},
        {"bad region", [](CloudConfig& c) { c.region = "cn shanghai"; }, "region", "host name"},
        {"bad instance", [](CloudConfig& c) { c.instance = "iot.06z"; }, "instance", "instance id"},
        {"sign_method", [](CloudConfig& c) { c.sign_method = "sha256"; }, "sign_method",
         "hmacsha256, hmacsha1 or hmacmd5"},
        {"keepalive 29s", [](CloudConfig& c) { c.keepalive = 29s; }, "keepalive",
         "aliyun requires keepalive between 30s and 1200s (got 29s)"},
        {"keepalive 1201s", [](CloudConfig& c) { c.keepalive = 1201s; }, "keepalive",
         "aliyun requires keepalive between 30s and 1200s (got 1201s)"},
        {"clientId too long", [](CloudConfig& c) { c.device_name = std::string(60, 'd'); }, "device_name",
         "at most 64 characters"},
        {"client_id too long", [](CloudConfig& c) { c.client_id = std::string(65, 'c'); }, "client_id",
         "at most 64 characters"},
        {"delimiter in device_name", [](CloudConfig& c) { c.device_name = "gw|1"; }, "device_name",
         "must not contain"},
        {"& in product_key", [](CloudConfig& c) { c.product_key = "a&b"; }, "device_name", "must not contain"},
        {"bad endpoint", [](CloudConfig& c) { c.endpoint = "mqtt://x:1883"; }, "endpoint",
         "endpoint must be host:port"},
    };
    checks::expect_violations(Platform::aliyun, cases);
    checks::expect_cellular_keepalive_advice(Platform::aliyun, 30s, 1200s);
}

TEST(PlatformAliyun, Warnings) {
    CloudConfig c = aliyun();
    EXPECT_TRUE(platform_warnings(c, Uplink::cellular).empty()) << checks::dump(platform_warnings(c, Uplink::cellular));
    c.keepalive = 30s;
    EXPECT_TRUE(has(platform_warnings(c, Uplink::cellular), "keepalive", "below 60s wakes the radio too often "
                                                                         "on cellular (got 30s)"));
    c.keepalive = 241s;
    EXPECT_TRUE(has(platform_warnings(c, Uplink::cellular), "keepalive", "carrier NAT drops idle flows"));

    for (const Uplink uplink : {Uplink::cellular, Uplink::other}) {
        c = aliyun();
        c.tls.enabled = false;
        EXPECT_TRUE(has(platform_warnings(c, uplink), "tls", "refuses plain TCP"));
        c = aliyun();
        c.instance = "iot-06z00abc";
        EXPECT_TRUE(has(platform_warnings(c, uplink), "region", "instance endpoint is used"));
        c.tls.verify = false;
        EXPECT_TRUE(has(platform_warnings(c, uplink), "tls", "not verified"));
    }
}

// ---------------------------------------------------------------------------------------------
// CONNACK and limits

TEST(PlatformAliyun, ConnackMeanings) {
    // The platform's CONNACK troubleshooting page.
    const checks::ConnackCase cases[] = {
        {0, "accepted"},
        {1, "unacceptable protocol version"},
        {2, "clientId is malformed"},
        {2, "keepalive outside 30-1200s"},
        {3, "server unavailable"},
        {4, "wrong product_key, device_name or device_secret"},
        {5, "not authorized"},
        {6, "unknown CONNACK code 6"},
    };
    checks::expect_connack(Platform::aliyun, cases);
}

TEST(PlatformAliyun, Limits) {
    const PlatformProfile& p = profile(Platform::aliyun);
    EXPECT_EQ(p.max_qos(), 1);
    EXPECT_FALSE(p.retain_allowed());
    EXPECT_EQ(p.max_payload(), 256u * 1024);
    EXPECT_EQ(p.connect_spacing(), 1s);
    EXPECT_TRUE(p.thing_model());
}

}  // namespace
}  // namespace cellgate::cloud
