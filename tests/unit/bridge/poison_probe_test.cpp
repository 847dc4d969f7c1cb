// The poison-row probe on its own, edge by edge, with a clock that moves only when the test says.
// The lane's use of it (what is held back, what is resent) is in delivery_lane_test.cpp.
#include "bridge/poison_probe.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "unit/support/fake_scheduler.hpp"

namespace cellgate::bridge {
namespace {

using namespace std::chrono_literals;
using cellgate::testing::FakeScheduler;

constexpr unsigned kStrikes = 3;
constexpr milliseconds kWindow = 3000ms;

class PoisonProbeTest : public ::testing::Test {
protected:
    // Row `id` went out `ago` before the connection ended (the broker's doing).
    void lost_after(uint64_t id, milliseconds ago) {
        const auto sent = sched_.now();
        sched_.advance(ago);
        probe_.connection_lost(PoisonProbe::Sent{id, sent}, false);
    }

    // kStrikes connections in a row ended right after row `id`.
    void strike_out(uint64_t id) {
        for (unsigned i = 0; i < kStrikes; ++i) lost_after(id, 100ms);
    }

    FakeScheduler sched_;
    std::vector<uint64_t> guilty_;
    PoisonProbe probe_{sched_, "lab", kStrikes, kWindow, [this](uint64_t row) { guilty_.push_back(row); }};
};

TEST(ProbeState, Names) {
    EXPECT_STREQ(to_string(ProbeState::none), "none");
    EXPECT_STREQ(to_string(ProbeState::suspect), "suspect");
    EXPECT_STREQ(to_string(ProbeState::held_back), "held-back");
    EXPECT_STREQ(to_string(ProbeState::probing), "probing");
}

TEST_F(PoisonProbeTest, StrikesCountConnectionsThatEndedRightAfterTheSameRow) {
    EXPECT_EQ(probe_.state(), ProbeState::none);
    lost_after(7, 100ms);
    EXPECT_EQ(probe_.state(), ProbeState::suspect);
    EXPECT_EQ(probe_.suspect(), 7u);
    EXPECT_EQ(probe_.strikes(), 1u);
    EXPECT_EQ(probe_.held_back(), 0u);  // a suspect is still sent
    lost_after(7, 100ms);
    EXPECT_EQ(probe_.strikes(), 2u);
    // Another row: the count starts again.
    lost_after(8, 100ms);
    EXPECT_EQ(probe_.suspect(), 8u);
    EXPECT_EQ(probe_.strikes(), 1u);
}

TEST_F(PoisonProbeTest, TheLastStrikeHoldsTheRowBack) {
    strike_out(7);
    EXPECT_EQ(probe_.state(), ProbeState::held_back);
    EXPECT_EQ(probe_.held_back(), 7u);
    EXPECT_EQ(probe_.strikes(), kStrikes);
}

TEST_F(PoisonProbeTest, AConnectionThatLivesTheWindowWithoutTheRowConvictsIt) {
    strike_out(7);
    sched_.advance(10s);  // however long the reconnect takes
    EXPECT_TRUE(guilty_.empty());
    probe_.connected();
    EXPECT_EQ(probe_.state(), ProbeState::probing);
    EXPECT_EQ(probe_.held_back(), 7u);
    sched_.advance(kWindow - 1ms);
    EXPECT_TRUE(guilty_.empty());
    sched_.advance(1ms);
    EXPECT_EQ(guilty_, (std::vector<uint64_t>{7}));
    EXPECT_EQ(probe_.state(), ProbeState::none);
    EXPECT_EQ(probe_.held_back(), 0u);
    EXPECT_EQ(probe_.strikes(), 0u);
}

TEST_F(PoisonProbeTest, AConnectionThatDiesWithoutTheRowClearsIt) {
    strike_out(7);
    probe_.connected();
    sched_.advance(kWindow / 2);
    probe_.connection_lost(std::nullopt, false);
    EXPECT_EQ(probe_.state(), ProbeState::none);
    EXPECT_EQ(probe_.held_back(), 0u);
    sched_.advance(kWindow * 2);
    EXPECT_TRUE(guilty_.empty());
    // And it starts from nothing again.
    lost_after(7, 100ms);
    EXPECT_EQ(probe_.strikes(), 1u);
}

// Even a connection lost right after another row while the suspect was held back does not make
// that row the new suspect: the broker closed a connection without the suspect.
TEST_F(PoisonProbeTest, WhileHeldBackAnyLostConnectionClearsTheSuspicion) {
    strike_out(7);
    probe_.connected();
    lost_after(8, 100ms);
    EXPECT_EQ(probe_.state(), ProbeState::none);
    EXPECT_EQ(probe_.suspect(), 0u);
}

TEST_F(PoisonProbeTest, ConnectionsThatLastedTheWindowAreNotTheRowsFault) {
    lost_after(7, 100ms);
    lost_after(7, kWindow);
    EXPECT_EQ(probe_.state(), ProbeState::none);
    EXPECT_EQ(probe_.strikes(), 0u);
}

TEST_F(PoisonProbeTest, NothingInFlightClearsTheSuspicion) {
    lost_after(7, 100ms);
    probe_.connection_lost(std::nullopt, false);
    EXPECT_EQ(probe_.state(), ProbeState::none);
}

TEST_F(PoisonProbeTest, TheModemsLinkGoingIsNotTheBrokersDoing) {
    for (unsigned i = 0; i < 2 * kStrikes; ++i) {
        const auto sent = sched_.now();
        sched_.advance(100ms);
        probe_.connection_lost(PoisonProbe::Sent{7, sent}, true);
    }
    EXPECT_EQ(probe_.state(), ProbeState::none);
}

TEST_F(PoisonProbeTest, OurOwnReconnectIsNotTheBrokersDoing) {
    lost_after(7, 100ms);
    probe_.reconnect_requested();
    lost_after(7, 100ms);
    EXPECT_EQ(probe_.state(), ProbeState::none);
    // The request covers the one connection it ended, not the next.
    lost_after(7, 100ms);
    EXPECT_EQ(probe_.state(), ProbeState::suspect);
    EXPECT_EQ(probe_.strikes(), 1u);
}

TEST_F(PoisonProbeTest, APubackForTheSuspectClearsIt) {
    lost_after(7, 100ms);
    lost_after(7, 100ms);
    probe_.acknowledged(8);
    EXPECT_EQ(probe_.state(), ProbeState::suspect);
    probe_.acknowledged(7);
    EXPECT_EQ(probe_.state(), ProbeState::none);
    lost_after(7, 100ms);
    EXPECT_EQ(probe_.strikes(), 1u);
}

TEST_F(PoisonProbeTest, ConnectingWithNothingHeldBackStartsNoProbe) {
    lost_after(7, 100ms);
    probe_.connected();
    EXPECT_EQ(probe_.state(), ProbeState::suspect);
    sched_.advance(kWindow * 2);
    EXPECT_TRUE(guilty_.empty());
    EXPECT_EQ(sched_.armed_timers(), 0u);
}

TEST_F(PoisonProbeTest, TheVerdictIsGivenOnce) {
    strike_out(7);
    probe_.connected();
    sched_.advance(kWindow);
    sched_.advance(kWindow);
    EXPECT_EQ(guilty_.size(), 1u);
}

}  // namespace
}  // namespace cellgate::bridge
