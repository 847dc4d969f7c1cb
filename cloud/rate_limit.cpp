#include "cloud/rate_limit.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "cloud/platform_profile.hpp"

namespace cellgate::cloud {
namespace {

// Refill arithmetic in doubles is off by a few ulps; a token due within this fraction counts as
// there (at 1000 messages/s that is a picosecond early, below the clock's resolution).
constexpr double kSlack = 1e-9;

std::string number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

}  // namespace

RateLimit default_rate_limit(Platform p) { return profile(p).default_rate_limit(); }

std::string check_rate_limit(Platform p, const RateLimit& r) {
    if (!std::isfinite(r.per_second) || r.per_second < 0) {
        return "rate_limit per_second must be a number >= 0 (0 = unlimited)";
    }
    if (r.per_second > 0 && (!std::isfinite(r.burst) || r.burst < 1)) {
        return "rate_limit burst must be at least 1 message";
    }
    const auto c = profile(p).rate_ceiling();
    if (!c) return {};
    const std::string limit = "more than " + number(c->messages) + " messages in " + number(c->window_s) + " s";
    const std::string consequence(c->consequence);
    if (r.per_second == 0) return "an unlimited rate can send " + limit + ", which " + consequence;
    // A token bucket releases at most burst + rate * window in any window of that length.
    const double worst = r.burst + r.per_second * c->window_s;
    if (worst > c->messages + 1e-9) {
        return "burst " + number(r.burst) + " + " + number(r.per_second) + "/s x " + number(c->window_s) +
               " s allows " + number(worst) + " messages in " + number(c->window_s) + " s; " + limit + " " +
               consequence;
    }
    return {};
}

TokenBucket::TokenBucket(RateLimit limit, Clock::time_point now)
    : limit_(limit), tokens_(std::max(1.0, limit.burst)), last_(now) {
    // A bucket smaller than one message would never release anything.
    limit_.burst = tokens_;
}

void TokenBucket::set_limit(RateLimit limit, Clock::time_point now) {
    refill(now);
    limit_ = limit;
    limit_.burst = std::max(1.0, limit.burst);
    tokens_ = std::min(tokens_, limit_.burst);
}

void TokenBucket::take(Clock::time_point now) {
    if (!(limit_.per_second > 0)) return;
    refill(now);
    tokens_ -= 1;
}

void TokenBucket::refill(Clock::time_point now) const {
    if (now <= last_) return;
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(limit_.burst, tokens_ + elapsed * limit_.per_second);
    last_ = now;
}

bool TokenBucket::try_take(Clock::time_point now) {
    if (!(limit_.per_second > 0)) return true;
    refill(now);
    if (tokens_ < 1 - kSlack) return false;
    tokens_ -= 1;
    return true;
}

std::chrono::milliseconds TokenBucket::wait(Clock::time_point now) const {
    if (!(limit_.per_second > 0)) return std::chrono::milliseconds(0);
    refill(now);
    if (tokens_ >= 1 - kSlack) return std::chrono::milliseconds(0);
    // Rounded up, and at least 1 ms, so a caller that sleeps this long never spins.
    const double ms = std::ceil((1 - tokens_) / limit_.per_second * 1000.0 - kSlack);
    return std::chrono::milliseconds(std::max<long long>(1, static_cast<long long>(ms)));
}

TokenBucket& RateBuckets::at(const std::string& session, RateLimit limit, Clock::time_point now) {
    auto it = buckets_.find(session);
    if (it == buckets_.end()) return buckets_.try_emplace(session, limit, now).first->second;
    it->second.set_limit(limit, now);
    return it->second;
}

}  // namespace cellgate::cloud
