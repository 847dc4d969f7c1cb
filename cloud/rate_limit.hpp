// Per-session publish rate limit (token bucket), defaulting to what each platform documents, so
// that draining a backlog never loses messages to the platform or gets the device banned.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>

#include "cloud/cloud_config.hpp"
#include "base/loop.hpp"

namespace cellgate::cloud {

struct RateLimit {
    double per_second = 0;  // 0 = unlimited
    double burst = 1;       // bucket size, in messages
    bool operator==(const RateLimit&) const = default;
};

// The platform's default (its profile's), under its documented ceiling in every window, burst
// included: aliyun drops more than 30 uplink messages in any second; onenet bans a device that
// sends more than 100 QoS 1 publishes in any 5 s; generic has none.
RateLimit default_rate_limit(Platform p);
// "" when `r` cannot break the platform's documented ceiling, else why.
std::string check_rate_limit(Platform p, const RateLimit& r);

class TokenBucket {
public:
    // Starts full (`burst` tokens).
    TokenBucket(RateLimit limit, Clock::time_point now);
    // Takes one token if there is one.
    bool try_take(Clock::time_point now);
    // Takes one token even if there is none: the bucket goes into debt, and what waits for it
    // waits longer. For messages that cannot wait (an answer to the platform's own request).
    void take(Clock::time_point now);
    // How long until a token is available (0 if one is).
    std::chrono::milliseconds wait(Clock::time_point now) const;
    // A new limit; the tokens there are stay, up to the new burst.
    void set_limit(RateLimit limit, Clock::time_point now);

private:
    void refill(Clock::time_point now) const;
    RateLimit limit_;
    mutable double tokens_;
    mutable Clock::time_point last_;
};

// Every session's bucket by name. The gateway keeps them across bridge rebuilds and session
// replacements (a reload), since a platform counts a device's messages, not a connection's: a
// rebuilt lane must not start with a fresh burst on top of what was just sent.
class RateBuckets {
public:
    // The bucket of `session` with `limit`. A new one starts full: even if the previous process
    // spent its burst just before a crash, the restart and the reconnect take far longer than the
    // margin the defaults keep (two bursts and a window of rate fit under each ceiling, 100 ms apart).
    TokenBucket& at(const std::string& session, RateLimit limit, Clock::time_point now);

private:
    std::map<std::string, TokenBucket, std::less<>> buckets_;
};

}  // namespace cellgate::cloud
