// Seams between the components and the event loop. Production code gets these from SdEventLoop
// (daemon/sd_loop.hpp); unit tests drive state machines with a fake that advances time by hand.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace cellgate {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A one-shot timer that can be re-armed. Destroying it cancels it; its callback never runs after.
class Timer {
public:
    virtual ~Timer() = default;
    // Re-arming replaces any pending expiry.
    virtual void arm(milliseconds delay) = 0;
    virtual void cancel() = 0;
    virtual bool armed() const = 0;
};

// Watches one file descriptor for EPOLLIN/EPOLLOUT/EPOLLHUP/EPOLLERR. Destroying it stops the watch
// (the fd itself stays owned by whoever opened it).
class IoWatch {
public:
    virtual ~IoWatch() = default;
    virtual void set_events(uint32_t epoll_events) = 0;
};

class Scheduler {
public:
    virtual ~Scheduler() = default;
    virtual Clock::time_point now() const = 0;
    virtual std::unique_ptr<Timer> make_timer(std::function<void()> fire) = 0;
    virtual std::unique_ptr<IoWatch> watch_fd(int fd, uint32_t epoll_events,
                                              std::function<void(uint32_t revents)> ready) = 0;
    // Runs `fn` once on the next loop iteration (used to coalesce bursts of changes).
    virtual void defer(std::function<void()> fn) = 0;
};

}  // namespace cellgate
