#include "base/log.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>
#include <unordered_map>

#include "base/duration_text.hpp"

namespace cellgate::log {
namespace {
// Set by the loop (a reload), read by the outbox writer's and the connect workers' threads too.
std::atomic<Level> g_max{Level::info};

using Clock = std::chrono::steady_clock;

// The part of a site's first literal that names it in a summary.
constexpr std::size_t kSampleChars = 48;

struct Budget {
    Level level = Level::debug;
    std::string sample;
    Clock::time_point window_start{};
    unsigned written = 0;
    unsigned long long suppressed = 0;
};

// One lock for every thread that logs; it is held for a map lookup, and for the rare summary.
struct Limiter {
    std::mutex mutex;
    RateLimit limit;
    std::unordered_map<std::uintptr_t, Budget> sites;  // as many as there are call sites
    Clock::time_point next_sweep{};

    // A flood that stopped would otherwise keep its summary until the same site logs again.
    void sweep(Clock::time_point now) {
        if (now < next_sweep) return;
        next_sweep = now + limit.window;
        for (auto& [key, b] : sites)
            if (now - b.window_start >= limit.window) close_window(b, now);
    }

    void close_window(Budget& b, Clock::time_point now) {
        if (b.suppressed > 0) {
            write(b.level, "log: " + std::to_string(b.suppressed) + " similar lines suppressed in " +
                               duration_text(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   now - b.window_start)) +
                               (b.sample.empty() ? std::string() : " (like \"" + b.sample + "…\")"));
        }
        b.window_start = now;
        b.written = 0;
        b.suppressed = 0;
    }
};

Limiter& limiter() {
    static Limiter l;
    return l;
}

}  // namespace

void set_max_level(Level level) { g_max.store(level, std::memory_order_relaxed); }
bool enabled(Level level) {
    return static_cast<int>(level) <= static_cast<int>(g_max.load(std::memory_order_relaxed));
}

void write(Level level, std::string_view line) {
    // One write() per line so lines from a crash-restart never interleave mid-line in the journal.
    std::string out = "<" + std::to_string(static_cast<int>(level)) + ">";
    out.append(line);
    out.push_back('\n');
    ssize_t ignored = ::write(STDERR_FILENO, out.data(), out.size());
    (void)ignored;
}

void set_rate_limit(RateLimit limit) {
    auto& l = limiter();
    std::lock_guard lock(l.mutex);
    l.limit = limit;
    l.sites.clear();
    l.next_sweep = {};
}

namespace detail {

bool admit(Level level, const Site& site) {
    auto& l = limiter();
    const auto now = Clock::now();
    std::lock_guard lock(l.mutex);
    if (l.limit.window.count() <= 0) return true;
    l.sweep(now);
    auto [it, fresh] = l.sites.try_emplace(site.key);
    Budget& b = it->second;
    if (fresh) {
        b.level = level;
        if (site.sample) b.sample = std::string_view(site.sample).substr(0, kSampleChars);
        b.window_start = now;
    } else if (now - b.window_start >= l.limit.window) {
        l.close_window(b, now);
    }
    if (b.written < l.limit.burst) {
        ++b.written;
        return true;
    }
    ++b.suppressed;
    return false;
}

}  // namespace detail

}  // namespace cellgate::log
