// The reconnect schedule: full-jitter bounds per attempt, the cap, the stable-connection reset rule
// and the spacing floor that keeps platform login limits out of reach.
#include "cloud/backoff.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <vector>

namespace cellgate::cloud {
namespace {

using namespace std::chrono_literals;

BackoffConfig example_config() {  // the `backoff:` block of etc/cellgate.yaml
    BackoffConfig c;
    c.initial = 1s;
    c.max = 120s;
    c.stable_after = 60s;
    return c;
}

TEST(BackoffTest, EachAttemptDrawsFromZeroToItsDoublingCeiling) {
    constexpr int kAttempts = 10;  // 1, 2, 4 ... 512 s, capped at 120 s from the 8th
    constexpr int kSeeds = 2000;
    std::vector<milliseconds> lowest(kAttempts, milliseconds::max()), highest(kAttempts, 0ms);
    for (uint32_t seed = 0; seed < kSeeds; ++seed) {
        Backoff b(example_config(), seed);
        for (int n = 0; n < kAttempts; ++n) {
            const milliseconds ceiling = std::min<milliseconds>(120s, milliseconds(1000LL << n));
            ASSERT_EQ(b.ceiling(), ceiling) << "attempt " << n;
            const milliseconds d = b.next_delay();
            ASSERT_GE(d, 0ms) << "attempt " << n;
            ASSERT_LE(d, ceiling) << "attempt " << n;
            lowest[n] = std::min(lowest[n], d);
            highest[n] = std::max(highest[n], d);
        }
    }
    // Full jitter, not "equal jitter" or a fixed delay: the draws span the whole [0, ceiling].
    for (int n = 0; n < kAttempts; ++n) {
        const milliseconds ceiling = std::min<milliseconds>(120s, milliseconds(1000LL << n));
        EXPECT_LT(lowest[n], ceiling / 20) << "attempt " << n;
        EXPECT_GT(highest[n], ceiling * 19 / 20) << "attempt " << n;
    }
}

TEST(BackoffTest, MeanDelayDoublesUntilTheCap) {
    constexpr int kSeeds = 4000;
    std::vector<double> sum(9, 0.0);
    for (uint32_t seed = 0; seed < kSeeds; ++seed) {
        Backoff b(example_config(), seed);
        for (auto& s : sum) s += static_cast<double>(b.next_delay().count());
    }
    // Uniform over [0, ceiling] has mean ceiling / 2.
    for (size_t n = 0; n < sum.size(); ++n) {
        const double ceiling = std::min(120000.0, 1000.0 * static_cast<double>(1 << n));
        EXPECT_NEAR(sum[n] / kSeeds, ceiling / 2, ceiling * 0.05) << "attempt " << n;
    }
}

TEST(BackoffTest, CapHoldsForever) {
    Backoff b(example_config(), 7);
    milliseconds highest = 0ms;
    for (int i = 0; i < 1000; ++i) {
        const milliseconds d = b.next_delay();
        ASSERT_LE(d, 120s);
        if (i >= 7) highest = std::max(highest, d);
    }
    EXPECT_EQ(b.ceiling(), 120s);
    EXPECT_GT(highest, 100s);  // the cap is reached, not just respected
    EXPECT_EQ(b.failures(), 1000u);
}

TEST(BackoffTest, NoOverflowAfterManyAttemptsEvenWithAHugeCap) {
    BackoffConfig c = example_config();
    c.max = milliseconds(std::numeric_limits<milliseconds::rep>::max());
    Backoff b(c, 1);
    milliseconds previous_ceiling = b.ceiling();
    for (int i = 0; i < 200; ++i) {
        const milliseconds d = b.next_delay();
        ASSERT_GE(d, 0ms) << i;
        ASSERT_LE(d, c.max) << i;
        ASSERT_GE(b.ceiling(), previous_ceiling) << "ceiling wrapped at attempt " << i;
        previous_ceiling = b.ceiling();
    }
    EXPECT_EQ(b.ceiling(), c.max);
}

TEST(BackoffTest, ResetsOnlyAfterStayingUpStableAfter) {
    Backoff b(example_config(), 3);
    for (int i = 0; i < 5; ++i) b.next_delay();
    ASSERT_EQ(b.ceiling(), 32s);

    // Connect-then-kick loops: short sessions leave the schedule where it was.
    EXPECT_FALSE(b.reset_if_stable(0ms));
    EXPECT_FALSE(b.reset_if_stable(10s));
    EXPECT_FALSE(b.reset_if_stable(59999ms));
    EXPECT_EQ(b.ceiling(), 32s);
    EXPECT_EQ(b.failures(), 5u);

    EXPECT_TRUE(b.reset_if_stable(60s));
    EXPECT_EQ(b.ceiling(), 1s);
    EXPECT_EQ(b.failures(), 0u);
    EXPECT_LE(b.next_delay(), 1s);
}

TEST(BackoffTest, RefusalWaitsTheCapAndKeepsTheScheduleThere) {
    Backoff b(example_config(), 5);
    EXPECT_EQ(b.refused_delay(), 120s);
    EXPECT_EQ(b.refused_delay(), 120s);
    EXPECT_EQ(b.ceiling(), 120s);  // a transport failure after a refusal does not restart at 1 s
    EXPECT_TRUE(b.reset_if_stable(60s));
    EXPECT_EQ(b.ceiling(), 1s);
}

TEST(BackoffTest, SameSeedSameScheduleOtherSeedAnother) {
    Backoff a(example_config(), 42), b(example_config(), 42), c(example_config(), 43);
    std::vector<milliseconds> da, db, dc;
    for (int i = 0; i < 12; ++i) {
        da.push_back(a.next_delay());
        db.push_back(b.next_delay());
        dc.push_back(c.next_delay());
    }
    EXPECT_EQ(da, db);
    EXPECT_NE(da, dc);  // two gateways restarted together do not retry in lockstep
}

TEST(BackoffTest, DegenerateConfigStillBacksOff) {
    BackoffConfig zero;
    zero.initial = 0ms;
    zero.max = 0ms;
    Backoff z(zero, 1);
    for (int i = 0; i < 10; ++i) EXPECT_LE(z.next_delay(), 1ms);

    BackoffConfig inverted = example_config();
    inverted.initial = 300s;  // above the cap: the cap wins
    Backoff v(inverted, 1);
    EXPECT_EQ(v.ceiling(), 120s);
}

TEST(BackoffTest, SpacingFloorBetweenAnyTwoAttempts) {
    Backoff b(example_config(), 1);
    const Clock::time_point t0{};
    EXPECT_EQ(b.spacing_wait(t0), 0ms);  // nothing attempted yet
    b.record_attempt(t0);
    EXPECT_EQ(b.spacing_wait(t0), 1s);
    EXPECT_EQ(b.spacing_wait(t0 + 400ms), 600ms);
    EXPECT_EQ(b.spacing_wait(t0 + 999ms), 1ms);
    EXPECT_EQ(b.spacing_wait(t0 + 1s), 0ms);
    EXPECT_EQ(b.spacing_wait(t0 + 1h), 0ms);
    // A sub-millisecond remainder rounds up, so a timer armed with it never fires early.
    EXPECT_EQ(b.spacing_wait(t0 + std::chrono::microseconds(999'500)), 1ms);
}

TEST(BackoffTest, AttemptsPacedAtTheFloorNeverExceedFivePerFiveSeconds) {
    // Worst case: every attempt as early as the floor allows, for ten minutes.
    Backoff b(example_config(), 1);
    std::vector<Clock::time_point> attempts;
    Clock::time_point now{};
    while (now < Clock::time_point{} + 10min) {
        now += b.spacing_wait(now);
        attempts.push_back(now);
        b.record_attempt(now);
        now += 1ms;
    }
    for (size_t i = 0; i < attempts.size(); ++i) {
        const auto in_window = std::count_if(attempts.begin() + static_cast<std::ptrdiff_t>(i), attempts.end(),
                                             [&](auto t) { return t < attempts[i] + 5s; });
        ASSERT_LE(in_window, 5) << "window starting at attempt " << i;
    }
}

TEST(BackoffTest, APlatformsWiderSpacingIsKept) {
    // OneNET's profile asks for 2 s (platform_onenet_test.cpp); the floor is 1 s.
    EXPECT_EQ(Backoff(example_config(), 1).min_spacing(), kMinConnectSpacing);
    Backoff b(example_config(), 1, 2s);
    b.record_attempt(Clock::time_point{});
    EXPECT_EQ(b.spacing_wait(Clock::time_point{} + 1500ms), 500ms);
}

}  // namespace
}  // namespace cellgate::cloud
