// The platforms' message formats, table-tested with the shapes the platforms document: Alink JSON
// (Alibaba Cloud IoT Platform docs, "Device properties, events and services") and OneJSON and the
// MQTTS commands (OneNET's thing-model and data-stream topic pages).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cloud/payload.hpp"
#include "unit/support/test_device.hpp"

namespace cellgate::cloud {
namespace {

using Strings = std::vector<std::string>;

TopicFields fields(Platform p) { return topic_fields(testing::test_device(p)); }

UplinkFormat fmt(std::string_view text) {
    auto f = parse_uplink_format(text);
    EXPECT_TRUE(f.has_value()) << text;
    return f.value_or(UplinkFormat{});
}

constexpr Platform kAll[] = {Platform::aliyun, Platform::onenet, Platform::onenet_legacy, Platform::generic};

// ---- formats ----

TEST(PayloadFormat, ParsesTheRouteAsField) {
    EXPECT_EQ(fmt("raw"), (UplinkFormat{UplinkKind::raw, ""}));
    EXPECT_EQ(fmt("property"), (UplinkFormat{UplinkKind::property, ""}));
    EXPECT_EQ(fmt("event:alarm"), (UplinkFormat{UplinkKind::event, "alarm"}));
    EXPECT_EQ(fmt("event:Door_Open2"), (UplinkFormat{UplinkKind::event, "Door_Open2"}));
    for (const char* bad : {"", "Raw", "properties", "event", "event:", "event:a/b", "event:+", "event:a b",
                            "event:property", "event:alarm\n"}) {
        EXPECT_FALSE(parse_uplink_format(bad).has_value()) << bad;
    }
    for (const char* text : {"raw", "property", "event:alarm"}) EXPECT_EQ(to_string(fmt(text)), text);
}

TEST(PayloadFormat, PropertyAndEventNeedAThingModelPlatform) {
    for (Platform p : kAll) {
        EXPECT_EQ(check_uplink_format(p, fmt("raw")), "") << to_string(p);
        const bool thing = p == Platform::aliyun || p == Platform::onenet;
        EXPECT_EQ(check_uplink_format(p, fmt("property")).empty(), thing) << to_string(p);
        EXPECT_EQ(check_uplink_format(p, fmt("event:alarm")).empty(), thing) << to_string(p);
    }
    EXPECT_NE(check_uplink_format(Platform::aliyun, UplinkFormat{UplinkKind::event, ""}), "");
}

struct TopicCase {
    Platform platform;
    const char* format;
    const char* topic;  // nullptr: an error
};

TEST(PayloadFormat, UplinkTopicIsThePlatformsPostTopic) {
    const TopicCase cases[] = {
        {Platform::aliyun, "property", "/sys/a1B2c3D4e5F/gw-001/thing/event/property/post"},
        {Platform::aliyun, "event:alarm", "/sys/a1B2c3D4e5F/gw-001/thing/event/alarm/post"},
        {Platform::onenet, "property", "$sys/238322/gw-001/thing/property/post"},
        {Platform::onenet, "event:alarm", "$sys/238322/gw-001/thing/event/post"},
        {Platform::aliyun, "raw", nullptr},
        {Platform::generic, "property", nullptr},
        {Platform::onenet_legacy, "event:alarm", nullptr},
    };
    for (const auto& c : cases) {
        const auto t = uplink_topic(c.platform, fmt(c.format), fields(c.platform));
        if (c.topic == nullptr) {
            EXPECT_FALSE(t.has_value()) << to_string(c.platform) << " " << c.format;
            if (!t) {
                EXPECT_NE(t.error(), "");
            }
        } else {
            EXPECT_EQ(t.value_or("<error: " + (t ? "" : t.error()) + ">"), c.topic);
        }
    }
}

// ---- validation ----

struct ValidateCase {
    const char* format;
    std::string payload;
    bool ok;
};

TEST(PayloadValidate, FlatObjectsForPropertiesObjectsForEvents) {
    std::string deep = std::string(40, '[') + std::string(40, ']');
    std::string deep_event = R"({"a":)" + std::string(40, '[') + std::string(40, ']') + "}";
    const ValidateCase cases[] = {
        {"property", R"({"temp":23.6,"Power":"on","LightSwitch":1,"ok":true})", true},
        {"property", R"({"prop_float":123.452,"prop_int16":333,"prop_bool":1})", true},
        {"property", R"(  {"x": -1e-3} )", true},
        {"property", R"({})", false},
        {"property", R"([1,2])", false},
        {"property", R"("on")", false},
        {"property", R"(23.6)", false},
        {"property", R"({"a":null})", false},
        {"property", R"({"a":{"value":1}})", false},  // already wrapped: not flat
        {"property", R"({"a":[1,2]})", false},
        {"property", R"({"":1})", false},
        {"property", R"({"a":1)", false},
        {"property", R"({"a":1} trailing)", false},
        {"property", "", false},
        {"property", "{\"a\":\"\xff\"}", false},  // not UTF-8
        {"property", deep, false},
        {"event:alarm", R"({"led1":22,"led2":23})", true},
        {"event:alarm", R"({"Power":"on","WF":"2"})", true},
        {"event:alarm", R"({"where":{"lat":30.1,"lon":120.2},"codes":[1,2]})", true},
        {"event:alarm", R"({})", true},  // an event without output parameters
        {"event:alarm", R"({"a":null})", false},
        {"event:alarm", R"([{"a":1}])", false},
        {"event:alarm", deep_event, false},
        {"raw", "", true},
        {"raw", std::string("\x00\xff{not json", 11), true},
    };
    for (const auto& c : cases) {
        const auto r = validate_uplink(fmt(c.format), c.payload);
        EXPECT_EQ(r.has_value(), c.ok) << c.format << " " << c.payload;
        if (!r) {
            EXPECT_NE(r.error(), "");
        }
    }
}

// ---- wrapping ----

struct WrapCase {
    Platform platform;
    const char* format;
    std::string local;
    uint64_t id;
    int64_t time_ms;
    std::string cloud;
};

TEST(PayloadWrap, AlinkAndOneJsonShapes) {
    constexpr int64_t kT = 1733300000000;  // 2024-12-04
    const WrapCase cases[] = {
        // Aliyun's Alink request example (with sys.ack 1 and the {value,time} form).
        {Platform::aliyun, "property", R"({"Power":"on","WF":23.6})", 123, 1524448722000,
         R"({"id":"123","version":"1.0","sys":{"ack":1},"params":{"Power":{"value":"on","time":1524448722000},)"
         R"("WF":{"value":23.6,"time":1524448722000}},"method":"thing.event.property.post"})"},
        {Platform::aliyun, "event:alarm", R"({"Power":"on","WF":"2"})", 7, 1524448722000,
         R"({"id":"7","version":"1.0","sys":{"ack":1},"params":{"value":{"Power":"on","WF":"2"},)"
         R"("time":1524448722000},"method":"thing.event.alarm.post"})"},
        // OneNET's OneJSON examples.
        {Platform::onenet, "property", R"({"temp":23.6,"Power":"on"})", 123, 1599534283111,
         R"({"id":"123","version":"1.0","params":{"temp":{"value":23.6,"time":1599534283111},)"
         R"("Power":{"value":"on","time":1599534283111}}})"},
        {Platform::onenet, "event:alarm", R"({"led1":22,"led2":23})", 123, 1599534283111,
         R"({"id":"123","version":"1.0","params":{"alarm":{"value":{"led1":22,"led2":23},"time":1599534283111}}})"},
        // Numbers keep their type and value: 10.0 stays a float (Doc-TSL wants the decimal),
        // integers stay integers, large unsigned and exponents survive.
        {Platform::onenet, "property", R"({"f":10.0,"i":10,"n":-5,"u":18446744073709551615,"e":1e300,"b":false})", 1,
         kT,
         R"({"id":"1","version":"1.0","params":{"f":{"value":10.0,"time":1733300000000},"i":{"value":10,"time":1733300000000},)"
         R"("n":{"value":-5,"time":1733300000000},"u":{"value":18446744073709551615,"time":1733300000000},"e":{"value":1e+300,"time":1733300000000},)"
         R"("b":{"value":false,"time":1733300000000}}})"},
        // Ids: a decimal string in 0..4294967295 (Aliyun's rule), the outbox id modulo 2^32.
        {Platform::aliyun, "property", R"({"a":1})", 4294967295, kT,
         R"({"id":"4294967295","version":"1.0","sys":{"ack":1},"params":{"a":{"value":1,"time":1733300000000}},)"
         R"("method":"thing.event.property.post"})"},
        {Platform::aliyun, "property", R"({"a":1})", 4294967296 + 42, kT,
         R"({"id":"42","version":"1.0","sys":{"ack":1},"params":{"a":{"value":1,"time":1733300000000}},)"
         R"("method":"thing.event.property.post"})"},
        {Platform::onenet, "property", R"({"a":1})", 4294967296, kT,
         R"({"id":"0","version":"1.0","params":{"a":{"value":1,"time":1733300000000}}})"},
        // Strings keep their escapes and non-ASCII text.
        {Platform::onenet, "property", R"({"s":"a\"b\\c\u00e9中"})", 2, kT,
         R"({"id":"2","version":"1.0","params":{"s":{"value":"a\"b\\cé中","time":1733300000000}}})"},
        // A clock still at 1970 (no RTC, no NTP yet): no time rather than a wrong one.
        {Platform::aliyun, "property", R"({"a":1})", 3, 42,
         R"({"id":"3","version":"1.0","sys":{"ack":1},"params":{"a":{"value":1}},"method":"thing.event.property.post"})"},
        {Platform::onenet, "event:alarm", R"({"x":1})", 3, kPlausibleEpochMs - 1,
         R"({"id":"3","version":"1.0","params":{"alarm":{"value":{"x":1}}}})"},
        // raw and platforms without a thing model pass the bytes through.
        {Platform::aliyun, "raw", std::string("\x00\x01not json", 10), 9, 9, std::string("\x00\x01not json", 10)},
        {Platform::generic, "property", R"({"a":1})", 9, 9, R"({"a":1})"},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(wrap_uplink(c.platform, fmt(c.format), c.local, c.id, c.time_ms), c.cloud)
            << to_string(c.platform) << " " << c.format << " " << c.local;
    }
}

