#include "modem/recovery_ladder.hpp"

#include <gtest/gtest.h>

namespace cellgate::modem {
namespace {

using namespace std::chrono_literals;

TEST(RecoveryLadder, ClimbsGentleToHarshWithDoublingCappedBackoff) {
    RecoveryLadder ladder(5s, 300s);
    const struct {
        RecoveryStep step;
        std::chrono::milliseconds delay;
    } expected[] = {
        {RecoveryStep::retry, 5s},         {RecoveryStep::retry, 10s},        {RecoveryStep::reattach, 20s},
        {RecoveryStep::radio_cycle, 40s},  {RecoveryStep::radio_cycle, 80s},  {RecoveryStep::module_reset, 160s},
        // Ladder exhausted: start over from the bottom, but never faster than the cap.
        {RecoveryStep::retry, 300s},       {RecoveryStep::retry, 300s},       {RecoveryStep::reattach, 300s},
    };
    unsigned n = 0;
    for (const auto& e : expected) {
        const auto a = ladder.next();
        ++n;
        EXPECT_EQ(a.step, e.step) << "attempt " << n;
        EXPECT_EQ(a.delay, e.delay) << "attempt " << n;
        EXPECT_EQ(a.attempt, n);
    }
}

TEST(RecoveryLadder, ResetStartsFromTheBottom) {
    RecoveryLadder ladder(1s, 60s);
    for (int i = 0; i < 4; ++i) ladder.next();
    ladder.reset();
    EXPECT_EQ(ladder.attempts(), 0u);
    const auto a = ladder.next();
    EXPECT_EQ(a.step, RecoveryStep::retry);
    EXPECT_EQ(a.delay, 1s);
}

TEST(RecoveryLadder, BackoffNeverOverflowsAfterWeeksOfFailure) {
    RecoveryLadder ladder(5s, 300s);
    RecoveryAction a;
    for (int i = 0; i < 100000; ++i) a = ladder.next();
    EXPECT_EQ(a.delay, 300s);
}

TEST(RecoveryLadder, StepNames) {
    EXPECT_STREQ(to_string(RecoveryStep::radio_cycle), "radio-cycle");
    EXPECT_STREQ(to_string(RecoveryStep::module_reset), "module-reset");
    EXPECT_STREQ(to_string(RecoveryStep::none), "");
}

}  // namespace
}  // namespace cellgate::modem
