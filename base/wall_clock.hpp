// Wall-clock time, for what leaves the device (timestamps a platform reads, a row's age).
// Everything that measures an interval uses the loop's monotonic clock instead.
#pragma once

#include <chrono>
#include <cstdint>

namespace cellgate {

// A Pi has no RTC: until NTP (or fake-hwclock) sets it, the wall clock reads 1970. A time before
// this instant (2017-01-01T00:00:00Z, older than every platform API used here) is not trusted:
// not sent to a platform, not used to age rows out.
inline constexpr int64_t kPlausibleEpochMs = 1'483'228'800'000;

inline int64_t wall_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

inline uint64_t wall_us() {
    using namespace std::chrono;
    return static_cast<uint64_t>(duration_cast<microseconds>(system_clock::now().time_since_epoch()).count());
}

}  // namespace cellgate
