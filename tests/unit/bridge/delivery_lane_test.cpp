// One session's DeliveryLane over a real Session and a scripted MQTT client, wired the way the
// Bridge wires it, with an in-memory outbox and a clock that moves only when the test says: order
// within the in-flight window, PUBACK -> row, pacing by the session's token bucket, resend after a
// lost connection, the PUBACK deadline, reused message ids, reply counting and the poison probe
// (the probe's own edges are in poison_probe_test.cpp).
#include "bridge/delivery_lane.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>

#include "cloud/payload.hpp"
#include "cloud/platform.hpp"
#include "unit/bridge/bridge_fixture.hpp"

namespace cellgate::bridge {
namespace {

using namespace cellgate::cloud;
using namespace cellgate::bridge::testing;

class DeliveryLaneTest : public BridgeFixture {
protected:
    ~DeliveryLaneTest() override {
        if (!peer_.session) return;
        auto& s = *peer_.session;
        s.on_connected = nullptr;
        s.on_disconnected = nullptr;
        s.on_published = nullptr;
        s.on_message = nullptr;
    }

    // A lane over a session of `c`, paced by `limit` (the platform's default without one).
    void build(const CloudConfig& c, DeliveryTuning tuning = {}, std::optional<RateLimit> limit = std::nullopt) {
        peer_ = make(c);
        bucket_.emplace(limit.value_or(default_rate_limit(c.platform)), sched_.now());
        lane_ = std::make_unique<DeliveryLane>(sched_, outbox_, *peer_.session, *bucket_, tuning);
        lane_->on_change = [this] { ++changes_; };
        auto& s = *peer_.session;
        s.on_connected = [this] { lane_->on_connected(); };
        s.on_disconnected = [this] { lane_->on_disconnected(); };
        s.on_published = [this](int mid) { lane_->on_published(mid); };
        s.on_message = [this](const std::string& topic, const std::string& payload) {
            if (auto reply = parse_uplink_reply(lane_->platform(), topic, payload)) lane_->on_reply(*reply);
        };
        outbox_.on_available = [this](const std::string& name) {
            if (name == lane_->name()) lane_->on_available();
        };
        s.start();
        sched_.run_deferred();
    }

