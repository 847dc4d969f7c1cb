#include "base/log.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>

namespace cellgate::log {
namespace {
// Set by the loop (a reload), read by the outbox writer's and the connect workers' threads too.
std::atomic<Level> g_max{Level::info};
}

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

}  // namespace cellgate::log
