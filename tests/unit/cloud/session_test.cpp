// The cloud session state machine against a scripted MQTT client and a clock that only moves when
// the test says so: every transition, the backoff policy as the broker sees it (attempt times), and
// the login-limit guarantee under pathological link flapping and Reconnect() spam.
#include "cloud/session.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <thread>

#include "cloud/platform.hpp"
#include "cloud/platform_profile.hpp"
#include "unit/support/fake_mqtt.hpp"
#include "unit/support/fake_scheduler.hpp"
#include "unit/support/test_device.hpp"

namespace cellgate::cloud {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using testing::FakeMqttClient;
using testing::FakeScheduler;

// The test device on a generic broker, on aliyun and on onenet.
CloudConfig lab_config() { return testing::test_session(Platform::generic, "lab"); }
CloudConfig ali_config() { return testing::test_session(Platform::aliyun, "ali"); }
CloudConfig onenet_config() { return testing::test_session(Platform::onenet, "onenet"); }

BackoffConfig example_backoff() {  // the `backoff:` block of etc/cellgate.yaml
    BackoffConfig b;
    b.initial = 1s;
    b.max = 120s;
    b.stable_after = 60s;
    return b;
}

class SessionTest : public ::testing::Test {
protected:
    void make(CloudConfig cfg = lab_config(), bool with_modem = false, uint32_t seed = 1) {
        auto fake = std::make_unique<FakeMqttClient>(sched);
        client = fake.get();
        session = std::make_unique<Session>(sched, std::move(cfg), example_backoff(), std::move(fake), with_modem, seed);
        session->on_change = [this](const SessionStatus& s) { changes.push_back(s); };
    }
    const SessionStatus& status() const { return session->status(); }
    SessionState state() const { return session->status().state; }
    size_t attempts() const { return client->attempts.size(); }
    Clock::time_point last_attempt() const { return client->attempts.back().at; }
    // Moves the clock until the session makes its next connect attempt; returns how long that took.
    milliseconds until_next_attempt(milliseconds limit = 10min) {
        const size_t before = attempts();
        const auto start = sched.now();
        for (auto waited = 0ms; waited < limit && attempts() == before; waited += 1ms) sched.advance(1ms);
        EXPECT_GT(attempts(), before) << "no attempt within " << limit.count() << " ms";
        return std::chrono::duration_cast<milliseconds>(sched.now() - start);
    }
    bool saw_state(SessionState s) const {
        return std::any_of(changes.begin(), changes.end(), [s](const auto& c) { return c.state == s; });
    }

    FakeScheduler sched;
    FakeMqttClient* client = nullptr;
    std::unique_ptr<Session> session;
    std::vector<SessionStatus> changes;
};

// --- start and connect ------------------------------------------------------------------------

TEST_F(SessionTest, IdleUntilStarted) {
    make();
    sched.advance(1min);
    EXPECT_EQ(state(), SessionState::idle);
    EXPECT_EQ(attempts(), 0u);
    EXPECT_EQ(status().name, "lab");
    EXPECT_EQ(status().platform, "generic");
    EXPECT_EQ(status().keepalive_s, 120u);
}

TEST_F(SessionTest, WithoutModemConnectsAtOnce) {
    make();
    session->start();
    ASSERT_EQ(attempts(), 1u);
    EXPECT_EQ(last_attempt(), sched.now());
    EXPECT_EQ(state(), SessionState::connecting);
    const ConnectParams& p = client->attempts[0].params;
    EXPECT_EQ(p.host, "broker.example");
    EXPECT_EQ(p.port, 8883);
    EXPECT_EQ(p.client_id, "lab-1");
    EXPECT_EQ(p.username, "gw");
    EXPECT_EQ(p.keepalive, 120s);
    EXPECT_EQ(status().endpoint, "broker.example:8883");
    EXPECT_EQ(status().client_id, "lab-1");
    EXPECT_EQ(status().keepalive_s, 120u);
    ASSERT_FALSE(changes.empty());
    EXPECT_EQ(changes.back().state, SessionState::connecting);
}

TEST_F(SessionTest, ConnackMakesItConnectedWithWallClockSince) {
    make();
    session->start();
    const auto before = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
    client->accept();
    const auto after = std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::system_clock::now().time_since_epoch()).count();
    EXPECT_EQ(state(), SessionState::connected);
    EXPECT_GE(status().connected_since_us, static_cast<uint64_t>(before));
    EXPECT_LE(status().connected_since_us, static_cast<uint64_t>(after));
    EXPECT_EQ(status().next_retry_in_s, 0u);
    EXPECT_EQ(status().reconnects, 0u);
    EXPECT_EQ(changes.back().state, SessionState::connected);
}