TEST(PayloadWrap, BrokenPreconditionGivesNothingHalfFormed) {
    EXPECT_EQ(wrap_uplink(Platform::aliyun, fmt("property"), "{not json", 1, 1), "");
    EXPECT_EQ(wrap_uplink(Platform::onenet, fmt("event:alarm"), "[1]", 1, 1), "");
}

// ---- replies to posts ----

TEST(PayloadReply, FiltersCoverPropertyAndEventReplies) {
    EXPECT_EQ(reply_filters(Platform::aliyun, fields(Platform::aliyun)),
              (Strings{"/sys/a1B2c3D4e5F/gw-001/thing/event/+/post_reply"}));
    EXPECT_EQ(reply_filters(Platform::onenet, fields(Platform::onenet)),
              (Strings{"$sys/238322/gw-001/thing/property/post/reply", "$sys/238322/gw-001/thing/event/post/reply"}));
    EXPECT_TRUE(reply_filters(Platform::generic, fields(Platform::generic)).empty());
    EXPECT_TRUE(reply_filters(Platform::onenet_legacy, fields(Platform::onenet_legacy)).empty());
    // Every reply topic of a post is covered by a filter.
    for (Platform p : {Platform::aliyun, Platform::onenet}) {
        for (const char* f : {"property", "event:alarm"}) {
            const auto topic = uplink_topic(p, fmt(f), fields(p));
            ASSERT_TRUE(topic.has_value());
            const std::string reply = *topic + (p == Platform::aliyun ? "_reply" : "/reply");
            bool covered = false;
            for (const auto& filter : reply_filters(p, fields(p))) covered |= mqtt_topic_matches(filter, reply);
            EXPECT_TRUE(covered) << reply;
        }
    }
}

