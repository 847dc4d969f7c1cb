// The bridge against real Session state machines over scripted MQTT clients, an in-memory outbox
// and a clock that moves only when the test says: routing (first match wins), capture templates,
// refused payloads, the QoS 0 policy, status coalescing, reply routing, downlink both ways and the
// D-Bus Publish() checks. Delivery itself (window, pacing, resend, the poison probe) is tested on
// the lane in delivery_lane_test.cpp, the request/answer pairing in downlink_test.cpp.
#include "bridge/bridge.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "bridge/local_intake.hpp"
#include "cloud/platform.hpp"
#include "unit/bridge/bridge_fixture.hpp"

namespace cellgate::bridge {
namespace {

using namespace cellgate::cloud;
using namespace cellgate::bridge::testing;

class BridgeTest : public BridgeFixture {
protected:
    void build(DeliveryTuning tuning = {}) {
        ali_ = make(ali_config());
        lab_ = make(lab_config());
        local_ = make(local_config());
        local_.session->keep_session(true);
        bridge_ = std::make_unique<Bridge>(sched_, config_, outbox_, local_.session.get(),
                                           std::vector<Session*>{ali_.session.get(), lab_.session.get()}, buckets_, tuning);
        bridge_->on_change = [this](size_t i, const DeliveryStatus& s) { changes_.emplace_back(i, s); };
        for (auto* p : {&ali_, &lab_, &local_}) p->session->start();
        local_.client->accept();
        sched_.run_deferred();
    }

    void local_publish(const std::string& topic, const std::string& payload) {
        local_.client->deliver(topic, payload);
        sched_.run_deferred();
    }

