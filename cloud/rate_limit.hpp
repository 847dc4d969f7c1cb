// Per-session publish rate limit (token bucket), defaulting to what each platform documents, so
// that draining a backlog never loses messages to the platform or gets the device banned.
#pragma once

#include <chrono>

#include "cloud/cloud_config.hpp"
#include "daemon/loop.hpp"

namespace cellgate::cloud {

struct RateLimit {
    double per_second = 0;  // 0 = unlimited
    double burst = 1;       // bucket size, in messages
    bool operator==(const RateLimit&) const = default;
};

// aliyun: at most 30 uplink messages in any second (excess is dropped by the platform);
// onenet: never more than 100 QoS 1 publishes in any 5 s (ban for 5 minutes); generic: none.
// The defaults stay under those ceilings in every window, burst included.
RateLimit default_rate_limit(Platform p);
// "" when `r` cannot break the platform's documented limit, else why.
std::string check_rate_limit(Platform p, const RateLimit& r);

class TokenBucket {
public:
    TokenBucket(RateLimit limit, Clock::time_point now);
    // Takes one token if there is one.
    bool try_take(Clock::time_point now);
    // How long until a token is available (0 if one is).
    std::chrono::milliseconds wait(Clock::time_point now) const;

private:
    void refill(Clock::time_point now) const;
    RateLimit limit_;
    mutable double tokens_;
    mutable Clock::time_point last_;
};

}  // namespace cellgate::cloud