TEST_F(SessionTest, WithModemWaitsForTheLink) {
    make(lab_config(), true);
    session->start();
    EXPECT_EQ(state(), SessionState::waiting_link);
    sched.advance(10min);
    EXPECT_EQ(attempts(), 0u);
    session->link_changed(true);
    ASSERT_EQ(attempts(), 1u);
    EXPECT_EQ(last_attempt(), sched.now());
    EXPECT_EQ(state(), SessionState::connecting);
}

TEST_F(SessionTest, LinkAlreadyUpAtStartConnectsAtOnce) {
    make(lab_config(), true);
    session->link_changed(true);
    EXPECT_EQ(attempts(), 0u);
    session->start();
    EXPECT_EQ(attempts(), 1u);
    EXPECT_EQ(state(), SessionState::connecting);
}

TEST_F(SessionTest, WithoutModemLinkEventsAreIgnored) {
    make();
    session->start();
    client->accept();
    session->link_changed(false);
    EXPECT_EQ(state(), SessionState::connected);
    EXPECT_EQ(client->disconnects, 0);
}

TEST_F(SessionTest, OnChangeOnlyWhenTheStatusChanged) {
    make();
    session->start();
    client->accept();
    const size_t n = changes.size();
    client->on_connected();  // a second CONNACK is stale: nothing changes, nothing is published
    sched.advance(1s);
    EXPECT_EQ(changes.size(), n);
    for (size_t i = 1; i < changes.size(); ++i) EXPECT_NE(changes[i], changes[i - 1]) << i;
}

TEST_F(SessionTest, StateNamesAreTheBusValues) {
    EXPECT_STREQ(to_string(SessionState::idle), "idle");
    EXPECT_STREQ(to_string(SessionState::waiting_link), "waiting-link");
    EXPECT_STREQ(to_string(SessionState::connecting), "connecting");
    EXPECT_STREQ(to_string(SessionState::connected), "connected");
    EXPECT_STREQ(to_string(SessionState::backoff), "backoff");
    EXPECT_STREQ(to_string(SessionState::auth_failed), "auth-failed");
}

// --- failures and backoff ---------------------------------------------------------------------

TEST_F(SessionTest, TransportFailureBacksOffAndRetriesWhenNextRetryInSays) {
    make();
    session->start();
    client->fail("connection refused by 192.0.2.1:8883");
    EXPECT_EQ(state(), SessionState::backoff);
    EXPECT_EQ(status().last_disconnect_reason, "connection refused by 192.0.2.1:8883");
    EXPECT_EQ(status().reconnects, 0u);  // an attempt that never connected is not a reconnect
    const uint32_t announced = status().next_retry_in_s;
    EXPECT_GE(announced, 1u);  // the 1 s spacing floor, even if the jitter drew zero
    const milliseconds waited = until_next_attempt();
    EXPECT_GT(waited, milliseconds((announced - 1) * 1000));
    EXPECT_LE(waited, milliseconds(announced * 1000));
    EXPECT_EQ(state(), SessionState::connecting);
    EXPECT_EQ(status().next_retry_in_s, 0u);
}

TEST_F(SessionTest, RepeatedFailuresStayWithinTheGrowingCeiling) {
    make();
    session->start();
    for (int n = 0; n < 10; ++n) {
        client->fail("no route to host");
        const milliseconds ceiling = std::max<milliseconds>(1s, std::min<milliseconds>(120s, milliseconds(1000LL << n)));
        const milliseconds waited = until_next_attempt();
        EXPECT_LE(waited, ceiling + 1ms) << "failure " << n;
        EXPECT_GE(waited, 1s) << "failure " << n;
    }
}