struct ReplyCase {
    Platform platform;
    const char* topic;
    const char* payload;
    bool parsed;
    uint32_t id;
    bool accepted;
    const char* code;
    const char* message;
};

TEST(PayloadReply, ParsesThePlatformsAnswers) {
    const char* ali_prop = "/sys/a1B2c3D4e5F/gw-001/thing/event/property/post_reply";
    const char* ali_event = "/sys/a1B2c3D4e5F/gw-001/thing/event/alarm/post_reply";
    const char* one_prop = "$sys/238322/gw-001/thing/property/post/reply";
    const char* one_event = "$sys/238322/gw-001/thing/event/post/reply";
    const ReplyCase cases[] = {
        // Aliyun's Alink reply example.
        {Platform::aliyun, ali_prop, R"({"code":200,"data":{},"id":"123","message":"success","version":"1.0"})", true,
         123, true, "200", "success"},
        {Platform::aliyun, ali_event, R"({"code":6813,"data":{},"id":"123","message":"topic illegal","version":"1.0"})",
         true, 123, false, "6813", "topic illegal"},
        {Platform::aliyun, ali_prop, R"({"code":6207,"id":"4294967295","message":"request data format error"})", true,
         4294967295u, false, "6207", "request data format error"},
        {Platform::aliyun, ali_prop, R"({"code":"200","id":7})", true, 7, true, "200", ""},
        {Platform::aliyun, ali_prop, R"({"code":200,"id":"4294967296"})", false, 0, false, "", ""},
        {Platform::aliyun, ali_prop, R"({"code":200,"id":"-1"})", false, 0, false, "", ""},
        {Platform::aliyun, ali_prop, R"({"code":200})", false, 0, false, "", ""},
        {Platform::aliyun, ali_prop, R"({"id":"1"})", false, 0, false, "", ""},
        {Platform::aliyun, ali_prop, R"({"id":"1","code":2.5})", false, 0, false, "", ""},
        {Platform::aliyun, ali_prop, "not json", false, 0, false, "", ""},
        {Platform::aliyun, "/sys/a1B2c3D4e5F/gw-001/thing/event/property/post", R"({"code":200,"id":"1"})", false, 0,
         false, "", ""},
        {Platform::aliyun, one_prop, R"({"id":"123","code":200,"msg":"success"})", false, 0, false, "", ""},
        // OneNET's OneJSON reply example.
        {Platform::onenet, one_prop, R"({"id":"123","code":200,"msg":"success"})", true, 123, true, "200", "success"},
        {Platform::onenet, one_event, R"({"id":"9","code":2402,"msg":"request format error"})", true, 9, false, "2402",
         "request format error"},
        // Field-observed: a malformed post answered without the id -- nothing to match it to.
        {Platform::onenet, one_prop, R"({"id":null,"code":2402,"msg":"request format error"})", false, 0, false, "",
         ""},
        {Platform::onenet, ali_prop, R"({"code":200,"id":"1"})", false, 0, false, "", ""},
        {Platform::onenet, "$sys/238322/gw-001/thing/property/set", R"({"id":"1","code":200})", false, 0, false, "",
         ""},
        {Platform::generic, "gw/reply", R"({"id":"1","code":200})", false, 0, false, "", ""},
    };
    for (const auto& c : cases) {
        const auto r = parse_uplink_reply(c.platform, c.topic, c.payload);
        ASSERT_EQ(r.has_value(), c.parsed) << c.topic << " " << c.payload;
        if (!r) continue;
        EXPECT_EQ(r->id, c.id) << c.payload;
        EXPECT_EQ(r->accepted, c.accepted) << c.payload;
        EXPECT_EQ(r->code, c.code) << c.payload;
        EXPECT_EQ(r->message, c.message) << c.payload;
    }
}

