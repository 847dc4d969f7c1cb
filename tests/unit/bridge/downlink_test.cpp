// One downlink entry on its own: which cloud messages are requests and where they land locally,
// which local messages are answers and what goes back, and the pairing of answers without an id
// with the requests they answer. The bridge's part (subscriptions, publishing, the rate limit) is
// in bridge_test.cpp.
#include "bridge/downlink.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cloud/topics.hpp"
#include "unit/support/test_device.hpp"

namespace cellgate::bridge {
namespace {

using cloud::Platform;
using cellgate::testing::test_device;
using Strings = std::vector<std::string>;

constexpr const char* kAliSet = "/sys/a1B2c3D4e5F/gw-001/thing/service/property/set";
constexpr const char* kAliReboot = "/sys/a1B2c3D4e5F/gw-001/thing/service/reboot";

Downlink entry(Platform p, std::string to = "cloud/dev", Strings filters = {}) {
    DownlinkConfig c;
    c.from = "gw";
    c.to = std::move(to);
    c.filters = std::move(filters);
    return Downlink(c, p, cloud::topic_fields(test_device(p)));
}

std::string request_payload(const std::string& id) {
    return R"({"id":")" + id + R"(","version":"1.0","params":{"p":1},"method":"thing.service.property.set"})";
}

// ---- requests ----

TEST(Downlink, APlatformsRequestsLandUnderThePrefixByTheirOwnName) {
    auto d = entry(Platform::aliyun, "cloud/ali");
    EXPECT_EQ(d.cloud_filters(), cloud::downlink_filters(Platform::aliyun, cloud::topic_fields(test_device(Platform::aliyun))));
    EXPECT_EQ(d.local_filter(), "cloud/ali/#");
    EXPECT_EQ(d.request(kAliSet, request_payload("7")).value_or("<none>"), "cloud/ali/thing/service/property/set");
    EXPECT_EQ(d.unanswered("thing/service/property/set"), (Strings{"7"}));
    // Not a request of this device; our own answers are not requests either.
    EXPECT_FALSE(d.request("/sys/a1B2c3D4e5F/other/thing/service/property/set", request_payload("8")));
    EXPECT_FALSE(d.request(std::string(kAliReboot) + "_reply", "{}"));
}

TEST(Downlink, ARequestWithoutAnIdIsForwardedButNotRemembered) {
    auto d = entry(Platform::onenet);
    EXPECT_EQ(d.request("$sys/238322/gw-001/cmd/request/9c1e-77", "opaque bytes").value_or("<none>"),
              "cloud/dev/cmd/request/9c1e-77");
    EXPECT_TRUE(d.unanswered("cmd/request/9c1e-77").empty());
}

TEST(Downlink, AGenericEntryForwardsWhatItsFiltersMatchUnderTheFullTopic) {
    auto d = entry(Platform::generic, "cloud/lab", {"cmd/#", "ctl/+"});
    EXPECT_EQ(d.cloud_filters(), (Strings{"cmd/#", "ctl/+"}));
    EXPECT_EQ(d.request("cmd/reboot", "now").value_or("<none>"), "cloud/lab/cmd/reboot");
    EXPECT_EQ(d.request("ctl/x", "{\"id\":\"1\"}").value_or("<none>"), "cloud/lab/ctl/x");
    EXPECT_FALSE(d.request("ctl/x/y", "now"));
    EXPECT_FALSE(d.request("other/topic", "now"));
    EXPECT_TRUE(d.unanswered("ctl/x").empty());  // generic answers are raw: nothing to pair
}

// ---- which local messages are this entry's ----

TEST(Downlink, OnlyTopicsStrictlyUnderThePrefixAreLocalAnswers) {
    const auto d = entry(Platform::aliyun, "cloud/ali");
    EXPECT_EQ(d.local_suffix("cloud/ali/thing/service/property/set/reply").value_or("<none>"),
              "thing/service/property/set/reply");
    EXPECT_EQ(d.local_suffix("cloud/ali/x").value_or("<none>"), "x");
    EXPECT_FALSE(d.local_suffix("cloud/ali"));
    EXPECT_FALSE(d.local_suffix("cloud/ali/"));
    EXPECT_FALSE(d.local_suffix("cloud/alias/x"));
    EXPECT_FALSE(d.local_suffix("sensors/cloud/ali/x"));
}

TEST(Downlink, NamesThatLookLikeAnswers) {
    for (const char* s : {"thing/service/property/set/reply", "thing/service/reboot_reply", "cmd/response/9c1e-77",
                          "crsp/9c1e-77", "rrpc/request/1/reply"})
        EXPECT_TRUE(Downlink::looks_like_answer(s)) << s;
    for (const char* s : {"thing/service/property/set", "cmd/request/9c1e-77", "creq/9c1e-77", "replyx"})
        EXPECT_FALSE(Downlink::looks_like_answer(s)) << s;
}

// ---- answers ----

TEST(Downlink, AnAnswerWithItsIdGoesBackInThePlatformsFormat) {
    auto d = entry(Platform::aliyun);
    ASSERT_TRUE(d.request(kAliSet, request_payload("123")));
    const auto m = d.answer("thing/service/property/set/reply", R"({"id":"123"})");
    ASSERT_TRUE(m) << m.error();
    EXPECT_EQ(m->topic, std::string(kAliSet) + "_reply");
    EXPECT_EQ(m->payload, R"({"id":"123","code":200,"data":{}})");
    EXPECT_TRUE(d.unanswered("thing/service/property/set").empty());
}

// An application that answers with just its data: the reply names the request it answers, the
// oldest unanswered one of that topic.
TEST(Downlink, AnAnswerWithoutAnIdAnswersTheOldestRequestOfItsTopic) {
    auto d = entry(Platform::aliyun);
    ASSERT_TRUE(d.request(kAliSet, request_payload("11")));
    ASSERT_TRUE(d.request(kAliReboot, R"({"id":"21","version":"1.0","params":{},"method":"thing.service.reboot"})"));
    ASSERT_TRUE(d.request(kAliSet, request_payload("12")));

    auto m = d.answer("thing/service/reboot_reply", R"({"data":{"ok":true}})");
    ASSERT_TRUE(m) << m.error();
    EXPECT_EQ(m->topic, std::string(kAliReboot) + "_reply");
    EXPECT_EQ(m->payload, R"({"id":"21","code":200,"data":{"ok":true}})");

    m = d.answer("thing/service/property/set/reply", "");
    ASSERT_TRUE(m) << m.error();
    EXPECT_EQ(m->topic, std::string(kAliSet) + "_reply");
    EXPECT_EQ(m->payload, R"({"id":"11","code":200,"data":{}})");
    EXPECT_EQ(d.unanswered("thing/service/property/set"), (Strings{"12"}));

    // With its id: that request, out of order or not.
    m = d.answer("thing/service/property/set/reply", R"({"id":"12","code":460})");
    ASSERT_TRUE(m) << m.error();
    EXPECT_EQ(m->payload, R"({"id":"12","code":460,"data":{}})");

    // Nothing left to answer.
    EXPECT_FALSE(d.answer("thing/service/property/set/reply", "{}"));
}

TEST(Downlink, AnAnswerThatCannotBeSentKeepsTheRequestWaiting) {
    auto d = entry(Platform::aliyun);
    ASSERT_TRUE(d.request(kAliSet, request_payload("5")));
    EXPECT_FALSE(d.answer("thing/service/property/set/reply", "not json"));
    EXPECT_FALSE(d.answer("thing/service/property/set/reply", R"({"id":"5","code":"x"})"));
    EXPECT_EQ(d.unanswered("thing/service/property/set"), (Strings{"5"}));
    EXPECT_TRUE(d.answer("thing/service/property/set/reply", "{}"));
}

TEST(Downlink, OnlyAFewRequestsPerTopicAndAFewTopicsAreRemembered) {
    auto d = entry(Platform::aliyun);
    const size_t n = Downlink::kUnansweredPerTopic;
    for (size_t i = 0; i < n + 2; ++i) ASSERT_TRUE(d.request(kAliSet, request_payload(std::to_string(i))));
    const auto kept = d.unanswered("thing/service/property/set");
    ASSERT_EQ(kept.size(), n);
    EXPECT_EQ(kept.front(), "2");  // the two oldest are forgotten
    EXPECT_EQ(kept.back(), std::to_string(n + 1));

    // Past that many topics waiting, one is forgotten for each new one.
    for (size_t i = 0; i < Downlink::kUnansweredTopics; ++i)
        ASSERT_TRUE(d.request(std::string(kAliReboot) + std::to_string(i), request_payload("r" + std::to_string(i))));
    size_t topics = 0;
    for (size_t i = 0; i < Downlink::kUnansweredTopics; ++i)
        topics += d.unanswered("thing/service/reboot" + std::to_string(i)).empty() ? 0 : 1;
    EXPECT_EQ(topics + (d.unanswered("thing/service/property/set").empty() ? 0 : 1), Downlink::kUnansweredTopics);
}

TEST(Downlink, AGenericAnswerGoesBackRawOnTheRequestTopicSlashReply) {
    auto d = entry(Platform::generic, "cloud/lab", {"cmd/#"});
    auto m = d.answer("cmd/reboot/reply", "ok");
    ASSERT_TRUE(m) << m.error();
    EXPECT_EQ(m->topic, "cmd/reboot/reply");
    EXPECT_EQ(m->payload, "ok");
    EXPECT_FALSE(d.answer("cmd/reboot", "ok"));         // our own request coming back
    EXPECT_FALSE(d.answer("cmd/+/reply", "ok"));        // not a topic name
    EXPECT_FALSE(d.answer("cmd/reboot_reply", "ok"));   // generic has no _reply convention
}

TEST(Downlink, OneNetCommandsAreAnsweredByTheirOwnId) {
    auto d = entry(Platform::onenet);
    ASSERT_TRUE(d.request("$sys/238322/gw-001/cmd/request/9c1e-77", "reboot"));
    const auto m = d.answer("cmd/request/9c1e-77/reply", "done");
    ASSERT_TRUE(m) << m.error();
    EXPECT_EQ(m->topic, "$sys/238322/gw-001/cmd/response/9c1e-77");
    EXPECT_EQ(m->payload, "done");
}

}  // namespace
}  // namespace cellgate::bridge