TEST_F(SessionTest, ConnackRefusalIsAuthFailedWithThePlatformMeaningAndWaitsTheCap) {
    make(ali_config());
    session->start();
    client->refuse(4);
    EXPECT_EQ(state(), SessionState::auth_failed);
    EXPECT_THAT(status().last_disconnect_reason, HasSubstr(profile(Platform::aliyun).connack_meaning(4)));
    EXPECT_THAT(status().last_disconnect_reason, HasSubstr("CONNACK 4"));
    EXPECT_EQ(status().next_retry_in_s, 120u);
    sched.advance(119s);
    EXPECT_EQ(attempts(), 1u);
    EXPECT_EQ(state(), SessionState::auth_failed);
    sched.advance(1s);
    EXPECT_EQ(attempts(), 2u);
    // Still refused: the cap again, never the jittered schedule.
    client->refuse(5);
    EXPECT_EQ(state(), SessionState::auth_failed);
    EXPECT_THAT(status().last_disconnect_reason, HasSubstr(profile(Platform::aliyun).connack_meaning(5)));
    EXPECT_EQ(until_next_attempt(), 120s);
}

TEST_F(SessionTest, TransportFailureAfterARefusalDoesNotRestartAtOneSecond) {
    // The schedule stays at the cap after a refusal: over several seeds the next transport-failure
    // delay is drawn from [0, 120 s], so some must exceed the short end of the schedule.
    milliseconds longest = 0ms;
    for (uint32_t seed = 1; seed <= 10; ++seed) {
        changes.clear();
        make(lab_config(), false, seed);
        session->start();
        client->refuse(4);
        sched.advance(120s);
        client->fail("timeout");
        longest = std::max(longest, until_next_attempt());
    }
    EXPECT_GT(longest, 8s);
}

TEST_F(SessionTest, DisconnectBeforeConnackIsAFailedAttempt) {
    make();
    session->start();
    client->kick("connection reset by peer");
    EXPECT_EQ(state(), SessionState::backoff);
    EXPECT_EQ(status().reconnects, 0u);
    EXPECT_EQ(status().last_disconnect_reason, "connection reset by peer");
}

TEST_F(SessionTest, AttemptWithoutAnyAnswerTimesOut) {
    make();
    session->start();
    sched.advance(89s);
    EXPECT_EQ(state(), SessionState::connecting);
    sched.advance(1s);
    EXPECT_EQ(state(), SessionState::backoff);
    EXPECT_EQ(client->disconnects, 1);
    EXPECT_THAT(status().last_disconnect_reason, HasSubstr("no CONNACK"));
}

TEST_F(SessionTest, BrokerDisconnectCountsAReconnectAndBacksOff) {
    make();
    session->start();
    client->accept();
    sched.advance(5min);
    client->kick("keepalive timeout");
    EXPECT_EQ(state(), SessionState::backoff);
    EXPECT_EQ(status().reconnects, 1u);
    EXPECT_EQ(status().connected_since_us, 0u);
    EXPECT_EQ(status().last_disconnect_reason, "keepalive timeout");
    // Up for longer than stable_after: the schedule restarted, so the retry comes within 1 s.
    EXPECT_LE(until_next_attempt(), 1s);
}

TEST_F(SessionTest, KickLoopKeepsBackingOffAndNamesTheDuplicateClientId) {
    // Averaged over sessions, because single draws of full jitter are noisy: a schedule that was
    // reset at every CONNACK would keep the mean gap at 0.5 s.
    constexpr int kSessions = 40;
    constexpr int kKicks = 7;
    std::vector<double> mean_gap(kKicks, 0.0);
    for (uint32_t seed = 1; seed <= kSessions; ++seed) {
        changes.clear();
        make(lab_config(), false, seed);
        session->start();
        for (int k = 0; k < kKicks; ++k) {
            client->accept();
            sched.advance(2s);
            client->kick("connection closed by broker");
            EXPECT_EQ(state(), SessionState::backoff);
            if (k + 1 >= 3) {
                EXPECT_EQ(status().last_disconnect_reason,
                          "kicked shortly after connect " + std::to_string(k + 1) +
                              " times in a row: probably another device uses client id lab-1 (Kicked by the same device)");
            } else {
                EXPECT_EQ(status().last_disconnect_reason, "connection closed by broker");
            }
            const milliseconds ceiling = std::min<milliseconds>(120s, milliseconds(1000LL << k));
            const milliseconds gap = until_next_attempt();
            EXPECT_LE(gap, ceiling + 1ms) << "kick " << k;
            mean_gap[static_cast<size_t>(k)] += static_cast<double>(gap.count()) / kSessions;
        }
        EXPECT_EQ(status().reconnects, static_cast<uint32_t>(kKicks));
    }
    EXPECT_LT(mean_gap[0], 1000.0);
    EXPECT_GT(mean_gap[4], 4000.0);   // ceiling 16 s: mean about 8 s
    EXPECT_GT(mean_gap[6], 16000.0);  // ceiling 64 s: mean about 32 s
    EXPECT_GT(mean_gap[6], mean_gap[3]);
}