TEST(PayloadReply, AWrappedIdComesBackAsTheSameReplyId) {
    const uint64_t outbox_id = (uint64_t{3} << 32) + 77;
    const std::string cloud = wrap_uplink(Platform::aliyun, fmt("property"), R"({"a":1})", outbox_id, 1);
    ASSERT_NE(cloud.find(R"("id":"77")"), std::string::npos) << cloud;
    const auto r = parse_uplink_reply(Platform::aliyun, "/sys/a1B2c3D4e5F/gw-001/thing/event/property/post_reply",
                                      R"({"code":200,"data":{},"id":"77","message":"success","version":"1.0"})");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->id, static_cast<uint32_t>(outbox_id));
}

// ---- downlink ----

TEST(PayloadDownlink, FiltersForTheDevicesRequests) {
    EXPECT_EQ(downlink_filters(Platform::aliyun, fields(Platform::aliyun)),
              (Strings{"/sys/a1B2c3D4e5F/gw-001/thing/service/property/set", "/sys/a1B2c3D4e5F/gw-001/thing/service/+",
                       "/sys/a1B2c3D4e5F/gw-001/rrpc/request/+"}));
    EXPECT_EQ(downlink_filters(Platform::onenet, fields(Platform::onenet)),
              (Strings{"$sys/238322/gw-001/thing/property/set", "$sys/238322/gw-001/thing/property/get",
                       "$sys/238322/gw-001/thing/service/+/invoke", "$sys/238322/gw-001/cmd/request/+"}));
    EXPECT_TRUE(downlink_filters(Platform::onenet_legacy, fields(Platform::onenet_legacy)).empty());
    EXPECT_TRUE(downlink_filters(Platform::generic, fields(Platform::generic)).empty());
    // OneNET Studio allows at most 10 subscriptions per session (its usage limits), with replies.
    EXPECT_LE(downlink_filters(Platform::onenet, fields(Platform::onenet)).size() +
                  reply_filters(Platform::onenet, fields(Platform::onenet)).size(),
              10u);
}

