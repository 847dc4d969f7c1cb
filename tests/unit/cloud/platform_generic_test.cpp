// The generic profile (any MQTT 3.1.1 broker): CONNECT fields, endpoints, rules, warnings, CONNACK
// meanings and limits.
#include <gtest/gtest.h>

#include "unit/cloud/platform_checks.hpp"

using namespace std::chrono_literals;

namespace cellgate::cloud {
namespace {

using checks::at_ms;
using checks::has;
using testing::test_session;

CloudConfig generic() { return test_session(Platform::generic); }

TEST(PlatformGeneric, ConnectFields) {
    CloudConfig c = generic();
    c.tls.cert_file = "/etc/cellgate/gw.pem";
    c.tls.key_file = "/etc/cellgate/gw.key";
    c.keepalive = 90s;
    const ConnectParams p = make_connect_params(c, at_ms(0));
    EXPECT_EQ(p.host, "broker.example");
    EXPECT_EQ(p.port, 8883);
    EXPECT_EQ(p.client_id, "lab-1");
    EXPECT_EQ(p.username, "gw");
    EXPECT_EQ(p.password, testing::kGenericPassword);
    EXPECT_TRUE(p.tls);
    EXPECT_TRUE(p.verify_server);
    EXPECT_EQ(p.cert_file, "/etc/cellgate/gw.pem");
    EXPECT_EQ(p.key_file, "/etc/cellgate/gw.key");
    EXPECT_EQ(p.keepalive, 90s);
    EXPECT_EQ(p.ca_file, "/etc/ssl/certs/ca-certificates.crt");  // no ca: the system store
    c.tls.ca_file = "/etc/cellgate/ca.pem";
    c.tls.verify = false;
    const ConnectParams q = make_connect_params(c, at_ms(0));
    EXPECT_EQ(q.ca_file, "/etc/cellgate/ca.pem");
    EXPECT_FALSE(q.verify_server);
}

TEST(PlatformGeneric, Endpoints) {
    const checks::EndpointCase cases[] = {
        {"as configured", [](CloudConfig&) {}, "broker.example:8883", "broker.example", 8883},
        {"no port, tls", [](CloudConfig& c) { c.endpoint = "broker.example"; }, "broker.example:8883",
         "broker.example", 8883},
        {"no port, plain", [](CloudConfig& c) { c.endpoint = "broker.example"; c.tls.enabled = false; },
         "broker.example:1883", "broker.example", 1883},
        {"ipv6", [](CloudConfig& c) { c.endpoint = "[::1]:1884"; }, "[::1]:1884", "::1", 1884},
    };
    checks::expect_endpoints(Platform::generic, cases);
}

TEST(PlatformGeneric, ValidConfigsPass) {
    CloudConfig c = generic();
    EXPECT_TRUE(check_platform_rules(c).empty()) << checks::dump(check_platform_rules(c));
    // A client certificate instead of a password.
    c.username.clear();
    c.password.clear();
    c.tls.cert_file = "/etc/cellgate/gw.pem";
    c.tls.key_file = "/etc/cellgate/gw.key";
    EXPECT_TRUE(check_platform_rules(c).empty()) << checks::dump(check_platform_rules(c));
}

TEST(PlatformGeneric, EveryViolation) {
    const checks::RuleCase cases[] = {
        {"endpoint", [](CloudConfig& c) { c.endpoint.clear(); }, "endpoint", "generic requires endpoint"},
        {"client_id", [](CloudConfig& c) { c.client_id.clear(); }, "client_id", "generic requires client_id"},
        {"client_id NUL", [](CloudConfig& c) { c.client_id = std::string("a\0b", 3); }, "client_id", "NUL"},
        {"password without username", [](CloudConfig& c) { c.username.clear(); }, "password",
         "only with a username"},
        {"cert without key", [](CloudConfig& c) { c.tls.cert_file = "/x.pem"; }, "tls", "both cert and key"},
        {"key without cert", [](CloudConfig& c) { c.tls.key_file = "/x.key"; }, "tls", "both cert and key"},
        {"keepalive 9s", [](CloudConfig& c) { c.keepalive = 9s; }, "keepalive",
         "generic requires keepalive between 10s and 65535s"},
        {"keepalive 65536s", [](CloudConfig& c) { c.keepalive = 65536s; }, "keepalive",
         "generic requires keepalive between 10s and 65535s"},
    };
    checks::expect_violations(Platform::generic, cases);
    checks::expect_cellular_keepalive_advice(Platform::generic, 10s, 65535s);
}

TEST(PlatformGeneric, Warnings) {
    for (const Uplink uplink : {Uplink::cellular, Uplink::other}) {
        EXPECT_TRUE(platform_warnings(generic(), uplink).empty()) << checks::dump(platform_warnings(generic(), uplink));
        CloudConfig c = generic();
        c.client_id = std::string(24, 'c');
        EXPECT_TRUE(has(platform_warnings(c, uplink), "client_id", "23 characters"));
        c = generic();
        c.tls.enabled = false;
        EXPECT_TRUE(has(platform_warnings(c, uplink), "tls", "password is sent unencrypted"));
    }
}

TEST(PlatformGeneric, ConnackMeaningsAreMqttOnes) {
    // MQTT 3.1.1, CONNACK return codes.
    const checks::ConnackCase cases[] = {
        {0, "accepted"},
        {1, "unacceptable protocol version"},
        {2, "identifier rejected"},
        {3, "server unavailable"},
        {4, "bad user name or password"},
        {5, "not authorized"},
        {-1, "unknown CONNACK code -1"},
    };
    checks::expect_connack(Platform::generic, cases);
}

TEST(PlatformGeneric, Limits) {
    const PlatformProfile& p = profile(Platform::generic);
    EXPECT_EQ(p.max_qos(), 2);
    EXPECT_TRUE(p.retain_allowed());
    EXPECT_GT(p.max_payload(), 200'000'000u);
    EXPECT_LT(p.max_payload(), 268'435'455u);
    EXPECT_EQ(p.connect_spacing(), 1s);
    EXPECT_FALSE(p.thing_model());
    EXPECT_TRUE(p.topic_templates().empty());
}

}  // namespace
}  // namespace cellgate::cloud