TEST_F(SessionTest, ALongSessionEndsTheDuplicateHint) {
    make();
    session->start();
    for (int k = 0; k < 2; ++k) {
        client->accept();
        sched.advance(1s);
        client->kick("closed");
        until_next_attempt();
    }
    client->accept();
    sched.advance(30s);  // not a kick: the streak ends
    client->kick("closed");
    EXPECT_EQ(status().last_disconnect_reason, "closed");
    until_next_attempt();
    client->accept();
    sched.advance(1s);
    client->kick("closed");
    EXPECT_EQ(status().last_disconnect_reason, "closed");
}

TEST_F(SessionTest, StableAfterResetsTheBackoffAndNothingShorterDoes) {
    // Grow the schedule to the cap, then stay up 59 s: the next delay still comes from [0, 120 s].
    milliseconds longest_after_59s = 0ms;
    for (uint32_t seed = 1; seed <= 10; ++seed) {
        changes.clear();
        make(lab_config(), false, seed);
        session->start();
        for (int i = 0; i < 8; ++i) {
            client->fail("unreachable");
            until_next_attempt();
        }
        client->accept();
        sched.advance(59s);
        client->kick("closed");
        longest_after_59s = std::max(longest_after_59s, until_next_attempt());

        // Now up for the full 60 s: back to [0, 1 s] (with the 1 s floor long satisfied).
        client->accept();
        sched.advance(60s);
        client->kick("closed");
        EXPECT_LE(until_next_attempt(), 1s) << "seed " << seed;
    }
    EXPECT_GT(longest_after_59s, 10s);
}

// --- link awareness ---------------------------------------------------------------------------

TEST_F(SessionTest, LinkLossDropsTheConnectionAtOnceAndWaits) {
    make(lab_config(), true);
    session->link_changed(true);
    session->start();
    client->accept();
    sched.advance(30s);
    session->link_changed(false);
    EXPECT_EQ(state(), SessionState::waiting_link);
    EXPECT_EQ(client->disconnects, 1);
    EXPECT_EQ(status().last_disconnect_reason, "modem data link lost");
    EXPECT_EQ(status().connected_since_us, 0u);
    EXPECT_EQ(status().reconnects, 1u);
    EXPECT_EQ(status().next_retry_in_s, 0u);
    sched.advance(30min);
    EXPECT_EQ(attempts(), 1u);
    EXPECT_EQ(sched.armed_timers(), 0u);
    // Back: connect at once, no backoff wait.
    session->link_changed(true);
    EXPECT_EQ(attempts(), 2u);
    EXPECT_EQ(last_attempt(), sched.now());
    EXPECT_EQ(state(), SessionState::connecting);
}

TEST_F(SessionTest, LinkLossWhileConnectingAbandonsTheAttempt) {
    make(lab_config(), true);
    session->link_changed(true);
    session->start();
    session->link_changed(false);
    EXPECT_EQ(state(), SessionState::waiting_link);
    EXPECT_EQ(client->disconnects, 1);
    EXPECT_EQ(status().reconnects, 0u);
    // The abandoned attempt's late answer changes nothing.
    client->fail("late failure");
    client->on_connected();
    EXPECT_EQ(state(), SessionState::waiting_link);
    EXPECT_EQ(sched.armed_timers(), 0u);
}