    RateBuckets buckets_;
    BridgeConfig config_;
    Peer ali_, lab_, local_;
    std::unique_ptr<Bridge> bridge_;
    std::vector<std::pair<size_t, DeliveryStatus>> changes_;
};

// ---- routing ----

TEST_F(BridgeTest, FirstMatchingRouteWinsAndUnroutedTopicsAreIgnored) {
    config_.routes = {route("sensors/+/telemetry", "ali", "property"),
                      route("sensors/#", "lab", "raw", "gw/{client_id}/{1}")};
    build();
    local_publish("sensors/t1/telemetry", R"({"temp":21.5})");
    local_publish("sensors/t1/status", "online");
    local_publish("other/x", "nobody");
    ASSERT_EQ(outbox_.pending.size(), 2u);
    EXPECT_EQ(outbox_.pending[0].message.session, "ali");
    EXPECT_EQ(outbox_.pending[0].message.topic, kAliPost);
    EXPECT_EQ(outbox_.pending[0].message.format, "property");
    EXPECT_EQ(outbox_.pending[0].message.payload, R"({"temp":21.5})");
    EXPECT_EQ(outbox_.pending[0].message.qos, 1);
    EXPECT_GT(outbox_.pending[0].message.created_ms, 1'600'000'000'000);
    EXPECT_EQ(outbox_.pending[1].message.session, "lab");
    EXPECT_EQ(outbox_.pending[1].message.topic, "gw/gw-7/t1/status");
    EXPECT_EQ(outbox_.pending[1].message.format, "raw");
}

TEST_F(BridgeTest, CaptureTemplatesUseEveryWildcardInOrder) {
    config_.routes = {route("app/+/data/#", "lab", "raw", "up/{2}/{1}", 0)};
    build();
    up(lab_);
    local_publish("app/dev7/data/a/b", "x");
    ASSERT_EQ(outbox_.pending.size(), 1u);
    EXPECT_EQ(outbox_.pending[0].message.topic, "up/a/b/dev7");
    EXPECT_EQ(outbox_.pending[0].message.qos, 0);
}

TEST_F(BridgeTest, LocalSubscriptionsArePersistentQos1ForRoutesAndAnswers) {
    config_.routes = {route("sensors/#", "lab", "raw", "gw/{1}"), route("sensors/#", "ali", "property")};
    DownlinkConfig d;
    d.from = "ali";
    d.to = "cloud/ali";
    config_.downlink = {d};
    build();
    ASSERT_EQ(local_.client->attempts.size(), 1u);
    EXPECT_FALSE(local_.client->attempts[0].params.clean_session);
    EXPECT_EQ(local_.client->subscriptions,
              (std::vector<std::pair<std::string, int>>{{"sensors/#", 1}, {"cloud/ali/#", 1}}));
    // Subscribed again on every connection.
    bounce(local_);
    EXPECT_EQ(local_.client->subscriptions.size(), 4u);
}

// ---- refused local messages ----

TEST_F(BridgeTest, InvalidPayloadsAreCountedAndNeverQueued) {
    config_.routes = {route("sensors/+", "ali", "property"), route("raw/#", "lab", "raw", "gw/{1}")};
    build();
    local_publish("sensors/a", "not json");
    local_publish("sensors/a", R"({"nested":{"x":1}})");
    local_publish("sensors/a", std::string(max_payload(Platform::aliyun) + 1, ' '));
    // A # that matched its parent level captures "": the cloud topic would end in an empty level.
    local_publish("raw", "x");
    sched_.run_deferred();
    EXPECT_TRUE(outbox_.pending.empty());
    EXPECT_EQ(bridge_->status(0).invalid, 3u);
    EXPECT_EQ(bridge_->status(1).invalid, 1u);
    ASSERT_FALSE(changes_.empty());
    EXPECT_EQ(changes_.back().second.invalid, 1u);
    local_publish("sensors/a", R"({"temp":1})");
    EXPECT_EQ(outbox_.pending.size(), 1u);
}

// Under the limit as published locally, over it once wrapped: {"k":1,...} becomes
// {"k":{"value":1,"time":...},...}, several times larger. The platform would refuse (OneNET:
// disconnect) that row on every connection, so it is refused here, before it is accepted.
TEST_F(BridgeTest, ThePlatformsSizeLimitAppliesToTheWrappedMessage) {
    config_.routes = {route("sensors/+", "ali", "property")};
    build();
    std::string big = "{";
    for (int i = 0; big.size() < max_payload(Platform::aliyun) / 2; ++i) big += "\"k" + std::to_string(i) + "\":1,";
    big.back() = '}';
    ASSERT_LT(big.size(), max_payload(Platform::aliyun));
    local_publish("sensors/a", big);
    EXPECT_TRUE(outbox_.pending.empty());
    EXPECT_EQ(bridge_->status(0).invalid, 1u);
}

TEST_F(BridgeTest, Qos0IsDroppedAndCountedWhileOfflineAndQueuedWhileConnected) {
    config_.routes = {route("fast/#", "lab", "raw", "gw/fast", 0), route("safe/#", "lab", "raw", "gw/safe", 1)};
    build();
    local_publish("fast/1", "a");
    local_publish("safe/1", "b");
    ASSERT_EQ(outbox_.pending.size(), 1u);
    EXPECT_EQ(outbox_.pending[0].message.topic, "gw/safe");
    EXPECT_EQ(bridge_->status(1).dropped, 1u);
    up(lab_);
    local_publish("fast/2", "c");
    ASSERT_EQ(outbox_.pending.size(), 2u);
    EXPECT_EQ(outbox_.pending[1].message.qos, 0);
}

// ---- delivery, as far as the bridge is concerned ----

// A reload rebuilds the bridge on a connection that stays up: the session's bucket is the same
// one, so the rebuild adds no burst (the platform counts the device, not the lane).
TEST_F(BridgeTest, ARebuiltBridgeKeepsTheSessionsRateLimitState) {
    config_.rate_limits["ali"] = RateLimit{2, 3};
    outbox_.seed("ali", 20, "property");
    build();
    up(ali_);
    EXPECT_EQ(ali_.client->publications.size(), 3u);
    bridge_.reset();
    bridge_ = std::make_unique<Bridge>(sched_, config_, outbox_, local_.session.get(),
                                       std::vector<Session*>{ali_.session.get(), lab_.session.get()}, buckets_);
    ali_.session->on_connected();  // as the gateway tells a new bridge of a kept connection
    sched_.run_deferred();
    EXPECT_EQ(ali_.client->publications.size(), 3u);
    sched_.advance(500ms);
    EXPECT_EQ(ali_.client->publications.size(), 4u);
}

TEST_F(BridgeTest, AnswersToTheCloudCountAgainstTheRateLimit) {
    config_.rate_limits["ali"] = RateLimit{2, 1};
    DownlinkConfig d;
    d.from = "ali";
    d.to = "cloud/ali";
    config_.downlink = {d};
    build();
    up(ali_);
    const std::string set = "/sys/a1B2c3D4e5F/gw-001/thing/service/property/set";
    ali_.client->deliver(set, R"({"id":"1","version":"1.0","params":{"p":1},"method":"thing.service.property.set"})");
    local_publish("cloud/ali/thing/service/property/set/reply", R"({"id":"1"})");
    ASSERT_EQ(ali_.client->publications.size(), 1u);  // answers never wait
    bridge_->publish(0, "/sys/a1B2c3D4e5F/gw-001/thing/event/property/post", "{}", 1, [](auto) {});
    outbox_.commit();
    sched_.run_deferred();
    EXPECT_EQ(ali_.client->publications.size(), 1u);  // the answer took the token
    sched_.advance(500ms);
    EXPECT_EQ(ali_.client->publications.size(), 2u);
}

TEST_F(BridgeTest, NewMessagesAreSentWhenTheirCommitLands) {
    config_.routes = {route("raw/#", "lab", "raw", "gw/{1}")};
    build();
    up(lab_);
    local_publish("raw/a", "1");
    EXPECT_TRUE(lab_.client->publications.empty());  // not durable yet
    outbox_.commit();
    sched_.run_deferred();
    EXPECT_EQ(published_topics(lab_), (std::vector<std::string>{"gw/a"}));
    EXPECT_EQ(bridge_->status(1).queued, 1u);
    lab_.client->acked(lab_.client->next_mid - 1);
    sched_.run_deferred();
    EXPECT_EQ(bridge_->status(1).queued, 0u);
    ASSERT_FALSE(changes_.empty());
    EXPECT_EQ(changes_.back().first, 1u);
    EXPECT_EQ(changes_.back().second.queued, 0u);
}

TEST_F(BridgeTest, OutboxDropsShowAsDropped) {
    outbox_.seed("lab", 3);
    build();
    outbox_.drop_oldest("lab", 2);
    sched_.run_deferred();
    EXPECT_EQ(bridge_->status(1).dropped, 2u);
    EXPECT_EQ(bridge_->status(1).queued, 1u);
    ASSERT_FALSE(changes_.empty());
    EXPECT_EQ(changes_.back().second.dropped, 2u);
}

// libmosquitto acknowledged them to the local broker already: refused messages are held, the
// local connection pauses (the broker queues meanwhile), the oldest is offered again at growing
// intervals, and once it is taken the rest follow in order and the connection resumes.
TEST_F(BridgeTest, LocalMessagesTheOutboxRefusesAreHeldWhileTheLocalConnectionPauses) {
    config_.routes = {route("raw/#", "lab", "raw", "gw/{1}")};
    build();
    ASSERT_TRUE(local_.client->connected);
    for (const char* p : {"1", "2", "3"}) local_publish("raw/a", p);
    outbox_.fail("disk full", OutboxErrorKind::full);
    sched_.run_deferred();
    EXPECT_FALSE(local_.client->connected) << "the local connection pauses";
    EXPECT_EQ(local_.session->status().state, SessionState::idle);
    EXPECT_EQ(bridge_->status(1).dropped, 0u);
    local_.client->deliver("raw/a", "4");  // read before the pause: held behind the others
    sched_.run_deferred();
    EXPECT_TRUE(outbox_.pending.empty());

    sched_.advance(LocalIntake::kFirstRetry);
    ASSERT_EQ(outbox_.pending.size(), 1u) << "the oldest alone tells whether there is room";
    EXPECT_EQ(outbox_.pending[0].message.payload, "1");
    outbox_.fail("disk full", OutboxErrorKind::full);
    sched_.advance(LocalIntake::kFirstRetry);
    EXPECT_TRUE(outbox_.pending.empty()) << "the interval grows";
    sched_.advance(LocalIntake::kFirstRetry);
    ASSERT_EQ(outbox_.pending.size(), 1u);
    EXPECT_FALSE(local_.client->connecting);
    outbox_.commit();
    ASSERT_EQ(outbox_.pending.size(), 3u);
    outbox_.commit();
    sched_.run_deferred();
    std::vector<std::string> rows;
    for (const auto& [id, m] : outbox_.rows) rows.push_back(m.payload);
    EXPECT_EQ(rows, (std::vector<std::string>{"1", "2", "3", "4"}));
    EXPECT_TRUE(local_.client->connecting) << "the local connection resumes";
    EXPECT_EQ(bridge_->status(1).dropped, 0u);
}

// A reload that rebuilds the bridge keeps the local connection: the new bridge takes from it.
TEST_F(BridgeTest, ABridgeRebuiltWhileHoldingResumesTheLocalConnection) {
    config_.routes = {route("raw/#", "lab", "raw", "gw/{1}")};
    build();
    local_publish("raw/a", "1");
    outbox_.fail("disk full", OutboxErrorKind::full);
    ASSERT_TRUE(local_.session->paused());
    bridge_.reset();
    EXPECT_FALSE(local_.session->paused());
    sched_.advance(1s);  // the spacing between connect attempts
    EXPECT_TRUE(local_.client->connecting);
}

TEST_F(BridgeTest, APayloadLargerThanTheWholeOutboxIsRefusedNotHeld) {
    config_.routes = {route("raw/#", "lab", "raw", "gw/{1}")};
    config_.outbox.max_bytes = 4;
    build();
    local_publish("raw/a", "12345");
    EXPECT_TRUE(outbox_.pending.empty());
    EXPECT_EQ(bridge_->status(1).invalid, 1u);
    EXPECT_TRUE(local_.client->connected);
}

// ---- replies ----

TEST_F(BridgeTest, RepliesAreMatchedToPostsAndCounted) {
    outbox_.seed("ali", 3, "property");
    build();
    up(ali_);
    EXPECT_NE(std::find(ali_.client->subscriptions.begin(), ali_.client->subscriptions.end(),
                        std::pair<std::string, int>{"/sys/a1B2c3D4e5F/gw-001/thing/event/+/post_reply", 1}),
              ali_.client->subscriptions.end());
    ali_.client->deliver(kAliPostReply, R"({"code":200,"data":{},"id":"1","message":"success","version":"1.0"})");
    ali_.client->deliver(kAliPostReply, R"({"code":6207,"id":"2","message":"request data format error"})");
    ali_.client->deliver(kAliPostReply, R"({"code":200,"id":"1"})");    // a duplicate answer
    ali_.client->deliver(kAliPostReply, R"({"code":200,"id":"777"})");  // not ours
    sched_.run_deferred();
    const auto s = bridge_->status(0);
    EXPECT_EQ(s.accepted, 1u);
    EXPECT_EQ(s.rejected, 1u);
    EXPECT_EQ(s.last_rejection, "6207 request data format error");
    EXPECT_EQ(changes_.back().second.last_rejection, "6207 request data format error");
    EXPECT_TRUE(local_.client->publications.empty());  // replies are not downlink
}

// A session renamed or removed by a reload leaves its rows in the outbox: they are not sent to
// another session, and the journal says how many wait.
TEST_F(BridgeTest, RowsOfASessionNoLongerConfiguredWaitAndAreReported) {
    outbox_.seed("old-name", 3);
    outbox_.seed("lab", 1);
    ::testing::internal::CaptureStderr();
    build();
    up(lab_);
    outbox_.on_available("old-name");
    const std::string log = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(log.find("3 messages are queued for cloud session old-name, which is not configured"), std::string::npos)
        << log;
    EXPECT_EQ(log.find("is not configured"), log.rfind("is not configured")) << "reported once: " << log;
    ASSERT_EQ(lab_.client->publications.size(), 1u);
    EXPECT_EQ(outbox_.counters("old-name").queued, 3u);
}

// ---- downlink ----

TEST_F(BridgeTest, AliyunRequestsReachTheLocalPrefixAndAnswersGoBack) {
    DownlinkConfig d;
    d.from = "ali";
    d.to = "cloud/ali";
    config_.downlink = {d};
    build();
    up(ali_);
    EXPECT_NE(std::find_if(ali_.client->subscriptions.begin(), ali_.client->subscriptions.end(),
                           [](const auto& s) { return s.first.find("/thing/service/") != std::string::npos; }),
              ali_.client->subscriptions.end());
    const std::string set = "/sys/a1B2c3D4e5F/gw-001/thing/service/property/set";
    ali_.client->deliver(set, R"({"id":"123","version":"1.0","params":{"PowerSwitch":1},"method":"thing.service.property.set"})");
    ASSERT_EQ(local_.client->publications.size(), 1u);
    EXPECT_EQ(local_.client->publications[0].topic, "cloud/ali/thing/service/property/set");
    EXPECT_EQ(local_.client->publications[0].qos, 1);
    // Our own request comes back on cloud/ali/#: it answers nothing.
    local_publish("cloud/ali/thing/service/property/set", local_.client->publications[0].payload);
    EXPECT_TRUE(ali_.client->publications.empty());
    local_publish("cloud/ali/thing/service/property/set/reply", R"({"id":"123"})");
    ASSERT_EQ(ali_.client->publications.size(), 1u);
    EXPECT_EQ(ali_.client->publications[0].topic, set + "_reply");
    EXPECT_NE(ali_.client->publications[0].payload.find("\"123\""), std::string::npos);
    EXPECT_NE(ali_.client->publications[0].payload.find("200"), std::string::npos);
    // Answers do not go through the outbox.
    EXPECT_TRUE(outbox_.pending.empty());
}

TEST_F(BridgeTest, GenericDownlinkUsesItsFiltersAndRawAnswers) {
    DownlinkConfig d;
    d.from = "lab";
    d.to = "cloud/lab";
    d.filters = {"cmd/#"};
    config_.downlink = {d};
    build();
    up(lab_);
    EXPECT_EQ(lab_.client->subscriptions, (std::vector<std::pair<std::string, int>>{{"cmd/#", 1}}));
    lab_.client->deliver("cmd/reboot", "now");
    lab_.client->deliver("other/topic", "ignored");
    ASSERT_EQ(local_.client->publications.size(), 1u);
    EXPECT_EQ(local_.client->publications[0].topic, "cloud/lab/cmd/reboot");
    EXPECT_EQ(local_.client->publications[0].payload, "now");
    local_publish("cloud/lab/cmd/reboot/reply", "ok");
    ASSERT_EQ(lab_.client->publications.size(), 1u);
    EXPECT_EQ(lab_.client->publications[0].topic, "cmd/reboot/reply");
    EXPECT_EQ(lab_.client->publications[0].payload, "ok");
}

TEST_F(BridgeTest, AnswersWhileTheSessionIsDownAreNotQueued) {
    DownlinkConfig d;
    d.from = "lab";
    d.to = "cloud/lab";
    d.filters = {"cmd/#"};
    config_.downlink = {d};
    build();
    local_publish("cloud/lab/cmd/reboot/reply", "ok");
    EXPECT_TRUE(outbox_.pending.empty());
    up(lab_);
    EXPECT_TRUE(lab_.client->publications.empty());
}

// ---- Publish() ----

struct PublishResult {
    bool done = false;
    std::expected<uint64_t, PublishFailure> value = 0;
};

PublishDone capture(PublishResult& r) {
    return [&r](std::expected<uint64_t, PublishFailure> v) {
        r.done = true;
        r.value = std::move(v);
    };
}

TEST_F(BridgeTest, PublishAnswersOnlyOnceTheMessageIsCommitted) {
    build();
    PublishResult r;
    bridge_->publish(0, "/a1B2c3D4e5F/gw-001/user/update", "hello", 1, capture(r));
    EXPECT_FALSE(r.done);
    ASSERT_EQ(outbox_.pending.size(), 1u);
    EXPECT_EQ(outbox_.pending[0].message.format, "raw");
    EXPECT_EQ(outbox_.pending[0].message.session, "ali");
    outbox_.commit();
    ASSERT_TRUE(r.done);
    ASSERT_TRUE(r.value.has_value());
    EXPECT_EQ(*r.value, 1u);
    up(ali_);
    ASSERT_EQ(ali_.client->publications.size(), 1u);
    EXPECT_EQ(ali_.client->publications[0].payload, "hello");
}

TEST_F(BridgeTest, PublishRefusesWhatThePlatformOrTheOutboxCannotTake) {
    config_.outbox.max_bytes = 1024;
    build();
    struct Case {
        size_t session;
        std::string topic;
        std::string payload;
        int qos;
        PublishError error;
    };
    const Case cases[] = {
        {0, "/a1B2c3D4e5F/gw-001/user/update", "x", 2, PublishError::qos_not_supported},
        {1, "gw/x", "x", 3, PublishError::qos_not_supported},
        {1, "gw/+/x", "x", 1, PublishError::invalid_topic},
        {1, "", "x", 1, PublishError::invalid_topic},
        {0, "/" + std::string(200, 'a'), "x", 1, PublishError::invalid_topic},  // Aliyun: under 128 bytes
        {0, "/a1B2c3D4e5F/gw-001/user/update", std::string(max_payload(Platform::aliyun) + 1, 'x'), 1,
         PublishError::too_large},
        {1, "gw/x", std::string(1025, 'x'), 1, PublishError::outbox_full},
        {1, "gw/x", "x", 0, PublishError::not_connected},
    };
    for (const auto& c : cases) {
        PublishResult r;
        bridge_->publish(c.session, c.topic, c.payload, c.qos, capture(r));
        ASSERT_TRUE(r.done) << c.topic;
        ASSERT_FALSE(r.value.has_value()) << c.topic;
        EXPECT_EQ(r.value.error().error, c.error) << c.topic << ": " << r.value.error().message;
        EXPECT_FALSE(r.value.error().message.empty());
    }
    EXPECT_TRUE(outbox_.pending.empty());

    // Generic takes QoS 2; QoS 0 once connected.
    up(lab_);
    PublishResult q2, q0;
    bridge_->publish(1, "gw/x", "x", 2, capture(q2));
    bridge_->publish(1, "gw/x", "x", 0, capture(q0));
    EXPECT_EQ(outbox_.pending.size(), 2u);

    // A commit that fails.
    outbox_.fail("disk I/O error");
    ASSERT_TRUE(q2.done);
    ASSERT_FALSE(q2.value.has_value());
    EXPECT_EQ(q2.value.error().error, PublishError::outbox_failed);
    EXPECT_EQ(q2.value.error().message, "disk I/O error");
    EXPECT_EQ(bridge_->status(1).dropped, 2u);

    // No room on the disk: full, not failed (the caller may try again later).
    PublishResult full;
    bridge_->publish(1, "gw/x", "x", 1, capture(full));
    outbox_.fail("the filesystem is full", OutboxErrorKind::full);
    ASSERT_TRUE(full.done);
    ASSERT_FALSE(full.value.has_value());
    EXPECT_EQ(full.value.error().error, PublishError::outbox_full);
}

TEST_F(BridgeTest, DestroyingTheBridgeReleasesTheCallbacks) {
    config_.routes = {route("raw/#", "lab", "raw", "gw/{1}")};
    build();
    PublishResult r;
    bridge_->publish(1, "gw/x", "x", 1, capture(r));
    local_publish("raw/a", "1");
    bridge_.reset();
    EXPECT_FALSE(outbox_.on_available);
    EXPECT_FALSE(lab_.session->on_published);
    outbox_.commit();  // completions after the bridge is gone: Publish still answered, nothing else
    EXPECT_TRUE(r.done);
    up(lab_);
    local_.client->deliver("raw/b", "2");
    EXPECT_EQ(outbox_.pending.size(), 0u);
}

// A reload rebuilds the bridge over the sessions it keeps: the subscriptions are replaced, not
// added to (OneNET disconnects a device holding more than 15), and dropped filters are gone.
TEST_F(BridgeTest, ARebuiltBridgeReplacesTheSubscriptions) {
    config_.routes = {route("sensors/#", "lab", "raw", "gw/{1}"), route("meters/#", "ali", "property")};
    DownlinkConfig d;
    d.from = "ali";
    d.to = "cloud/ali";
    config_.downlink = {d};
    build();
    up(ali_);
    const auto ali_first = ali_.client->subscriptions;
    ASSERT_FALSE(ali_first.empty());
    ASSERT_EQ(local_.client->subscriptions.size(), 3u);

    // Same config: nothing new is sent on either side.
    bridge_.reset();
    bridge_ = std::make_unique<Bridge>(sched_, config_, outbox_, local_.session.get(),
                                       std::vector<Session*>{ali_.session.get(), lab_.session.get()}, buckets_);
    EXPECT_EQ(ali_.client->subscriptions, ali_first);
    EXPECT_EQ(local_.client->subscriptions.size(), 3u);
    EXPECT_TRUE(local_.client->unsubscriptions.empty());

    // Without the downlink and the meters route: those filters are unsubscribed, once.
    config_.routes.pop_back();
    config_.downlink.clear();
    bridge_.reset();
    bridge_ = std::make_unique<Bridge>(sched_, config_, outbox_, local_.session.get(),
                                       std::vector<Session*>{ali_.session.get(), lab_.session.get()}, buckets_);
    EXPECT_EQ(local_.client->unsubscriptions, (std::vector<std::string>{"meters/#", "cloud/ali/#"}));
    EXPECT_FALSE(ali_.client->unsubscriptions.empty());
    // What goes is the downlink's; the replies to our posts are still wanted.
    for (const auto& f : ali_.client->unsubscriptions) EXPECT_EQ(f.find("post_reply"), std::string::npos) << f;

    // The next connection subscribes only what is left.
    const size_t before = ali_.client->subscriptions.size();
    bounce(ali_);
    const std::vector<std::pair<std::string, int>> again(ali_.client->subscriptions.begin() +
                                                             static_cast<std::ptrdiff_t>(before),
                                                         ali_.client->subscriptions.end());
    EXPECT_EQ(again.size(), ali_first.size() - ali_.client->unsubscriptions.size());
    bounce(local_);
    EXPECT_EQ(local_.client->subscriptions.back(), (std::pair<std::string, int>{"sensors/#", 1}));
}

// Dropped while the persistent local session is away: the broker still holds the filter and
// queues for it, so the next connection unsubscribes it.
TEST_F(BridgeTest, AFilterDroppedWhileAwayIsUnsubscribedOnReturn) {
    config_.routes = {route("sensors/#", "lab", "raw", "gw/{1}"), route("meters/#", "lab", "raw", "m/{1}")};
    build();
    local_.client->kick("local broker restarting");
    sched_.run_deferred();
    config_.routes.pop_back();
    bridge_.reset();
    bridge_ = std::make_unique<Bridge>(sched_, config_, outbox_, local_.session.get(),
                                       std::vector<Session*>{ali_.session.get(), lab_.session.get()}, buckets_);
    EXPECT_TRUE(local_.client->unsubscriptions.empty());
    for (int i = 0; i < 600 && !local_.client->connecting; ++i) sched_.advance(500ms);
    up(local_);
    EXPECT_EQ(local_.client->unsubscriptions, (std::vector<std::string>{"meters/#"}));
    EXPECT_EQ(local_.client->subscriptions.back(), (std::pair<std::string, int>{"sensors/#", 1}));
}

}  // namespace
}  // namespace cellgate::bridge
