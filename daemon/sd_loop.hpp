// The production Scheduler: one sd-event loop that carries every fd, timer and the D-Bus
// connection of the daemon. Every callback runs from sd_event_loop(); the two kinds of worker
// thread (a connect attempt's name resolution, the outbox writer) report back through eventfds
// watched here and never touch loop state themselves.
#pragma once

#include <systemd/sd-event.h>

#include <cerrno>
#include <exception>
#include <functional>
#include <list>
#include <memory>
#include <type_traits>
#include <utility>

#include "base/guarded.hpp"
#include "base/log.hpp"
#include "base/loop.hpp"

namespace cellgate {

struct SdEventSourceDeleter {
    // Disable before unref: another reference (sd-event's own during dispatch) must not fire it.
    void operator()(sd_event_source* s) const noexcept { sd_event_source_disable_unref(s); }
};
using SdEventSourcePtr = std::unique_ptr<sd_event_source, SdEventSourceDeleter>;

struct SdEventDeleter {
    void operator()(sd_event* e) const noexcept { sd_event_unref(e); }
};
using SdEventPtr = std::unique_ptr<sd_event, SdEventDeleter>;

class SdEventLoop final : public Scheduler {
public:
    // Creates a fresh sd_event (not the thread default, so tests can build several), blocks
    // SIGTERM/SIGINT and turns them into a clean sd_event_exit(0), blocks SIGHUP and hands it to
    // the reload handler, and enables the automatic WATCHDOG=1 keep-alive when the service manager
    // set WATCHDOG_USEC.
    // Throws std::system_error when sd-event refuses.
    SdEventLoop();
    ~SdEventLoop() override;
    SdEventLoop(const SdEventLoop&) = delete;
    SdEventLoop& operator=(const SdEventLoop&) = delete;

    Clock::time_point now() const override;
    // Timers run on CLOCK_BOOTTIME: a modem timeout that spans a suspend has really elapsed.
    std::unique_ptr<Timer> make_timer(std::function<void()> fire) override;
    std::unique_ptr<IoWatch> watch_fd(int fd, uint32_t epoll_events,
                                      std::function<void(uint32_t revents)> ready) override;
    // Deferred work is owned by the loop; it is dropped unrun if the loop is destroyed first.
    void defer(std::function<void()> fn) override;

    // Runs until exit() or SIGTERM/SIGINT; returns the exit code (negative errno on loop failure).
    int run();
    void exit(int code);
    // Runs on the loop for every SIGHUP (several pending ones may arrive as one). Without a
    // handler SIGHUP is logged and ignored: it never kills the daemon.
    void set_reload_handler(std::function<void()> reload) { reload_ = std::move(reload); }

    // For components that register their own sources (sd-bus attaches here).
    sd_event* raw() const { return event_.get(); }

private:
    struct Deferred;
    static int on_deferred(sd_event_source* s, void* userdata);
    static int on_signal(sd_event_source* s, const struct signalfd_siginfo* si, void* userdata);
    static int on_sighup(sd_event_source* s, const struct signalfd_siginfo* si, void* userdata);

    SdEventPtr event_;
    SdEventSourcePtr sigterm_, sigint_, sighup_;
    std::function<void()> reload_;
    std::list<Deferred> deferred_;  // pending defer() calls, in order
};

}  // namespace cellgate