TEST_F(SessionTest, LinkLossDuringBackoffCancelsTheRetry) {
    make(lab_config(), true);
    session->link_changed(true);
    session->start();
    client->fail("unreachable");
    ASSERT_EQ(state(), SessionState::backoff);
    session->link_changed(false);
    EXPECT_EQ(state(), SessionState::waiting_link);
    EXPECT_EQ(status().next_retry_in_s, 0u);
    sched.advance(1h);
    EXPECT_EQ(attempts(), 1u);
}

TEST_F(SessionTest, LinkUpSkipsTheBackoffButKeepsTheSpacing) {
    make(lab_config(), true);
    session->link_changed(true);
    session->start();
    const auto first = last_attempt();
    client->fail("unreachable");
    sched.advance(100ms);
    session->link_changed(false);
    sched.advance(100ms);
    session->link_changed(true);
    EXPECT_EQ(state(), SessionState::backoff);
    EXPECT_EQ(status().next_retry_in_s, 1u);
    until_next_attempt();
    EXPECT_EQ(last_attempt() - first, 1s);
}

TEST_F(SessionTest, LinkUpAfterARefusalKeepsTheRefusalWait) {
    make(lab_config(), true);
    session->link_changed(true);
    session->start();
    client->refuse(4);
    sched.advance(10s);
    session->link_changed(false);
    sched.advance(10s);
    session->link_changed(true);
    EXPECT_EQ(state(), SessionState::auth_failed);
    EXPECT_EQ(status().next_retry_in_s, 100u);
    EXPECT_EQ(until_next_attempt(), 100s);
}

// --- Reconnect() ------------------------------------------------------------------------------

TEST_F(SessionTest, ReconnectDropsAndConnectsNow) {
    make();
    session->start();
    client->accept();
    sched.advance(5s);
    session->reconnect();
    EXPECT_EQ(client->disconnects, 1);
    EXPECT_EQ(attempts(), 2u);
    EXPECT_EQ(last_attempt(), sched.now());
    EXPECT_EQ(state(), SessionState::connecting);
    EXPECT_EQ(status().reconnects, 1u);
    EXPECT_EQ(status().last_disconnect_reason, "Reconnect() requested");
}

TEST_F(SessionTest, ReconnectRespectsTheSpacing) {
    make();
    session->start();
    client->accept();
    sched.advance(300ms);
    session->reconnect();
    EXPECT_EQ(attempts(), 1u);
    EXPECT_EQ(state(), SessionState::backoff);
    EXPECT_EQ(until_next_attempt(), 700ms);
}

TEST_F(SessionTest, ReconnectSkipsAnAuthWaitButNotTheLink) {
    make(lab_config(), true);
    session->start();
    session->reconnect();  // no link: nothing to connect over
    EXPECT_EQ(attempts(), 0u);
    EXPECT_EQ(state(), SessionState::waiting_link);
    session->link_changed(true);
    client->refuse(5);
    sched.advance(3s);
    session->reconnect();  // the operator fixed the credentials: try now
    EXPECT_EQ(attempts(), 2u);
}

// --- the login limit --------------------------------------------------------------------------

// The largest number of attempts in any window [t, t + 5 s).
long busiest_five_seconds(const std::vector<FakeMqttClient::Attempt>& attempts) {
    long worst = 0;
    for (size_t i = 0; i < attempts.size(); ++i) {
        const auto n = std::count_if(attempts.begin() + static_cast<std::ptrdiff_t>(i), attempts.end(),
                                     [&](const auto& a) { return a.at < attempts[i].at + 5s; });
        worst = std::max<long>(worst, n);
    }
    return worst;
}

// Link flapping every 100 ms, Reconnect() every 100 ms in between, and a broker that fails every
// attempt at once or accepts and kicks it at once: the worst a session can be pushed.
void torture(FakeScheduler& sched, Session& session, FakeMqttClient& client) {
    int n = 0;
    client.on_connect_attempt = [&] {
        switch (n++ % 3) {
            case 0: client.fail("connection refused"); break;
            case 1:
                client.accept();
                client.kick("kicked");
                break;
            default: break;  // answered by the next flap
        }
    };
    session.link_changed(true);
    session.start();
    bool up = true;
    for (auto t = 0ms; t < 60s; t += 50ms) {
        if ((t.count() / 50) % 2 == 0) {
            up = !up;
            session.link_changed(up);
        } else {
            session.reconnect();
        }
        sched.advance(50ms);
    }
}

