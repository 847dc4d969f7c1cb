#include "cloud/backoff.hpp"

#include <algorithm>

namespace cellgate::cloud {

Backoff::Backoff(const BackoffConfig& config, uint32_t seed, milliseconds min_spacing)
    // A zero configuration must not become a zero ceiling that never grows; the cap wins over an
    // initial above it.
    : initial_(std::clamp(config.initial, milliseconds{1}, std::max(config.max, milliseconds{1}))),
      max_(std::max(config.max, milliseconds{1})),
      stable_after_(config.stable_after),
      min_spacing_(std::max(min_spacing, milliseconds{0})),
      ceiling_(initial_),
      rng_(seed) {}

milliseconds Backoff::next_delay() {
    std::uniform_int_distribution<milliseconds::rep> pick(0, ceiling_.count());
    const milliseconds d{pick(rng_)};
    ceiling_ = ceiling_ > max_ / 2 ? max_ : ceiling_ * 2;
    ++failures_;
    return d;
}

milliseconds Backoff::refused_delay() {
    ceiling_ = max_;
    ++failures_;
    return max_;
}

bool Backoff::reset_if_stable(milliseconds connected_for) {
    if (connected_for < stable_after_) return false;
    ceiling_ = initial_;
    failures_ = 0;
    return true;
}

milliseconds Backoff::spacing_wait(Clock::time_point now) const {
    if (!last_attempt_) return milliseconds{0};
    const auto allowed = *last_attempt_ + min_spacing_;
    if (now >= allowed) return milliseconds{0};
    // Round up: a wait that is a fraction of a millisecond short would fire before the floor.
    return std::chrono::ceil<milliseconds>(allowed - now);
}

}  // namespace cellgate::cloud
