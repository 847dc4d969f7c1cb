// Logging to stderr with "<N>" syslog priority prefixes, which journald turns into priorities.
// Lower layers log at debug at most; the caller that decides logs once.
#pragma once

#include <sstream>
#include <string>
#include <string_view>

namespace cellgate::log {

enum class Level : int { err = 3, warning = 4, notice = 5, info = 6, debug = 7 };

void set_max_level(Level level);
bool enabled(Level level);
void write(Level level, std::string_view line);

template <class... Args>
void emit(Level level, Args&&... args) {
    if (!enabled(level)) return;
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