TEST_F(SessionTest, OneNetLoginLimitIsUnreachableUnderFlappingAndReconnectSpam) {
    make(onenet_config(), true);
    torture(sched, *session, *client);
    EXPECT_GE(attempts(), 20u);  // the torture did drive attempts
    // OneNET bans at 10 per 5 s; its Studio page says 3. OneNET sessions keep 2 s: at most 3.
    EXPECT_LE(busiest_five_seconds(client->attempts), 3);
}

TEST_F(SessionTest, GenericLoginRateStaysAtFivePerFiveSeconds) {
    make(lab_config(), true);
    torture(sched, *session, *client);
    EXPECT_GE(attempts(), 40u);
    EXPECT_LE(busiest_five_seconds(client->attempts), 5);
    for (size_t i = 1; i < client->attempts.size(); ++i)
        EXPECT_GE(client->attempts[i].at - client->attempts[i - 1].at, 1s) << i;
}

TEST_F(SessionTest, InstantFailuresAloneNeverStorm) {
    make();
    client->on_connect_attempt = [this] { client->fail("network unreachable"); };
    session->start();
    sched.advance(60s);
    EXPECT_LE(busiest_five_seconds(client->attempts), 5);
    EXPECT_LE(attempts(), 10u);  // 1, 2, 4, 8, 16, 32 s ceilings: a handful in a minute
}

// --- credentials --------------------------------------------------------------------------------

std::string timestamp_in(const std::string& client_id) {
    const auto at = client_id.find("timestamp=");
    if (at == std::string::npos) return {};
    const auto begin = at + 10;
    return client_id.substr(begin, client_id.find_first_of(",|", begin) - begin);
}

TEST_F(SessionTest, FreshAliyunCredentialsForEveryAttempt) {
    make(ali_config());
    session->start();
    client->fail("timeout");
    // The signature covers wall-clock milliseconds; make sure the wall clock moved as well.
    std::this_thread::sleep_for(5ms);
    until_next_attempt();
    ASSERT_EQ(attempts(), 2u);
    const ConnectParams& a = client->attempts[0].params;
    const ConnectParams& b = client->attempts[1].params;
    const std::string ta = timestamp_in(a.client_id), tb = timestamp_in(b.client_id);
    ASSERT_FALSE(ta.empty()) << a.client_id;
    ASSERT_FALSE(tb.empty()) << b.client_id;
    EXPECT_NE(ta, tb);
    EXPECT_LT(std::stoll(ta), std::stoll(tb));
    EXPECT_NE(a.password, b.password);
    EXPECT_EQ(a.username, "gw-001&a1B2c3D4e5F");
    // Signed with the current wall clock, not the loop's monotonic time.
    const auto now_ms = std::chrono::duration_cast<milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
    EXPECT_NEAR(static_cast<double>(std::stoll(tb)), static_cast<double>(now_ms), 60000.0);
    EXPECT_EQ(status().client_id, b.client_id);
}

TEST_F(SessionTest, SecretsStayOutOfTheStatus) {
    make(ali_config());
    session->start();
    client->refuse(4);
    for (const auto& s : changes) {
        for (const std::string* field : {&s.endpoint, &s.client_id, &s.last_disconnect_reason, &s.name})
            EXPECT_EQ(field->find(testing::kAliyunSecret), std::string::npos) << *field;
        EXPECT_EQ(s.last_disconnect_reason.find(client->attempts[0].params.password), std::string::npos);
    }
}

// --- traffic counters ---------------------------------------------------------------------------

