#include "daemon/sd_loop.hpp"

#include <signal.h>
#include <sys/signalfd.h>

#include <ctime>
#include <system_error>

namespace cellgate {
namespace {

// Modem and backoff timers are few; precise expiry matters more than wake-up coalescing.
constexpr uint64_t kTimerAccuracyUsec = 1000;

void check(int r, const char* what) {
    if (r < 0) throw std::system_error(-r, std::generic_category(), what);
}

uint64_t to_usec(milliseconds d) {
    return d.count() <= 0 ? 0 : static_cast<uint64_t>(d.count()) * 1000U;
}

class SdTimer final : public Timer {
public:
    SdTimer(sd_event* event, std::function<void()> fire) : event_(event), fire_(std::move(fire)) {}

    void arm(milliseconds delay) override {
        if (!source_) {
            sd_event_source* s = nullptr;
            check(sd_event_add_time_relative(event_, &s, CLOCK_BOOTTIME, to_usec(delay),
                                             kTimerAccuracyUsec, &SdTimer::on_fire, this),
                  "sd_event_add_time_relative");
            source_.reset(s);
            (void)sd_event_source_set_description(s, "timer");
        } else {
            check(sd_event_source_set_time_relative(source_.get(), to_usec(delay)),
                  "sd_event_source_set_time_relative");
        }
        check(sd_event_source_set_enabled(source_.get(), SD_EVENT_ONESHOT),
              "sd_event_source_set_enabled");
    }

    void cancel() override {
        if (source_) (void)sd_event_source_set_enabled(source_.get(), SD_EVENT_OFF);
    }

    bool armed() const override {
        int enabled = SD_EVENT_OFF;
        // sd-event switches a ONESHOT source OFF before dispatching it, so inside the callback
        // the timer already reads as not armed and may be re-armed.
        return source_ && sd_event_source_get_enabled(source_.get(), &enabled) >= 0 &&
               enabled != SD_EVENT_OFF;
    }

private:
    static int on_fire(sd_event_source*, uint64_t, void* userdata) {
        auto* self = static_cast<SdTimer*>(userdata);
        // A copy: the callback may destroy this timer (and with it fire_) while running.
        auto fire = self->fire_;
        return guarded("timer callback", fire);
    }

    sd_event* event_;
    std::function<void()> fire_;
    SdEventSourcePtr source_;
};

class SdIoWatch final : public IoWatch {
public:
    SdIoWatch(sd_event* event, int fd, uint32_t events, std::function<void(uint32_t)> ready)
        : ready_(std::move(ready)) {
        sd_event_source* s = nullptr;
        check(sd_event_add_io(event, &s, fd, events, &SdIoWatch::on_io, this), "sd_event_add_io");
        source_.reset(s);
        (void)sd_event_source_set_description(s, "fd-watch");
    }

    void set_events(uint32_t epoll_events) override {
        check(sd_event_source_set_io_events(source_.get(), epoll_events),
              "sd_event_source_set_io_events");
    }

private:
    // A handler that keeps throwing on a level-triggered fd would spin; the -EIO from guarded()
    // makes sd-event disable the source instead, and the err log line says why.
    static int on_io(sd_event_source*, int, uint32_t revents, void* userdata) {
        auto* self = static_cast<SdIoWatch*>(userdata);
        auto ready = self->ready_;  // the callback may destroy this watch
        return guarded("fd watch callback", [&] { ready(revents); });
    }

    std::function<void(uint32_t)> ready_;
    SdEventSourcePtr source_;
};

}  // namespace

struct SdEventLoop::Deferred {
    SdEventLoop* loop = nullptr;
    std::function<void()> fn;
    SdEventSourcePtr source;
};

SdEventLoop::SdEventLoop() {
    sd_event* e = nullptr;
    check(sd_event_new(&e), "sd_event_new");
    event_.reset(e);

    // libsystemd 252 has no SD_EVENT_SIGNAL_PROCMASK; signalfd only sees blocked signals.
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &mask, nullptr) < 0)
        throw std::system_error(errno, std::generic_category(), "sigprocmask");

    sd_event_source* s = nullptr;
    check(sd_event_add_signal(e, &s, SIGTERM, &SdEventLoop::on_signal, this), "sd_event_add_signal");
    sigterm_.reset(s);
    check(sd_event_add_signal(e, &s, SIGINT, &SdEventLoop::on_signal, this), "sd_event_add_signal");
    sigint_.reset(s);
    check(sd_event_add_signal(e, &s, SIGHUP, &SdEventLoop::on_sighup, this), "sd_event_add_signal");
    sighup_.reset(s);

    int r = sd_event_set_watchdog(e, true);
    if (r < 0) throw std::system_error(-r, std::generic_category(), "sd_event_set_watchdog");
    if (r > 0) log::debug("loop: watchdog keep-alive enabled");
}

SdEventLoop::~SdEventLoop() = default;

Clock::time_point SdEventLoop::now() const { return Clock::now(); }

std::unique_ptr<Timer> SdEventLoop::make_timer(std::function<void()> fire) {
    return std::make_unique<SdTimer>(event_.get(), std::move(fire));
}

std::unique_ptr<IoWatch> SdEventLoop::watch_fd(int fd, uint32_t epoll_events,
                                               std::function<void(uint32_t)> ready) {
    return std::make_unique<SdIoWatch>(event_.get(), fd, epoll_events, std::move(ready));
}

void SdEventLoop::defer(std::function<void()> fn) {
    auto& call = deferred_.emplace_back();
    call.loop = this;
    call.fn = std::move(fn);
    sd_event_source* s = nullptr;
    int r = sd_event_add_defer(event_.get(), &s, &SdEventLoop::on_deferred, &call);
    if (r < 0) {
        deferred_.pop_back();
        check(r, "sd_event_add_defer");
    }
    call.source.reset(s);
    (void)sd_event_source_set_description(s, "deferred");
}

int SdEventLoop::on_deferred(sd_event_source*, void* userdata) {
    auto* call = static_cast<Deferred*>(userdata);
    auto fn = std::move(call->fn);
    // Dropping the source inside its own dispatch is safe: sd-event frees it after we return.
    call->loop->deferred_.remove_if([call](const Deferred& d) { return &d == call; });
    return guarded("deferred callback", fn);
}

int SdEventLoop::on_signal(sd_event_source* s, const struct signalfd_siginfo* si, void*) {
    return guarded("signal handler", [&] {
        log::info("loop: received ", si->ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT", ", exiting");
        return sd_event_exit(sd_event_source_get_event(s), 0);
    });
}

int SdEventLoop::on_sighup(sd_event_source*, const struct signalfd_siginfo*, void* userdata) {
    auto* self = static_cast<SdEventLoop*>(userdata);
    // Never an error to sd-event: it would disable the source, and no later SIGHUP would reload.
    (void)guarded("SIGHUP handler", [&] {
        if (!self->reload_) {
            log::info("loop: received SIGHUP, nothing to reload");
            return;
        }
        // A copy: the handler may replace itself.
        auto reload = self->reload_;
        reload();
    });
    return 0;
}

int SdEventLoop::run() { return sd_event_loop(event_.get()); }

void SdEventLoop::exit(int code) { (void)sd_event_exit(event_.get(), code); }

}  // namespace cellgate
