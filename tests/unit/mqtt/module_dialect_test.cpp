// The three module MQTT command sets: commands built, escapes, limits, and URCs parsed from the
// reply shapes in the vendors' manuals.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mqtt/module/dialect.hpp"

namespace cellgate::mqtt {
namespace {

using namespace std::chrono_literals;

ConnectParams params() {
    ConnectParams p;
    p.host = "iot.example.com";
    p.port = 1883;
    p.client_id = "dev1";
    p.username = "user";
    p.password = "pa&ss";
    p.keepalive = 120s;
    return p;
}

std::vector<std::string> commands(const ModuleSteps& steps) {
    std::vector<std::string> out;
    for (const auto& s : steps) out.push_back(s.command);
    return out;
}

TEST(ModuleDialect, OnlyThreeVendorsHaveACommandSet) {
    EXPECT_NE(make_dialect("luat"), nullptr);
    EXPECT_NE(make_dialect("quectel"), nullptr);
    EXPECT_NE(make_dialect("simcom"), nullptr);
    EXPECT_EQ(make_dialect("huawei"), nullptr);
    EXPECT_EQ(make_dialect("generic"), nullptr);
    EXPECT_FALSE(has_mqtt_command_set(""));
    EXPECT_EQ(dialect_limits("luat").max_clients, 1);
    EXPECT_EQ(dialect_limits("quectel").max_clients, 6);
    EXPECT_EQ(dialect_limits("simcom").max_clients, 2);
}

TEST(ModuleDialect, LuatConnectWaitsForConnectOkThenConnackOk) {
    auto d = make_dialect("luat");
    auto steps = d->connect(0, params());
    ASSERT_TRUE(steps) << steps.error();
    EXPECT_EQ(commands(*steps), (std::vector<std::string>{"AT+MQTTMSGSET=0", "AT+MCONFIG=\"dev1\",\"user\",\"pa&ss\"",
                                                          "AT+MIPSTART=\"iot.example.com\",1883", "AT+MCONNECT=1,120"}));
    EXPECT_EQ((*steps)[2].await, ModuleUrc::opened);
    EXPECT_EQ((*steps)[3].await, ModuleUrc::connected);
    auto tls = params();
    tls.tls = true;
    EXPECT_EQ((*d->connect(0, tls))[2].command, "AT+SSLMIPSTART=\"iot.example.com\",1883");
}

TEST(ModuleDialect, QuotesAndControlBytesInQuotedArgumentsAreRefused) {
    for (const char* v : {"luat", "quectel", "simcom"}) {
        auto d = make_dialect(v);
        auto p = params();
        p.password = "a\"b";
        auto steps = d->connect(0, p);
        ASSERT_FALSE(steps) << v;
        EXPECT_NE(steps.error().find("password"), std::string::npos) << v;
    }
    EXPECT_FALSE(make_dialect("luat")->publish(0, 1, "a\"b", "x", 0, false));
    EXPECT_FALSE(make_dialect("quectel")->subscribe(0, 1, "a\nb", 0));
    // SIMCom takes the topic after the prompt, by length: a quote is fine there.
    EXPECT_TRUE(make_dialect("simcom")->subscribe(0, 1, "a\"b", 0));
}

TEST(ModuleDialect, LuatPublishUsesLengthPrefixedInputAndWaitsForPubackOnQos1) {
    auto d = make_dialect("luat");
    const std::string payload("{\"a\":\"x\r\ny\"}\0z", 15);
    auto steps = d->publish(0, 7, "t/up", payload, 1, false);
    ASSERT_TRUE(steps);
    ASSERT_EQ(steps->size(), 1u);
    EXPECT_EQ((*steps)[0].command, "AT+MPUBEX=\"t/up\",1,0,15");
    EXPECT_EQ((*steps)[0].data, payload);
    EXPECT_EQ((*steps)[0].await, ModuleUrc::published);
    auto qos0 = d->publish(0, 8, "t/up", "x", 0, true);
    EXPECT_EQ((*qos0)[0].command, "AT+MPUBEX=\"t/up\",0,1,1");
    EXPECT_EQ((*qos0)[0].await, ModuleUrc::none);  // OK is the outcome of a QoS 0 MPUBEX
    EXPECT_EQ((*d->publish(0, 9, "t", "", 0, false))[0].command, "AT+MPUB=\"t\",0,0,\"\"");
}

TEST(ModuleDialect, LuatEscapes) {
    EXPECT_EQ(luat_escape("plain text"), "plain text");
    EXPECT_EQ(luat_escape("say \"hi\""), "say \\22hi\\22");
    EXPECT_EQ(luat_escape("a\r\nb"), "a\\0D\\0Ab");
    EXPECT_EQ(luat_escape("c:\\dir"), "c:\\5Cdir");
    EXPECT_EQ(luat_escape(std::string("nul\0", 4)), std::nullopt);
    EXPECT_EQ(luat_escape("tab\t"), std::nullopt);
}

TEST(ModuleDialect, LimitsAtPublishAreTheModules) {
    struct Case {
        const char* vendor;
        std::size_t topic_ok, topic_over, payload_ok, payload_over;
    } cases[] = {{"luat", 256, 257, 4100, 4101}, {"quectel", 1024, 1025, 4096, 4097}, {"simcom", 1024, 1025, 10240, 10241}};
    for (const auto& c : cases) {
        auto d = make_dialect(c.vendor);
        EXPECT_TRUE(d->publish(0, 1, std::string(c.topic_ok, 't'), "x", 0, false)) << c.vendor;
        auto t = d->publish(0, 1, std::string(c.topic_over, 't'), "x", 0, false);
        ASSERT_FALSE(t) << c.vendor;
        EXPECT_NE(t.error().find("topic"), std::string::npos);
        EXPECT_TRUE(d->publish(0, 1, "t", std::string(c.payload_ok, 'p'), 0, false)) << c.vendor;
        auto p = d->publish(0, 1, "t", std::string(c.payload_over, 'p'), 0, false);
        ASSERT_FALSE(p) << c.vendor;
        EXPECT_NE(p.error().find("payload"), std::string::npos);
    }
}

TEST(ModuleDialect, QuectelConnectConfiguresEverythingThenOpensAndConnects) {
    auto d = make_dialect("quectel");
    auto steps = d->connect(2, params());
    ASSERT_TRUE(steps);
    EXPECT_EQ(commands(*steps),
              (std::vector<std::string>{"AT+QMTCFG=\"recv/mode\",2,0,1", "AT+QMTCFG=\"version\",2,4",
                                        "AT+QMTCFG=\"keepalive\",2,120", "AT+QMTCFG=\"session\",2,1",
                                        "AT+QMTCFG=\"timeout\",2,5,3,0", "AT+QMTCFG=\"ssl\",2,0",
                                        "AT+QMTOPEN=2,\"iot.example.com\",1883",
                                        "AT+QMTCONN=2,\"dev1\",\"user\",\"pa&ss\""}));
    EXPECT_EQ(steps->at(6).urc_timeout, 121s);
    EXPECT_EQ(commands(d->route_urcs()), (std::vector<std::string>{"AT+QURCCFG=\"urcport\",\"uart1\""}));
    auto pub = d->publish(2, 42, "t/up", "hello", 1, false);
    EXPECT_EQ((*pub)[0].command, "AT+QMTPUBEX=2,42,1,0,\"t/up\",5");
    EXPECT_EQ((*pub)[0].data, "hello");
    EXPECT_EQ((*pub)[0].await_id, 42);
    auto pub0 = d->publish(2, 43, "t/up", "hello", 0, false);
    EXPECT_EQ((*pub0)[0].command, "AT+QMTPUBEX=2,0,0,0,\"t/up\",5");  // QoS 0: message id 0
    EXPECT_EQ((*d->subscribe(2, 5, "t/down", 1))[0].command, "AT+QMTSUB=2,5,\"t/down\",1");
}

TEST(ModuleDialect, SimcomPublishIsTopicPayloadPub) {
    auto d = make_dialect("simcom");
    auto steps = d->connect(1, params());
    ASSERT_TRUE(steps);
    EXPECT_EQ(commands(*steps),
              (std::vector<std::string>{"AT+CMQTTSTART", "AT+CMQTTACCQ=1,\"dev1\",0", "AT+CMQTTCFG=\"version\",1,4",
                                        "AT+CMQTTCFG=\"checkUTF8\",1,0",
                                        "AT+CMQTTCONNECT=1,\"tcp://iot.example.com:1883\",120,1,\"user\",\"pa&ss\""}));
    auto pub = d->publish(1, 3, "t/up", "hi", 1, false);
    ASSERT_TRUE(pub);
    EXPECT_EQ(commands(*pub), (std::vector<std::string>{"AT+CMQTTTOPIC=1,4", "AT+CMQTTPAYLOAD=1,2", "AT+CMQTTPUB=1,1,60,0"}));
    EXPECT_EQ((*pub)[0].data, "t/up");
    EXPECT_EQ((*pub)[1].data, "hi");
    EXPECT_EQ((*pub)[2].await, ModuleUrc::published);
    auto sub = d->subscribe(1, 4, "t/down", 1);
    EXPECT_EQ((*sub)[0].command, "AT+CMQTTSUB=1,6,1");
    EXPECT_EQ((*sub)[0].data, "t/down");
}

struct UrcCase {
    const char* vendor;
    std::string line;
    ModuleUrc kind;
    int client, id, result, connack;
};

TEST(ModuleDialect, UrcsFromTheManualsReplyShapes) {
    const UrcCase cases[] = {
        {"luat", "CONNECT OK", ModuleUrc::opened, -1, -1, 0, 0},
        {"luat", "ALREADY CONNECT", ModuleUrc::opened, -1, -1, 0, 0},
        {"luat", "CONNECT FAIL", ModuleUrc::opened, -1, -1, 1, 0},
        {"luat", "CONNACK OK", ModuleUrc::connected, -1, -1, 0, 0},
        {"luat", "SUBACK", ModuleUrc::subscribed, -1, -1, 0, 0},
        {"luat", "PUBACK", ModuleUrc::published, -1, -1, 0, 0},
        {"luat", "PUBREC", ModuleUrc::none, -1, -1, 0, 0},
        {"luat", "CLOSED", ModuleUrc::link_lost, -1, -1, 0, 0},
        {"luat", "+PDP DEACT", ModuleUrc::link_lost, -1, -1, 0, 0},
        {"quectel", "+QMTOPEN: 0,0", ModuleUrc::opened, 0, -1, 0, 0},
        {"quectel", "+QMTOPEN: 1,3", ModuleUrc::opened, 1, -1, 3, 0},
        {"quectel", "+QMTCONN: 0,0,0", ModuleUrc::connected, 0, -1, 0, 0},
        {"quectel", "+QMTCONN: 0,0,4", ModuleUrc::connected, 0, -1, 0, 4},
        {"quectel", "+QMTSUB: 0,5,0,1", ModuleUrc::subscribed, 0, 5, 0, 0},
        {"quectel", "+QMTSUB: 0,5,0,128", ModuleUrc::subscribed, 0, 5, 2, 0},
        {"quectel", "+QMTPUBEX: 0,42,0", ModuleUrc::published, 0, 42, 0, 0},
        {"quectel", "+QMTPUBEX: 0,42,1,1", ModuleUrc::none, 0, 42, 1, 0},
        {"quectel", "+QMTPUBEX: 0,42,2", ModuleUrc::published, 0, 42, 2, 0},
        {"quectel", "+QMTSTAT: 0,2", ModuleUrc::link_lost, 0, -1, 2, 0},
        {"quectel", "+QMTDISC: 0,0", ModuleUrc::disconnected, 0, -1, 0, 0},
        {"quectel", "+QMTCLOSE: 0,-1", ModuleUrc::closed, 0, -1, -1, 0},
        {"simcom", "+CMQTTSTART: 0", ModuleUrc::started, -1, -1, 0, 0},
        {"simcom", "+CMQTTSTART: 23", ModuleUrc::started, -1, -1, 0, 0},
        {"simcom", "+CMQTTCONNECT: 0,0", ModuleUrc::connected, 0, -1, 0, 0},
        {"simcom", "+CMQTTCONNECT: 0,30", ModuleUrc::connected, 0, -1, 30, 4},
        {"simcom", "+CMQTTSUB: 1,0", ModuleUrc::subscribed, 1, -1, 0, 0},
        {"simcom", "+CMQTTPUB: 0,11", ModuleUrc::published, 0, -1, 11, 0},
        {"simcom", "+CMQTTCONNLOST: 0,1", ModuleUrc::link_lost, 0, -1, 1, 0},
        {"simcom", "+CMQTTNONET", ModuleUrc::link_lost, -1, -1, 0, 0},
        {"simcom", "+CMQTTPING: 0,1", ModuleUrc::link_lost, 0, -1, 1, 0},
        {"simcom", "+CREG: 1", ModuleUrc::none, -1, -1, 0, 0},
    };
    for (const auto& c : cases) {
        auto d = make_dialect(c.vendor);
        const auto e = d->parse_urc(c.line);
        EXPECT_EQ(e.kind, c.kind) << c.vendor << ": " << c.line;
        if (c.kind == ModuleUrc::none) continue;
        EXPECT_EQ(e.client, c.client) << c.line;
        EXPECT_EQ(e.id, c.id) << c.line;
        EXPECT_EQ(e.result, c.result) << c.line;
        EXPECT_EQ(e.connack, c.connack) << c.line;
    }
}

TEST(ModuleDialect, DownlinkCarriesArbitraryBytes) {
    const std::string payload("a\r\nOK\r\n\"x\",\0\xff", 14);
    auto luat = make_dialect("luat");
    auto e = luat->parse_urc("+MSUB: \"t/down\"," + std::to_string(payload.size()) + " byte," + payload);
    EXPECT_EQ(e.kind, ModuleUrc::message);
    EXPECT_EQ(e.topic, "t/down");
    EXPECT_EQ(e.payload, payload);

    auto q = make_dialect("quectel");
    e = q->parse_urc("+QMTRECV: 1,0,\"t/down\"," + std::to_string(payload.size()) + ",\"" + payload + "\"");
    EXPECT_EQ(e.kind, ModuleUrc::message);
    EXPECT_EQ(e.client, 1);
    EXPECT_EQ(e.topic, "t/down");
    EXPECT_EQ(e.payload, payload);
    // A firmware that ignored the length setting.
    e = q->parse_urc("+QMTRECV: 0,0,\"t\",\"hello\"");
    EXPECT_EQ(e.payload, "hello");

    auto s = make_dialect("simcom");
    EXPECT_EQ(s->parse_urc("+CMQTTRXSTART: 0,6,14").kind, ModuleUrc::none);
    EXPECT_EQ(s->parse_urc("+CMQTTRXTOPIC: 0,6\nt/down").kind, ModuleUrc::none);
    EXPECT_EQ(s->parse_urc("+CMQTTRXPAYLOAD: 0,10\n" + payload.substr(0, 10)).kind, ModuleUrc::none);
    EXPECT_EQ(s->parse_urc("+CMQTTRXPAYLOAD: 0,4\n" + payload.substr(10)).kind, ModuleUrc::none);
    e = s->parse_urc("+CMQTTRXEND: 0");
    EXPECT_EQ(e.kind, ModuleUrc::message);
    EXPECT_EQ(e.topic, "t/down");
    EXPECT_EQ(e.payload, payload);
}

TEST(ModuleDialect, RawFramingOfTheDownlinkUrcs) {
    EXPECT_EQ(downlink_raw_length("+MSUB: \"t/down\",20 byte,", false), 20u);
    EXPECT_EQ(downlink_raw_length("+MSUB: \"t/down\",", false), 0u);
    EXPECT_EQ(downlink_raw_length("+QMTRECV: 0,1,\"t\",5,\"", false), 5u);
    EXPECT_EQ(downlink_raw_length("+QMTRECV: 0,1,\"", false), 0u);
    EXPECT_EQ(downlink_raw_length("+QMTRECV: 0,1,\"t\",\"", false), 0u);
    EXPECT_EQ(downlink_raw_length("+CMQTTRXPAYLOAD: 0,1500", true), 1500u);
    EXPECT_EQ(downlink_raw_length("+CMQTTRXTOPIC: 1,6", true), 6u);
    EXPECT_EQ(downlink_raw_length("+CMQTTRXSTART: 0,6,1520", true), 0u);
    EXPECT_EQ(downlink_raw_length("+CMQTTRXPAYLOAD: 0,1500", false), 0u);
    EXPECT_EQ(downlink_raw_length("+CSQ: 20,99", true), 0u);
}

TEST(ModuleDialect, StatusReplies) {
    EXPECT_EQ(make_dialect("luat")->parse_status({"+MQTTSTATU :1"}, 0), true);
    EXPECT_EQ(make_dialect("luat")->parse_status({"+MQTTSTATU :0"}, 0), false);
    EXPECT_EQ(make_dialect("luat")->parse_status({"+MQTTSTATU :2"}, 0), false);
    EXPECT_EQ(make_dialect("luat")->parse_status({}, 0), std::nullopt);
    EXPECT_EQ(make_dialect("quectel")->parse_status({"+QMTCONN: 0,3", "+QMTCONN: 1,2"}, 0), true);
    EXPECT_EQ(make_dialect("quectel")->parse_status({"+QMTCONN: 0,3", "+QMTCONN: 1,2"}, 1), false);
    EXPECT_EQ(make_dialect("quectel")->parse_status({}, 0), false);
    EXPECT_EQ(make_dialect("simcom")->parse_status({"+CMQTTDISC: 0,0", "+CMQTTDISC: 1,1"}, 0), true);
    EXPECT_EQ(make_dialect("simcom")->parse_status({"+CMQTTDISC: 0,0", "+CMQTTDISC: 1,1"}, 1), false);
}

}  // namespace
}  // namespace cellgate::mqtt