struct SuffixCase {
    Platform platform;
    const char* topic;
    const char* suffix;  // nullptr: not a request of this device
};

TEST(PayloadDownlink, SuffixIsTheTopicWithoutTheDevicePrefix) {
    const SuffixCase cases[] = {
        {Platform::aliyun, "/sys/a1B2c3D4e5F/gw-001/thing/service/property/set", "thing/service/property/set"},
        {Platform::aliyun, "/sys/a1B2c3D4e5F/gw-001/thing/service/reboot", "thing/service/reboot"},
        {Platform::aliyun, "/sys/a1B2c3D4e5F/gw-001/rrpc/request/1234567890", "rrpc/request/1234567890"},
        {Platform::aliyun, "/sys/a1B2c3D4e5F/gw-001/thing/service/reboot_reply", nullptr},  // our own answer
        {Platform::aliyun, "/sys/a1B2c3D4e5F/gw-001/thing/service/property/set_reply", nullptr},
        {Platform::aliyun, "/sys/a1B2c3D4e5F/gw-001/thing/event/property/post_reply", nullptr},
        {Platform::aliyun, "/sys/a1B2c3D4e5F/other/thing/service/property/set", nullptr},
        {Platform::aliyun, "/sys/a1B2c3D4e5F/gw-001/thing/service/", nullptr},
        {Platform::aliyun, "/sys/a1B2c3D4e5F/gw-001/", nullptr},
        {Platform::onenet, "$sys/238322/gw-001/thing/property/set", "thing/property/set"},
        {Platform::onenet, "$sys/238322/gw-001/thing/property/get", "thing/property/get"},
        {Platform::onenet, "$sys/238322/gw-001/thing/service/reset/invoke", "thing/service/reset/invoke"},
        {Platform::onenet, "$sys/238322/gw-001/cmd/request/9c1e-77", "cmd/request/9c1e-77"},
        {Platform::onenet, "$sys/238322/gw-001/thing/property/post/reply", nullptr},
        {Platform::onenet, "$sys/238322/gw-001/thing/service/reset/invoke_reply", nullptr},
        {Platform::onenet, "$sys/238322/gw-002/thing/property/set", nullptr},
        {Platform::onenet, "/sys/a1B2c3D4e5F/gw-001/thing/service/property/set", nullptr},
        {Platform::onenet_legacy, "$creq/9c1e-77", "creq/9c1e-77"},
        {Platform::onenet_legacy, "$crsp/9c1e-77", nullptr},
        {Platform::generic, "gw/cmd", nullptr},
    };
    for (const auto& c : cases) {
        const auto s = downlink_suffix(c.platform, fields(c.platform), c.topic);
        if (c.suffix == nullptr) {
            EXPECT_FALSE(s.has_value()) << c.topic << " -> " << s.value_or("");
        } else {
            EXPECT_EQ(s.value_or("<none>"), c.suffix) << c.topic;
        }
    }
}