TEST_F(SessionTest, PublishOnlyWhenConnectedAndCounted) {
    make();
    session->start();
    EXPECT_EQ(session->publish("gw/telemetry", "{}", 1), -1);
    client->accept();
    const int mid = session->publish("gw/telemetry", "{\"t\":21.5}", 1);
    EXPECT_GE(mid, 0);
    EXPECT_EQ(status().published, 1u);
    ASSERT_EQ(client->publications.size(), 1u);
    EXPECT_EQ(client->publications[0].topic, "gw/telemetry");
    EXPECT_FALSE(client->publications[0].retain);
    std::vector<int> acked;
    session->on_published = [&](int m) { acked.push_back(m); };
    client->acked(mid);
    EXPECT_EQ(acked, std::vector<int>{mid});
}

TEST_F(SessionTest, PublishRefusesAQosThePlatformDoesNotTake) {
    make(ali_config());
    session->start();
    client->accept();
    EXPECT_EQ(session->publish("/a1B2c3D4e5F/gw-001/user/update", "x", 2), -1);
    EXPECT_EQ(status().published, 0u);
    EXPECT_GE(session->publish("/a1B2c3D4e5F/gw-001/user/update", "x", 1), 0);
}

TEST_F(SessionTest, ReceivedAndPingsAreCountedAndABurstIsOneChange) {
    make();
    std::vector<std::string> topics;
    session->on_message = [&](const std::string& topic, const std::string&) { topics.push_back(topic); };
    session->start();
    client->accept();
    const size_t before = changes.size();
    for (int i = 0; i < 10; ++i) client->deliver("gw/cmd", "reboot?");
    client->ping();
    EXPECT_EQ(status().received, 10u);
    EXPECT_EQ(status().pings, 1u);
    EXPECT_EQ(topics.size(), 10u);
    EXPECT_EQ(changes.size(), before);  // not yet: coalesced on the loop
    sched.run_deferred();
    ASSERT_EQ(changes.size(), before + 1);
    EXPECT_EQ(changes.back().received, 10u);
    EXPECT_EQ(changes.back().pings, 1u);
}

// --- robustness --------------------------------------------------------------------------------

TEST_F(SessionTest, ThrowingObserversDoNotEscapeIntoTheClient) {
    make();
    session->on_change = [](const SessionStatus&) { throw std::runtime_error("observer bug"); };
    session->on_message = [](const std::string&, const std::string&) { throw std::runtime_error("handler bug"); };
    session->start();
    EXPECT_NO_THROW(client->accept());
    EXPECT_EQ(state(), SessionState::connected);
    EXPECT_NO_THROW(client->deliver("t", "p"));
    EXPECT_NO_THROW(sched.run_deferred());
    EXPECT_NO_THROW(client->kick("closed"));
    EXPECT_EQ(state(), SessionState::backoff);
}

TEST_F(SessionTest, DestroyedWithWorkPendingIsSafe) {
    make();
    session->start();
    client->accept();
    client->deliver("t", "p");  // a deferred notification is queued
    session.reset();
    EXPECT_NO_THROW(sched.run_deferred());
    sched.advance(10min);
}

// --- pause (the bridge's outbox cannot store what the local broker would send) ------------------

TEST_F(SessionTest, PauseClosesAndStaysIdleUntilResume) {
    make();
    session->start();
    client->accept();
    session->pause("the outbox cannot take messages");
    EXPECT_EQ(state(), SessionState::idle);
    EXPECT_FALSE(client->connected);
    EXPECT_EQ(client->disconnects, 1);
    EXPECT_THAT(status().last_disconnect_reason, HasSubstr("the outbox cannot take messages"));
    EXPECT_TRUE(session->paused());
    session->reconnect();
    sched.advance(10min);
    EXPECT_EQ(attempts(), 1u) << "nothing connects while paused";
    session->resume("room again");
    EXPECT_FALSE(session->paused());
    EXPECT_EQ(state(), SessionState::connecting);
    EXPECT_EQ(attempts(), 2u);
}

TEST_F(SessionTest, PausedInBackoffCancelsTheRetry) {
    make();
    session->start();
    client->fail("connection refused");
    ASSERT_EQ(state(), SessionState::backoff);
    session->pause("the outbox cannot take messages");
    EXPECT_EQ(state(), SessionState::idle);
    EXPECT_EQ(status().next_retry_in_s, 0u);
    sched.advance(10min);
    EXPECT_EQ(attempts(), 1u);
}

}  // namespace
}  // namespace cellgate::cloud
