// Logging to stderr with "<N>" syslog priority prefixes, which journald turns into priorities.
// Lower layers log at debug at most; the caller that decides logs once.
//
// Every level is rate-limited per call site: a site is known by the string literals among its
// arguments ("modem: URC " in log::debug("modem: URC ", line)), whose addresses stay put for the
// program's life, so whatever the variable parts say (a hostile serial port chooses them) the lines
// count against one budget. Beyond the budget a line is neither formatted nor written; once the
// window is over one line says how many similar lines were dropped. journald's own limit is per
// service, so without this one flooding cause would silence every other.
#pragma once

#include <chrono>
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>

namespace cellgate::log {

enum class Level : int { err = 3, warning = 4, notice = 5, info = 6, debug = 7 };

void set_max_level(Level level);
bool enabled(Level level);
void write(Level level, std::string_view line);

struct RateLimit {
    unsigned burst = 100;                      // lines a site may write per window
    std::chrono::milliseconds window{10'000};  // 0 turns the limit off
};
// Also forgets what was counted so far.
void set_rate_limit(RateLimit limit);

namespace detail {

struct Site {
    std::uintptr_t key;
    const char* sample = nullptr;  // its first literal, to name the site in the summary (copied)
};

// Only const char arrays are literals; a char buffer's address or contents say nothing about the site.
template <class A>
void mix(Site& site, [[maybe_unused]] A&& arg) {
    using T = std::remove_reference_t<A>;
    if constexpr (std::is_array_v<T> && std::is_same_v<std::remove_extent_t<T>, const char>) {
        site.key = (site.key ^ reinterpret_cast<std::uintptr_t>(&arg[0])) * 0x100000001b3u;
        if (!site.sample) site.sample = &arg[0];
    }
}

// Whether a line of `site` may be written now; may first write the summary of a finished window.
bool admit(Level level, const Site& site);

}  // namespace detail

template <class... Args>
void emit(Level level, Args&&... args) {
    if (!enabled(level)) return;
    detail::Site site{static_cast<std::uintptr_t>(level)};
    (detail::mix(site, args), ...);
    if (!detail::admit(level, site)) return;
    std::ostringstream out;
    (out << ... << std::forward<Args>(args));
    write(level, out.str());
}

template <class... Args> void error(Args&&... a) { emit(Level::err, std::forward<Args>(a)...); }
template <class... Args> void warning(Args&&... a) { emit(Level::warning, std::forward<Args>(a)...); }
template <class... Args> void notice(Args&&... a) { emit(Level::notice, std::forward<Args>(a)...); }
template <class... Args> void info(Args&&... a) { emit(Level::info, std::forward<Args>(a)...); }
template <class... Args> void debug(Args&&... a) { emit(Level::debug, std::forward<Args>(a)...); }

}  // namespace cellgate::log