struct DownReplyCase {
    Platform platform;
    const char* local_suffix;
    std::string local_payload;
    const char* topic;    // nullptr: an error
    std::string payload;  // the platform's reply
};

TEST(PayloadDownlink, ReplyInThePlatformsFormat) {
    const DownReplyCase cases[] = {
        // Aliyun: {"id","code","data"}, id echoed, on the request topic + "_reply".
        {Platform::aliyun, "thing/service/property/set/reply", R"({"id":"12345","code":200,"data":{}})",
         "/sys/a1B2c3D4e5F/gw-001/thing/service/property/set_reply", R"({"id":"12345","code":200,"data":{}})"},
        {Platform::aliyun, "thing/service/property/set_reply", R"({"id":"12345"})",
         "/sys/a1B2c3D4e5F/gw-001/thing/service/property/set_reply", R"({"id":"12345","code":200,"data":{}})"},
        {Platform::aliyun, "thing/service/reboot/reply", R"({"id":"9","data":{"ok":1.0}})",
         "/sys/a1B2c3D4e5F/gw-001/thing/service/reboot_reply", R"({"id":"9","code":200,"data":{"ok":1.0}})"},
        {Platform::aliyun, "thing/service/reboot_reply", R"({"id":9,"code":460,"message":"bad"})",
         "/sys/a1B2c3D4e5F/gw-001/thing/service/reboot_reply", R"({"id":"9","code":460,"data":{}})"},
        {Platform::aliyun, "rrpc/request/1234/reply", "pong", "/sys/a1B2c3D4e5F/gw-001/rrpc/response/1234", "pong"},
        {Platform::aliyun, "rrpc/response/1234", "pong", "/sys/a1B2c3D4e5F/gw-001/rrpc/response/1234", "pong"},
        // OneNET: {"id","code","msg"[,"data"]} on set_reply / get_reply / invoke_reply.
        {Platform::onenet, "thing/property/set/reply", R"({"id":"123"})", "$sys/238322/gw-001/thing/property/set_reply",
         R"({"id":"123","code":200,"msg":"success"})"},
        {Platform::onenet, "thing/property/set_reply", R"({"id":"123","code":100})",
         "$sys/238322/gw-001/thing/property/set_reply", R"({"id":"123","code":100,"msg":"error"})"},
        {Platform::onenet, "thing/property/get_reply",
         R"({"id":"123","code":200,"msg":"success","data":{"temperature":39.5,"humidity":20}})",
         "$sys/238322/gw-001/thing/property/get_reply",
         R"({"id":"123","code":200,"msg":"success","data":{"temperature":39.5,"humidity":20}})"},
        {Platform::onenet, "thing/service/reset/invoke/reply", R"({"id":"5","data":{"result1":"on"}})",
         "$sys/238322/gw-001/thing/service/reset/invoke_reply",
         R"({"id":"5","code":200,"msg":"success","data":{"result1":"on"}})"},
        {Platform::onenet, "thing/service/reset/invoke_reply", R"({"id":"5","code":100,"message":"busy"})",
         "$sys/238322/gw-001/thing/service/reset/invoke_reply", R"({"id":"5","code":100,"msg":"busy"})"},
        // OneNET MQTTS commands are opaque, answered on cmd/response/<cmdid>, under 1 KB.
        {Platform::onenet, "cmd/request/9c1e-77/reply", "done", "$sys/238322/gw-001/cmd/response/9c1e-77", "done"},
        {Platform::onenet, "cmd/response/9c1e-77", "", "$sys/238322/gw-001/cmd/response/9c1e-77", ""},
        {Platform::onenet, "cmd/response/9c1e-77", std::string(1023, 'x'), "$sys/238322/gw-001/cmd/response/9c1e-77",
         std::string(1023, 'x')},
        {Platform::onenet, "cmd/response/9c1e-77", std::string(1024, 'x'), nullptr, ""},
        // OneNET legacy access: $creq/<uuid> -> $crsp/<uuid>.
        {Platform::onenet_legacy, "creq/9c1e-77/reply", "ok", "$crsp/9c1e-77", "ok"},
        {Platform::onenet_legacy, "crsp/9c1e-77", "ok", "$crsp/9c1e-77", "ok"},
        // Unusable answers.
        {Platform::aliyun, "thing/service/property/set/reply", R"({"code":200})", nullptr, ""},        // no id
        {Platform::aliyun, "thing/service/property/set/reply", R"({"id":null})", nullptr, ""},
        {Platform::aliyun, "thing/service/property/set/reply", R"({"id":""})", nullptr, ""},
        {Platform::aliyun, "thing/service/property/set/reply", R"({"id":"1","code":"x"})", nullptr, ""},
        {Platform::aliyun, "thing/service/property/set/reply", "ok", nullptr, ""},
        {Platform::aliyun, "thing/service/property/set/reply", "[1]", nullptr, ""},
        {Platform::aliyun, "thing/event/property/post/reply", R"({"id":"1"})", nullptr, ""},  // not a request
        {Platform::aliyun, "thing/service/+/reply", R"({"id":"1"})", nullptr, ""},
        {Platform::aliyun, "reply", R"({"id":"1"})", nullptr, ""},
        {Platform::onenet, "thing/property/post/reply", R"({"id":"1"})", nullptr, ""},
        {Platform::onenet, "cmd/response/", "x", nullptr, ""},
        {Platform::generic, "thing/property/set/reply", R"({"id":"1"})", nullptr, ""},
    };
    for (const auto& c : cases) {
        const auto r = downlink_reply(c.platform, fields(c.platform), c.local_suffix, c.local_payload);
        if (c.topic == nullptr) {
            EXPECT_FALSE(r.has_value()) << to_string(c.platform) << " " << c.local_suffix << " " << c.local_payload;
            if (!r) {
                EXPECT_NE(r.error(), "");
            }
            continue;
        }
        ASSERT_TRUE(r.has_value()) << to_string(c.platform) << " " << c.local_suffix << ": " << r.error();
        EXPECT_EQ(r->topic, c.topic) << c.local_suffix;
        EXPECT_EQ(r->payload, c.payload) << c.local_suffix;
    }
}