    Peer peer_;
    std::optional<TokenBucket> bucket_;
    std::unique_ptr<DeliveryLane> lane_;
    int changes_ = 0;
};

// ---- order, window, pacing ----

TEST_F(DeliveryLaneTest, DeliversInOrderWithinTheInFlightWindow) {
    outbox_.seed("lab", 10);
    DeliveryTuning t;
    t.window = 4;
    build(lab_config(), t);
    EXPECT_TRUE(peer_.client->publications.empty());  // not connected: nothing sent
    up(peer_);
    EXPECT_EQ(published_topics(peer_), (std::vector<std::string>{"gw/1", "gw/2", "gw/3", "gw/4"}));
    EXPECT_EQ(published_payloads(peer_)[0], "p1");  // raw passes through
    peer_.client->acked(2);  // mids count from 1 per client; the first publish got mid 1
    sched_.run_deferred();
    EXPECT_EQ(peer_.client->publications.size(), 5u);
    EXPECT_EQ(peer_.client->publications.back().topic, "gw/5");
    EXPECT_EQ(outbox_.acked, (std::vector<uint64_t>{2}));
    for (int mid = 1; mid <= 20; ++mid) peer_.client->acked(mid);
    sched_.run_deferred();
    EXPECT_EQ(peer_.client->publications.size(), 10u);
    EXPECT_EQ(outbox_.acked.size(), 10u);
    EXPECT_EQ(lane_->status().queued, 0u);
}

TEST_F(DeliveryLaneTest, PubackAcknowledgesTheRowItsMessageIdBelongsTo) {
    outbox_.seed("lab", 3);
    build(lab_config());
    up(peer_);
    ASSERT_EQ(peer_.client->publications.size(), 3u);
    // mids 1..3 went to rows 1..3; out-of-order acks and unknown mids.
    peer_.client->acked(3);
    peer_.client->acked(99);
    peer_.client->acked(1);
    peer_.client->acked(3);
    EXPECT_EQ(outbox_.acked, (std::vector<uint64_t>{3, 1}));
}

TEST_F(DeliveryLaneTest, PropertyPostsAreWrappedAtSendTime) {
    build(ali_config());
    OutboxMessage m;
    m.session = "ali";
    m.topic = kAliPost;
    m.format = "property";
    m.payload = R"({"temp":21.5})";
    m.created_ms = 1'700'000'000'000;
    outbox_.enqueue(std::move(m), [](auto) {});
    outbox_.commit();
    EXPECT_TRUE(peer_.client->publications.empty());
    up(peer_);
    ASSERT_EQ(peer_.client->publications.size(), 1u);
    const auto& row = outbox_.rows.at(1);
    EXPECT_EQ(peer_.client->publications[0].topic, kAliPost);
    EXPECT_EQ(peer_.client->publications[0].payload,
              wrap_uplink(Platform::aliyun, UplinkFormat{UplinkKind::property, ""}, row.payload, 1, row.created_ms));
    EXPECT_EQ(peer_.client->publications[0].qos, 1);
}

TEST_F(DeliveryLaneTest, DrainIsPacedByTheSessionRateLimit) {
    outbox_.seed("ali", 5, "property");
    build(ali_config(), {}, RateLimit{2, 1});
    up(peer_);
    EXPECT_EQ(peer_.client->publications.size(), 1u);
    sched_.advance(499ms);
    EXPECT_EQ(peer_.client->publications.size(), 1u);
    sched_.advance(1ms);
    EXPECT_EQ(peer_.client->publications.size(), 2u);
    sched_.advance(1500ms);
    EXPECT_EQ(peer_.client->publications.size(), 5u);
    sched_.advance(10s);
    EXPECT_EQ(peer_.client->publications.size(), 5u);
}

TEST_F(DeliveryLaneTest, TheDefaultRateLimitOfAliyunHoldsItsCeiling) {
    outbox_.seed("ali", 200, "property");
    DeliveryTuning t;
    t.window = 1000;
    build(ali_config(), t);
    up(peer_);
    // Any one-second window: at most burst + rate = 25, under Aliyun's 30.
    EXPECT_LE(peer_.client->publications.size(), 25u);
    sched_.advance(1s);
    EXPECT_LE(peer_.client->publications.size(), 45u);
    sched_.advance(9s);
    EXPECT_EQ(peer_.client->publications.size(), 200u);
}

// ---- lost connections ----

TEST_F(DeliveryLaneTest, InFlightPublishesAreResentOldestFirstAfterALostConnection) {
    outbox_.seed("lab", 5);
    outbox_.keep_acknowledged_rows = true;  // deletes still on their way to the disk
    DeliveryTuning t;
    t.window = 3;
    build(lab_config(), t);
    up(peer_);
    ASSERT_EQ(published_topics(peer_), (std::vector<std::string>{"gw/1", "gw/2", "gw/3"}));
    peer_.client->acked(2);  // row 2 is delivered; 1 and 3 are lost with the connection
    sched_.run_deferred();
    ASSERT_EQ(peer_.client->publications.size(), 4u);  // row 4 took the free slot
    peer_.client->publications.clear();
    bounce(peer_);
    EXPECT_EQ(published_topics(peer_), (std::vector<std::string>{"gw/1", "gw/3", "gw/4"}));
    // The new connection's mids map to the resent rows.
    const int first = peer_.client->next_mid - 3;
    peer_.client->acked(first);
    peer_.client->acked(first + 1);
    sched_.run_deferred();
    EXPECT_EQ(published_topics(peer_), (std::vector<std::string>{"gw/1", "gw/3", "gw/4", "gw/5"}));
    EXPECT_EQ(outbox_.acked, (std::vector<uint64_t>{2, 1, 3}));
}

TEST_F(DeliveryLaneTest, ALostConnectionDuringResendKeepsEveryUnacknowledgedRow) {
    outbox_.seed("lab", 4);
    DeliveryTuning t;
    t.window = 2;
    build(lab_config(), t);
    up(peer_);
    peer_.client->publications.clear();
    bounce(peer_);  // rows 1 and 2 pending again
    peer_.client->publications.clear();
    bounce(peer_);  // and again, before any PUBACK
    EXPECT_EQ(published_topics(peer_), (std::vector<std::string>{"gw/1", "gw/2"}));
    EXPECT_TRUE(outbox_.acked.empty());
}

// The PUBACKs were lost with the connection, the platform had answered: the posts go again and
// are answered again, and each counts once.
TEST_F(DeliveryLaneTest, AReplyToAResentPostCountsOnce) {
    outbox_.seed("ali", 2, "property");
    build(ali_config());
    up(peer_);
    ASSERT_EQ(peer_.client->publications.size(), 2u);
    peer_.client->deliver(kAliPostReply, R"({"code":200,"id":"1"})");
    peer_.client->deliver(kAliPostReply, R"({"code":6207,"id":"2","message":"bad"})");
    bounce(peer_);
    ASSERT_EQ(peer_.client->publications.size(), 4u);  // both resent
    peer_.client->deliver(kAliPostReply, R"({"code":200,"id":"1"})");
    peer_.client->deliver(kAliPostReply, R"({"code":6207,"id":"2","message":"bad"})");
    sched_.run_deferred();
    EXPECT_EQ(lane_->status().accepted, 1u);
    EXPECT_EQ(lane_->status().rejected, 1u);
}

// A broker that answers PINGREQs but lost a publish: its window slot would be gone for as long
// as the connection lives. After puback_timeout the session connects again and resends it.
TEST_F(DeliveryLaneTest, APublishNeverAcknowledgedMakesTheSessionConnectAgain) {
    outbox_.seed("lab", 2);
    DeliveryTuning t;
    t.puback_timeout = 30s;
    build(lab_config(), t);
    up(peer_);
    ASSERT_EQ(peer_.client->publications.size(), 2u);
    const int first_mid = peer_.client->next_mid - 1;  // the second publish; the first stays lost
    peer_.client->acked(first_mid);
    const size_t attempts = peer_.client->attempts.size();
    sched_.advance(29s);
    EXPECT_EQ(peer_.client->attempts.size(), attempts);
    sched_.advance(1s);
    EXPECT_EQ(peer_.client->disconnects, 1);
    for (int i = 0; i < 20 && peer_.client->attempts.size() == attempts; ++i) sched_.advance(500ms);
    ASSERT_GT(peer_.client->attempts.size(), attempts);
    EXPECT_NE(peer_.session->status().last_disconnect_reason.find("no PUBACK for message 1"), std::string::npos)
        << peer_.session->status().last_disconnect_reason;
    up(peer_);
    ASSERT_EQ(peer_.client->publications.size(), 3u);
    EXPECT_EQ(peer_.client->publications[2].payload, "p1");  // only the lost one again
}

// 65 535 publishes after a lost one, the client hands out its message id again: the old row can
// no longer be acknowledged, so the session connects again and sends it again, not forgets it.
TEST_F(DeliveryLaneTest, AReusedMessageIdSendsTheOlderRowAgain) {
    outbox_.seed("lab", 2);
    build(lab_config());
    up(peer_);
    ASSERT_EQ(peer_.client->publications.size(), 2u);
    const int lost_mid = peer_.client->next_mid - 2;  // row 1's, never acknowledged
    peer_.client->acked(peer_.client->next_mid - 1);
    peer_.client->next_mid = lost_mid;  // the id counter came round
    outbox_.seed("lab", 1);
    outbox_.on_available("lab");
    sched_.run_deferred();
    ASSERT_EQ(peer_.client->publications.size(), 3u);
    EXPECT_EQ(peer_.client->disconnects, 0);
    sched_.advance(1ms);
    EXPECT_EQ(peer_.client->disconnects, 1) << "the reused id must make the session connect again";
    for (int i = 0; i < 20 && !peer_.client->connecting; ++i) sched_.advance(500ms);
    up(peer_);
    ASSERT_EQ(peer_.client->publications.size(), 5u);
    EXPECT_EQ(peer_.client->publications[3].payload, "p1");
    EXPECT_EQ(peer_.client->publications[4].payload, "p3");
}

// ---- rows that cannot be sent ----

// A broker that closes the connection for one row (AWS IoT, for a topic the policy denies): that
// row would go first on every connection for ever. After poison_strikes such connections in a
// row, the next one holds it back; that connection lives, so the row is dropped and counted, and
// the rows behind it flow.
TEST_F(DeliveryLaneTest, ARowTheBrokerKeepsClosingTheConnectionForIsDropped) {
    outbox_.seed("lab", 3);
    DeliveryTuning t;
    t.window = 1;
    build(lab_config(), t);
    up(peer_);
    for (unsigned i = 0; i < t.poison_strikes; ++i) {
        ASSERT_EQ(peer_.client->publications.back().payload, "p1");
        sched_.advance(100ms);
        bounce(peer_);
    }
    EXPECT_EQ(peer_.client->publications.back().payload, "p2");  // p1 held back
    EXPECT_EQ(lane_->status().dropped, 0u);
    sched_.advance(t.poison_window);
    EXPECT_EQ(lane_->status().dropped, 1u);
    EXPECT_EQ(outbox_.dropped_rows, (std::vector<uint64_t>{1}));  // dropped, not acknowledged
    EXPECT_EQ(std::count(outbox_.acked.begin(), outbox_.acked.end(), 1u), 0);
    bounce(peer_);  // p1 is gone for good: p2 (unacknowledged) goes first
    EXPECT_EQ(peer_.client->publications.back().payload, "p2");
}

// A broker in a crash loop closes every connection, with or without the row: the row held back
// was innocent, is not dropped, and goes first again.
TEST_F(DeliveryLaneTest, ABrokerThatDiesAnywayDropsNothing) {
    outbox_.seed("lab", 3);
    DeliveryTuning t;
    t.window = 1;
    build(lab_config(), t);
    up(peer_);
    for (unsigned i = 0; i < t.poison_strikes; ++i) {
        sched_.advance(100ms);
        bounce(peer_);
    }
    ASSERT_EQ(peer_.client->publications.back().payload, "p2");  // the probe
    sched_.advance(100ms);
    bounce(peer_);  // died without p1 too
    EXPECT_EQ(peer_.client->publications.back().payload, "p1");
    sched_.advance(t.poison_window * 2);
    EXPECT_EQ(lane_->status().dropped, 0u);
    EXPECT_TRUE(outbox_.dropped_rows.empty());
    EXPECT_TRUE(std::find(outbox_.acked.begin(), outbox_.acked.end(), 1u) == outbox_.acked.end());
}

// A link that keeps failing is not a poison row: connections that lasted longer than the
// window, or that a row's PUBACK came through on, never drop anything.
TEST_F(DeliveryLaneTest, ConnectionsThatLastedAWhileDropNothing) {
    outbox_.seed("lab", 3);
    DeliveryTuning t;
    t.window = 1;
    build(lab_config(), t);
    up(peer_);
    for (unsigned i = 0; i < 2 * t.poison_strikes; ++i) {
        sched_.advance(t.poison_window);
        bounce(peer_);
    }
    EXPECT_EQ(peer_.client->publications.back().payload, "p1");
    EXPECT_EQ(lane_->status().dropped, 0u);
}

// Rows accepted under another configuration (before a reload): what the platform would refuse
// now is dropped at sending, not sent.
TEST_F(DeliveryLaneTest, ARowThePlatformWouldRefuseNowIsDroppedAtSending) {
    outbox_.seed("ali", 2, "property");
    outbox_.rows.begin()->second.topic = "/" + std::string(200, 'x');
    build(ali_config());
    up(peer_);
    ASSERT_EQ(peer_.client->publications.size(), 1u);
    EXPECT_EQ(peer_.client->publications[0].topic, outbox_.rows.rbegin()->second.topic);
    EXPECT_EQ(lane_->status().dropped, 1u);
    EXPECT_EQ(outbox_.dropped_rows, (std::vector<uint64_t>{1}));
    EXPECT_TRUE(outbox_.acked.empty());
}


// ---- counters ----

TEST_F(DeliveryLaneTest, StatusAddsTheOutboxsCountersToTheLanesOwn) {
    outbox_.seed("lab", 3);
    build(lab_config());
    lane_->count_invalid();
    lane_->count_dropped();
    EXPECT_EQ(changes_, 2);
    outbox_.drop_oldest("lab", 2);
    const auto s = lane_->status();
    EXPECT_EQ(s.queued, 1u);
    EXPECT_EQ(s.dropped, 3u);
    EXPECT_EQ(s.invalid, 1u);
}

TEST_F(DeliveryLaneTest, RepliesCountOnceAndOnlyForOurPosts) {
    outbox_.seed("ali", 2, "property");
    build(ali_config());
    up(peer_);
    ASSERT_EQ(peer_.client->publications.size(), 2u);
    lane_->on_reply(UplinkReply{1, true, "200", ""});
    lane_->on_reply(UplinkReply{1, true, "200", ""});          // again
    lane_->on_reply(UplinkReply{2, false, "6207", "bad"});
    lane_->on_reply(UplinkReply{777, true, "200", ""});        // not ours
    const auto s = lane_->status();
    EXPECT_EQ(s.accepted, 1u);
    EXPECT_EQ(s.rejected, 1u);
    EXPECT_EQ(s.last_rejection, "6207 bad");
    EXPECT_EQ(changes_, 2);
}

// A raw message is no post: the platform does not answer it, so nothing is remembered for it.
TEST_F(DeliveryLaneTest, RawMessagesAreNotMatchedToReplies) {
    outbox_.seed("ali", 1);
    build(ali_config());
    up(peer_);
    ASSERT_EQ(peer_.client->publications.size(), 1u);
    lane_->on_reply(UplinkReply{1, true, "200", ""});
    EXPECT_EQ(lane_->status().accepted, 0u);
}

// An answer to a cloud request goes out at once but takes its token: the rows behind it wait.
TEST_F(DeliveryLaneTest, ChargeTakesATokenFromTheSessionsBucket) {
    outbox_.seed("ali", 1, "property");
    build(ali_config(), {}, RateLimit{2, 1});
    lane_->charge();
    up(peer_);
    EXPECT_TRUE(peer_.client->publications.empty());
    sched_.advance(500ms);
    EXPECT_EQ(peer_.client->publications.size(), 1u);
}

}  // namespace
}  // namespace cellgate::bridge
