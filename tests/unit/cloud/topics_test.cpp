// Topic templates (the Aliyun thing-model topics, OneNET's thing-model, data-stream and legacy
// topics), their expansion, and MQTT 3.1.1 §4.7 topic-filter matching (the spec's own examples).
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "cloud/platform_profile.hpp"
#include "cloud/topics.hpp"
#include "unit/support/test_device.hpp"

namespace cellgate::cloud {
namespace {

using Caps = std::vector<std::string>;

CloudConfig config(Platform p) { return testing::test_device(p); }

// Fields for the per-message placeholders of the templates.
TopicFields with_ids(TopicFields f) {
    f["event_id"] = "alarm";
    f["service_id"] = "reboot";
    f["message_id"] = "1234";
    f["cmd_id"] = "9c1e-77";
    return f;
}

struct TemplateCase {
    Platform platform;
    const char* name;
    const char* topic;
    TopicDirection direction;
};

TEST(Topics, NamedTemplatesExpandToThePlatformTopics) {
    const TemplateCase cases[] = {
        // Aliyun thing model
        {Platform::aliyun, "property_post", "/sys/a1B2c3D4e5F/gw-001/thing/event/property/post", TopicDirection::up},
        {Platform::aliyun, "property_post_reply", "/sys/a1B2c3D4e5F/gw-001/thing/event/property/post_reply",
         TopicDirection::down},
        {Platform::aliyun, "event_post", "/sys/a1B2c3D4e5F/gw-001/thing/event/alarm/post", TopicDirection::up},
        {Platform::aliyun, "event_post_reply", "/sys/a1B2c3D4e5F/gw-001/thing/event/alarm/post_reply",
         TopicDirection::down},
        {Platform::aliyun, "property_set", "/sys/a1B2c3D4e5F/gw-001/thing/service/property/set", TopicDirection::down},
        {Platform::aliyun, "property_set_reply", "/sys/a1B2c3D4e5F/gw-001/thing/service/property/set_reply",
         TopicDirection::up},
        {Platform::aliyun, "service_call", "/sys/a1B2c3D4e5F/gw-001/thing/service/reboot", TopicDirection::down},
        {Platform::aliyun, "service_reply", "/sys/a1B2c3D4e5F/gw-001/thing/service/reboot_reply", TopicDirection::up},
        {Platform::aliyun, "rrpc_request", "/sys/a1B2c3D4e5F/gw-001/rrpc/request/1234", TopicDirection::down},
        {Platform::aliyun, "rrpc_response", "/sys/a1B2c3D4e5F/gw-001/rrpc/response/1234", TopicDirection::up},
        {Platform::aliyun, "ntp_request", "/ext/ntp/a1B2c3D4e5F/gw-001/request", TopicDirection::up},
        {Platform::aliyun, "user_update", "/a1B2c3D4e5F/gw-001/user/update", TopicDirection::up},
        // OneNET thing model and data streams
        {Platform::onenet, "property_post", "$sys/238322/gw-001/thing/property/post", TopicDirection::up},
        {Platform::onenet, "property_post_reply", "$sys/238322/gw-001/thing/property/post/reply",
         TopicDirection::down},
        {Platform::onenet, "property_set", "$sys/238322/gw-001/thing/property/set", TopicDirection::down},
        {Platform::onenet, "property_set_reply", "$sys/238322/gw-001/thing/property/set_reply", TopicDirection::up},
        {Platform::onenet, "property_get_reply", "$sys/238322/gw-001/thing/property/get_reply", TopicDirection::up},
        {Platform::onenet, "event_post", "$sys/238322/gw-001/thing/event/post", TopicDirection::up},
        {Platform::onenet, "event_post_reply", "$sys/238322/gw-001/thing/event/post/reply", TopicDirection::down},
        {Platform::onenet, "service_invoke", "$sys/238322/gw-001/thing/service/reboot/invoke", TopicDirection::down},
        {Platform::onenet, "service_invoke_reply", "$sys/238322/gw-001/thing/service/reboot/invoke_reply",
         TopicDirection::up},
        {Platform::onenet, "desired_get_reply", "$sys/238322/gw-001/thing/property/desired/get/reply",
         TopicDirection::down},
        {Platform::onenet, "dp_post", "$sys/238322/gw-001/dp/post/json", TopicDirection::up},
        {Platform::onenet, "cmd_request", "$sys/238322/gw-001/cmd/request/9c1e-77", TopicDirection::down},
        {Platform::onenet, "cmd_response", "$sys/238322/gw-001/cmd/response/9c1e-77", TopicDirection::up},
        // OneNET legacy access
        {Platform::onenet_legacy, "dp", "$dp", TopicDirection::up},
        {Platform::onenet_legacy, "cmd_request", "$creq/9c1e-77", TopicDirection::down},
        {Platform::onenet_legacy, "cmd_response", "$crsp/9c1e-77", TopicDirection::up},
    };
    for (const auto& k : cases) {
        SCOPED_TRACE(std::string(to_string(k.platform)) + " " + k.name);
        const TopicTemplate* t = find_topic_template(k.platform, k.name);
        ASSERT_NE(t, nullptr);
        EXPECT_EQ(t->direction, k.direction);
        std::string error;
        const auto topic = expand_topic(t->pattern, with_ids(topic_fields(config(k.platform))), {}, error);
        ASSERT_TRUE(topic) << error;
        EXPECT_EQ(*topic, k.topic);
        EXPECT_EQ(check_publish_topic(k.platform, *topic, topic_fields(config(k.platform))), "");
    }
}

TEST(Topics, EveryTemplateExpandsAndNamesAreUnique) {
    for (Platform p : {Platform::aliyun, Platform::onenet, Platform::onenet_legacy}) {
        std::set<std::string_view> names;
        EXPECT_GT(profile(p).topic_templates().size(), 2u);
        for (const auto& t : profile(p).topic_templates()) {
            SCOPED_TRACE(std::string(t.name));
            EXPECT_TRUE(names.insert(t.name).second);
            std::string error;
            const auto topic = expand_topic(t.pattern, with_ids(topic_fields(config(p))), {}, error);
            ASSERT_TRUE(topic) << error;
            EXPECT_EQ(check_publish_topic(p, *topic, topic_fields(config(p))), "") << *topic;
        }
    }
    EXPECT_TRUE(profile(Platform::generic).topic_templates().empty());
    EXPECT_EQ(find_topic_template(Platform::aliyun, "no_such_topic"), nullptr);
    EXPECT_EQ(find_topic_template(Platform::generic, "property_post"), nullptr);
}

TEST(Topics, FieldsPerPlatform) {
    EXPECT_EQ(topic_fields(config(Platform::aliyun)),
              (TopicFields{{"name", "gw"}, {"product_key", "a1B2c3D4e5F"}, {"device_name", "gw-001"}}));
    EXPECT_EQ(topic_fields(config(Platform::onenet)),
              (TopicFields{{"name", "gw"}, {"product_id", "238322"}, {"device_name", "gw-001"}}));
    EXPECT_EQ(topic_fields(config(Platform::onenet_legacy)),
              (TopicFields{{"name", "gw"}, {"product_id", "238322"}, {"device_id", "503902911"}}));
    auto generic = config(Platform::generic);
    generic.device_name = "gw-007";
    EXPECT_EQ(topic_fields(generic), (TopicFields{{"name", "gw"}, {"client_id", "lab-1"}, {"device_name", "gw-007"}}));
    // Without a device name of its own, a generic session's {device_name} is its client id.
    generic.device_name.clear();
    EXPECT_EQ(topic_fields(generic), (TopicFields{{"name", "gw"}, {"client_id", "lab-1"}, {"device_name", "lab-1"}}));
}

struct ExpandCase {
    const char* tmpl;
    Caps captures;
    const char* result;  // nullptr = error expected
    const char* error;   // part of the error
};

TEST(Topics, Expansion) {
    const TopicFields f{{"product_key", "pk"}, {"device_name", "dn"}, {"empty", ""}, {"plus", "a+b"},
                        {"hash", "#"},        {"slashy", "a/b"}};
    const ExpandCase cases[] = {
        {"plain/topic", {}, "plain/topic", ""},
        {"/sys/{product_key}/{device_name}/x", {}, "/sys/pk/dn/x", ""},
        {"{product_key}{device_name}", {}, "pkdn", ""},
        {"/sys/{product_key}/{device_name}/thing/service/{1}_reply", {"reboot"},
         "/sys/pk/dn/thing/service/reboot_reply", ""},
        {"r/{2}/{1}", {"a", "b"}, "r/b/a", ""},
        {"r/{1}", {"x/y/z"}, "r/x/y/z", ""},  // a # capture spans levels
        {"up/{slashy}", {}, "up/a/b", ""},
        {"{nope}/x", {}, nullptr, "unknown field {nope}"},
        {"r/{3}", {"a", "b"}, nullptr, "capture {3} does not exist (2 captured)"},
        {"r/{1}", {}, nullptr, "capture {1} does not exist"},
        {"r/{0}", {"a"}, nullptr, "capture {0} does not exist"},
        {"r/{99999999999999999999}", {"a"}, nullptr, "does not exist"},
        {"r/{product_key", {}, nullptr, "unterminated {"},
        {"r/product_key}", {}, nullptr, "unmatched }"},
        {"r/{}", {}, nullptr, "bad placeholder {}"},
        {"r/{a-b}", {}, nullptr, "bad placeholder {a-b}"},
        {"r/{1a}", {}, nullptr, "bad placeholder {1a}"},
        {"r/{{product_key}}", {}, nullptr, "bad placeholder"},
        {"r/{plus}", {}, nullptr, "contains a wildcard"},
        {"r/{hash}", {}, nullptr, "contains a wildcard"},
        {"r/{1}", {"+"}, nullptr, "contains a wildcard"},
        {"r/+", {}, nullptr, "contains a wildcard"},
        {"r/{empty}/x", {}, nullptr, "empty level"},
        {"r/{empty}", {}, nullptr, "empty level"},
        {"r//x", {}, nullptr, "empty level"},
        {"/", {}, nullptr, "empty level"},
        {"{empty}", {}, nullptr, "topic is empty"},
        {"", {}, nullptr, "topic is empty"},
    };
    for (const auto& k : cases) {
        SCOPED_TRACE(k.tmpl);
        std::string error;
        const auto out = expand_topic(k.tmpl, f, k.captures, error);
        if (k.result != nullptr) {
            ASSERT_TRUE(out) << error;
            EXPECT_EQ(*out, k.result);
        } else {
            EXPECT_FALSE(out) << *out;
            EXPECT_NE(error.find(k.error), std::string::npos) << error;
        }
    }
    std::string error;
    EXPECT_FALSE(expand_topic(std::string(65536, 'a'), f, {}, error));
    EXPECT_NE(error.find("65535"), std::string::npos);
    EXPECT_FALSE(expand_topic(std::string("a\0b", 3), f, {}, error));
}

TEST(Topics, SubscriptionFilters) {
    std::string error;
    const TopicFields ali = topic_fields(config(Platform::aliyun));
    EXPECT_EQ(topic_filter(find_topic_template(Platform::aliyun, "service_call")->pattern, ali, error),
              "/sys/a1B2c3D4e5F/gw-001/thing/service/+");
    EXPECT_EQ(topic_filter(find_topic_template(Platform::aliyun, "property_set")->pattern, ali, error),
              "/sys/a1B2c3D4e5F/gw-001/thing/service/property/set");
    EXPECT_EQ(topic_filter("{x}", {}, error), "+");
    // A missing field that does not fill its level cannot become a wildcard.
    EXPECT_FALSE(topic_filter(find_topic_template(Platform::aliyun, "service_reply")->pattern, ali, error));
    EXPECT_NE(error.find("unknown field {service_id}"), std::string::npos) << error;
    EXPECT_FALSE(topic_filter("a/{1}", ali, error));
    EXPECT_NE(error.find("capture"), std::string::npos) << error;
    EXPECT_FALSE(topic_filter("a/b#", ali, error));
    EXPECT_NE(error.find("not a valid topic filter"), std::string::npos) << error;
    EXPECT_EQ(topic_filter("a/#", ali, error), "a/#");
}

TEST(Topics, RequestToReplyThroughCaptures) {
    // A service call on OneNET: subscribe with the filter, answer on the reply template.
    const TopicFields f = topic_fields(config(Platform::onenet));
    std::string error;
    const auto filter = topic_filter(find_topic_template(Platform::onenet, "service_invoke")->pattern, f, error);
    ASSERT_TRUE(filter) << error;
    EXPECT_EQ(*filter, "$sys/238322/gw-001/thing/service/+/invoke");
    Caps caps;
    ASSERT_TRUE(mqtt_topic_matches(*filter, "$sys/238322/gw-001/thing/service/reboot/invoke", &caps));
    EXPECT_EQ(caps, Caps{"reboot"});
    EXPECT_EQ(expand_topic("$sys/{product_id}/{device_name}/thing/service/{1}/invoke_reply", f, caps, error),
              "$sys/238322/gw-001/thing/service/reboot/invoke_reply");
    // Legacy commands: $creq/<uuid> -> $crsp/<uuid>.
    ASSERT_TRUE(mqtt_topic_matches("$creq/+", "$creq/3f2a-11", &caps));
    EXPECT_EQ(expand_topic("$crsp/{1}", {}, caps, error), "$crsp/3f2a-11");
}

struct MatchCase {
    const char* filter;
    const char* topic;
    bool match;
    Caps captures;
};

TEST(Topics, MatchingPerMqttSpec) {
    const MatchCase cases[] = {
        // MQTT 3.1.1 §4.7.1.2
        {"sport/tennis/player1/#", "sport/tennis/player1", true, {""}},
        {"sport/tennis/player1/#", "sport/tennis/player1/ranking", true, {"ranking"}},
        {"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true, {"score/wimbledon"}},
        {"sport/#", "sport", true, {""}},
        {"#", "sport/tennis", true, {"sport/tennis"}},
        {"sport/tennis#", "sport/tennis", false, {}},
        {"sport/tennis/#/ranking", "sport/tennis/x/ranking", false, {}},
        // §4.7.1.3
        {"sport/tennis/+", "sport/tennis/player1", true, {"player1"}},
        {"sport/tennis/+", "sport/tennis/player1/ranking", false, {}},
        {"sport/+", "sport", false, {}},
        {"sport/+", "sport/", true, {""}},
        {"+/+", "/finance", true, {"", "finance"}},
        {"/+", "/finance", true, {"finance"}},
        {"+", "/finance", false, {}},
        {"sport+", "sport1", false, {}},
        {"+/tennis/#", "sport/tennis/player1/ranking", true, {"sport", "player1/ranking"}},
        // §4.7.2: $ topics and first-level wildcards
        {"#", "$SYS/broker/load", false, {}},
        {"+/monitor/Clients", "$SYS/monitor/Clients", false, {}},
        {"$SYS/#", "$SYS/broker/load", true, {"broker/load"}},
        {"$SYS/monitor/+", "$SYS/monitor/Clients", true, {"Clients"}},
        // exact and near misses
        {"a/b", "a/b", true, {}},
        {"a/b", "a/b/", false, {}},
        {"a/b", "a", false, {}},
        {"a/b/c", "a/b", false, {}},
        {"A/b", "a/b", false, {}},
        // Aliyun / OneNET shapes
        {"/sys/pk/dn/thing/service/+", "/sys/pk/dn/thing/service/reboot", true, {"reboot"}},
        {"/sys/pk/dn/thing/service/+", "/sys/pk/dn/thing/service/property/set", false, {}},
        {"$sys/238322/gw-001/thing/#", "$sys/238322/gw-001/thing/property/set", true, {"property/set"}},
        // invalid arguments never match
        {"", "a", false, {}},
        {"a", "", false, {}},
        {"a/+", "a/+", false, {}},
        {"a/#", "a/#", false, {}},
    };
    for (const auto& k : cases) {
        SCOPED_TRACE(std::string(k.filter) + " vs " + k.topic);
        Caps caps{"stale"};
        EXPECT_EQ(mqtt_topic_matches(k.filter, k.topic, &caps), k.match);
        EXPECT_EQ(caps, k.captures);
        EXPECT_EQ(mqtt_topic_matches(k.filter, k.topic), k.match);
    }
}

TEST(Topics, Validity) {
    for (const char* f : {"a", "/", "+", "#", "a/+/b", "a/#", "+/+/#", "$SYS/#", "//"}) {
        EXPECT_TRUE(valid_topic_filter(f)) << f;
    }
    for (const char* f : {"", "a#", "a/#/b", "a+", "+a/b", "a/b+", "##", "++"}) {
        EXPECT_FALSE(valid_topic_filter(f)) << f;
    }
    EXPECT_FALSE(valid_topic_filter(std::string("a\0b", 3)));
    EXPECT_FALSE(valid_topic_filter(std::string(65536, 'a')));
    for (const char* t : {"a", "/", "a//b", "$SYS/x", " "}) EXPECT_TRUE(valid_topic_name(t)) << t;
    for (const char* t : {"", "a/+", "#", "a+b"}) EXPECT_FALSE(valid_topic_name(t)) << t;
    EXPECT_FALSE(valid_topic_name(std::string("a\0b", 3)));
}

struct PublishCase {
    Platform platform;
    std::string topic;
    const char* error;  // "" = allowed
};

TEST(Topics, PlatformPublishChecks) {
    const PublishCase cases[] = {
        {Platform::aliyun, "/a1B2c3D4e5F/gw-001/user/update", ""},
        {Platform::aliyun, "/" + std::string(126, 'x'), ""},
        {Platform::aliyun, "/" + std::string(127, 'x'), "shorter than 128 bytes"},
        {Platform::onenet, "$sys/238322/gw-001/thing/property/post", ""},
        {Platform::onenet, "$sys/238322/gw-001/thing/property/desired/get/reply", ""},
        {Platform::onenet, "$sys/238322/gw-001/a/b/c/d/e", ""},
        {Platform::onenet, "$sys/238322/gw-001/a/b/c/d/e/f", "at most 8 levels"},
        {Platform::onenet, "$sys/238322/gw.001/thing/property/post", "letters, digits"},
        {Platform::onenet, "$sys/238322/gw-001/thing/$x", "letters, digits"},
        // Only the device's own system topics: anything else disconnects it.
        {Platform::onenet, "foo/bar", "only publish under $sys/238322/gw-001/"},
        {Platform::onenet, "$sys/238322/gw-002/thing/property/post", "only publish under $sys/238322/gw-001/"},
        {Platform::onenet, "$sys/238322/gw-001", "only publish under $sys/238322/gw-001/"},
        {Platform::onenet_legacy, "$dp", ""},
        {Platform::onenet_legacy, "$crsp/3f2a-11", ""},
        {Platform::onenet_legacy, "$crsp/3f2a 11", "letters, digits"},
        {Platform::generic, "any topic/with spaces/é", ""},
        {Platform::generic, "a/+", "not a valid MQTT topic name"},
        {Platform::aliyun, "", "not a valid MQTT topic name"},
    };
    for (const auto& k : cases) {
        const TopicFields device{{"product_key", "a1B2c3D4e5F"}, {"product_id", "238322"}, {"device_name", "gw-001"}};
        const std::string err = check_publish_topic(k.platform, k.topic, device);
        if (*k.error == '\0') {
            EXPECT_EQ(err, "") << k.topic;
        } else {
            EXPECT_NE(err.find(k.error), std::string::npos) << k.topic << ": " << err;
        }
    }
}

}  // namespace
}  // namespace cellgate::cloud
