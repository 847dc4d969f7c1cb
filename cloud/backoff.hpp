// Reconnect delays for one cloud session: exponential backoff with full jitter, a reset rule that
// survives connect-then-kick loops, and a floor between connect attempts that keeps platform login
// limits out of reach whatever triggers the attempt (retry, link up, D-Bus Reconnect()).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>

#include "cloud/cloud_config.hpp"
#include "base/loop.hpp"

namespace cellgate::cloud {

// At least 1 s between two attempts: at most 5 in any 5 s window, half of OneNET's ban threshold
// (10 logins per 5 s bans the device for 5 minutes) and within AWS IoT's 1 CONNECT/s per client id.
// A platform that needs more says so in its profile (PlatformProfile::connect_spacing()).
inline constexpr milliseconds kMinConnectSpacing{1000};

class Backoff {
public:
    // `seed` feeds the jitter so tests (and two gateways started together) are reproducible yet
    // not in lockstep.
    Backoff(const BackoffConfig& config, uint32_t seed, milliseconds min_spacing = kMinConnectSpacing);

    // Delay after the n-th consecutive failure (n from 0): uniform in [0, min(max, initial * 2^n)].
    milliseconds next_delay();
    // Delay after a refusal that does not heal in seconds (CONNACK auth errors): the cap, and the
    // schedule stays at the cap until the next reset.
    milliseconds refused_delay();
    // The upper bound the next next_delay() draws from.
    milliseconds ceiling() const { return ceiling_; }
    milliseconds initial() const { return initial_; }
    milliseconds max() const { return max_; }
    milliseconds stable_after() const { return stable_after_; }
    uint64_t failures() const { return failures_; }

    // Back to `initial`, but only for a connection that stayed up `stable_after`: a session the
    // broker kicks after a few seconds must keep backing off. Returns whether it reset.
    bool reset_if_stable(milliseconds connected_for);

    // Attempt spacing, separate from the jittered delay: every attempt is recorded, and no attempt
    // may start before the previous one plus the spacing.
    void record_attempt(Clock::time_point at) { last_attempt_ = at; }
    // How long until an attempt is allowed (zero: now).
    milliseconds spacing_wait(Clock::time_point now) const;
    milliseconds min_spacing() const { return min_spacing_; }

private:
    milliseconds initial_;
    milliseconds max_;
    milliseconds stable_after_;
    milliseconds min_spacing_;
    milliseconds ceiling_;  // doubles per failure and saturates at max_, so it never overflows
    uint64_t failures_ = 0;
    std::optional<Clock::time_point> last_attempt_;
    std::mt19937 rng_;
};

}  // namespace cellgate::cloud