// The round trip the bridge does: a cloud request -> local suffix -> the app's "/reply" -> the
// platform's reply topic.
TEST(PayloadDownlink, EveryRequestSuffixCanBeAnswered) {
    const SuffixCase requests[] = {
        {Platform::aliyun, "/sys/a1B2c3D4e5F/gw-001/thing/service/property/set",
         "/sys/a1B2c3D4e5F/gw-001/thing/service/property/set_reply"},
        {Platform::aliyun, "/sys/a1B2c3D4e5F/gw-001/thing/service/reboot",
         "/sys/a1B2c3D4e5F/gw-001/thing/service/reboot_reply"},
        {Platform::aliyun, "/sys/a1B2c3D4e5F/gw-001/rrpc/request/42", "/sys/a1B2c3D4e5F/gw-001/rrpc/response/42"},
        {Platform::onenet, "$sys/238322/gw-001/thing/property/set", "$sys/238322/gw-001/thing/property/set_reply"},
        {Platform::onenet, "$sys/238322/gw-001/thing/property/get", "$sys/238322/gw-001/thing/property/get_reply"},
        {Platform::onenet, "$sys/238322/gw-001/thing/service/reset/invoke",
         "$sys/238322/gw-001/thing/service/reset/invoke_reply"},
        {Platform::onenet, "$sys/238322/gw-001/cmd/request/ab-1", "$sys/238322/gw-001/cmd/response/ab-1"},
        {Platform::onenet_legacy, "$creq/ab-1", "$crsp/ab-1"},
    };
    for (const auto& c : requests) {
        const auto suffix = downlink_suffix(c.platform, fields(c.platform), c.topic);
        ASSERT_TRUE(suffix.has_value()) << c.topic;
        const auto r = downlink_reply(c.platform, fields(c.platform), *suffix + "/reply", R"({"id":"1"})");
        ASSERT_TRUE(r.has_value()) << c.topic << ": " << r.error();
        EXPECT_EQ(r->topic, c.suffix);
        EXPECT_EQ(check_publish_topic(c.platform, r->topic, fields(c.platform)), "");
    }
}

}  // namespace
}  // namespace cellgate::cloud
