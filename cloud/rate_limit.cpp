#include "cloud/rate_limit.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>

namespace cellgate::cloud {
namespace {

struct Ceiling {
    double messages;
    double window_s;
};

// The documented limits: aliyun.md §5 (Doc-Multi: 30 QPS per device, the excess is dropped) and
// onenet.md §5.1 (more than 100 QoS 1 publishes in 5 s: disconnect and a 5-minute ban; QoS 0 allows
// 300, so the QoS 1 figure bounds every mix). onenet-legacy documents none.
std::optional<Ceiling> ceiling(Platform p) {
    switch (p) {
        case Platform::aliyun: return Ceiling{30, 1};
        case Platform::onenet: return Ceiling{100, 5};
        case Platform::onenet_legacy:
        case Platform::generic: return std::nullopt;
    }
    return std::nullopt;
}

// Refill arithmetic in doubles is off by a few ulps; a token due within this fraction counts as
// there (at 1000 messages/s that is a picosecond early, below the clock's resolution).
constexpr double kSlack = 1e-9;

std::string number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

}  // namespace

RateLimit default_rate_limit(Platform p) {
    switch (p) {
        // At most 5 + 20 = 25 in any 1 s window against a ceiling of 30. The platform counts
        // arrivals, not sends: a radio stall that releases queued packets together compresses
        // the sender's spacing, and the 5 spare messages absorb 250 ms of that at 20/s.
        case Platform::aliyun: return {20, 5};
        // At most 10 + 16 * 5 = 90 in any 5 s window against a ban at 101; 10 spare messages
        // absorb 600 ms of compression at 16/s. Studio delays uplink beyond 1 message/s to the
        // next second (onenet.md §5.2) -- latency, not loss -- so the default drains a backlog
        // at the MQTTS ceiling; a session that needs Studio's real-time timestamps sets
        // `rate_limit: { per_second: 1, burst: 1 }`.
        case Platform::onenet: return {16, 10};
        case Platform::onenet_legacy:
        case Platform::generic: return {0, 1};
    }
    return {0, 1};
}

std::string check_rate_limit(Platform p, const RateLimit& r) {
    if (!std::isfinite(r.per_second) || r.per_second < 0) {
        return "rate_limit per_second must be a number >= 0 (0 = unlimited)";
    }
    if (r.per_second > 0 && (!std::isfinite(r.burst) || r.burst < 1)) {
        return "rate_limit burst must be at least 1 message";
    }
    const auto c = ceiling(p);
    if (!c) return {};
    const std::string limit = "more than " + number(c->messages) + " messages in " + number(c->window_s) + " s";
    const std::string consequence = p == Platform::aliyun ? "are dropped by aliyun" : "get the device banned by onenet";
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
