// A real, single-threaded Scheduler over poll(2) and the steady clock, for tests that need actual
// I/O (ptys, sockets) rather than the hand-cranked FakeScheduler.
#pragma once

#include <poll.h>
#include <sys/epoll.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <vector>

#include "base/loop.hpp"

namespace cellgate::testing {

class PollScheduler final : public Scheduler {
public:
    Clock::time_point now() const override { return Clock::now(); }

    std::unique_ptr<Timer> make_timer(std::function<void()> fire) override {
        auto rec = std::make_shared<TimerRec>();
        rec->fire = std::move(fire);
        timers_.push_back(rec);
        return std::make_unique<PollTimer>(rec);
    }

    std::unique_ptr<IoWatch> watch_fd(int fd, uint32_t events, std::function<void(uint32_t)> ready) override {
        auto rec = std::make_shared<WatchRec>();
        rec->fd = fd;
        rec->events = events;
        rec->ready = std::move(ready);
        watches_.push_back(rec);
        return std::make_unique<PollWatch>(rec);
    }

    void defer(std::function<void()> fn) override { deferred_.push_back(std::move(fn)); }

    // One loop iteration: deferred work, then waits up to `max_wait` for I/O or the next timer
    // and dispatches what is ready.
    void run_once(milliseconds max_wait) {
        run_deferred();
        prune();
        auto wait = max_wait;
        const auto t = Clock::now();
        for (const auto& tr : timers_)
            if (tr->armed) wait = std::min(wait, std::chrono::ceil<milliseconds>(std::max(tr->due - t, Clock::duration{})));
        if (!deferred_.empty()) wait = milliseconds(0);

        std::vector<std::shared_ptr<WatchRec>> ws(watches_.begin(), watches_.end());
        std::vector<pollfd> pfds;
        for (const auto& w : ws) {
            short ev = 0;
            if (w->events & EPOLLIN) ev |= POLLIN;
            if (w->events & EPOLLOUT) ev |= POLLOUT;
            pfds.push_back(pollfd{w->fd, ev, 0});
        }
        ::poll(pfds.data(), pfds.size(), static_cast<int>(wait.count()));
        for (std::size_t i = 0; i < ws.size(); ++i) {
            if (!ws[i]->alive || pfds[i].revents == 0) continue;
            uint32_t rev = 0;
            if (pfds[i].revents & POLLIN) rev |= EPOLLIN;
            if (pfds[i].revents & POLLOUT) rev |= EPOLLOUT;
            if (pfds[i].revents & POLLHUP) rev |= EPOLLHUP;
            if (pfds[i].revents & (POLLERR | POLLNVAL)) rev |= EPOLLERR;
            auto keep = ws[i];  // the callback may destroy its own watch
            keep->ready(rev);
        }
        const auto fired = Clock::now();
        std::vector<std::shared_ptr<TimerRec>> ts(timers_.begin(), timers_.end());
        std::sort(ts.begin(), ts.end(), [](const auto& a, const auto& b) { return a->due < b->due; });
        for (const auto& tr : ts) {
            if (!tr->alive || !tr->armed || tr->due > fired) continue;
            tr->armed = false;
            auto keep = tr;
            keep->fire();
        }
        run_deferred();
    }

    // Runs until `done()` or until `limit` has passed; returns done().
    template <class Pred>
    bool run_until(Pred done, milliseconds limit = milliseconds(2000)) {
        const auto end = Clock::now() + limit;
        for (;;) {
            run_deferred();
            if (done()) return true;
            const auto left = std::chrono::ceil<milliseconds>(end - Clock::now());
            if (left <= milliseconds(0)) return done();
            run_once(std::min(left, milliseconds(20)));
        }
    }

    // Keeps the loop turning for `d` (to prove that something does NOT happen).
    void run_for(milliseconds d) {
        run_until([] { return false; }, d);
    }

    void run_deferred() {
        while (!deferred_.empty()) {
            auto batch = std::move(deferred_);
            deferred_.clear();
            for (auto& fn : batch) fn();
        }
    }

private:
    struct TimerRec {
        std::function<void()> fire;
        bool armed = false;
        bool alive = true;
        Clock::time_point due{};
    };
    struct WatchRec {
        int fd = -1;
        uint32_t events = 0;
        std::function<void(uint32_t)> ready;
        bool alive = true;
    };
    struct PollTimer final : Timer {
        explicit PollTimer(std::shared_ptr<TimerRec> r) : rec(std::move(r)) {}
        ~PollTimer() override { rec->alive = false; rec->armed = false; }
        void arm(milliseconds delay) override { rec->armed = true; rec->due = Clock::now() + delay; }
        void cancel() override { rec->armed = false; }
        bool armed() const override { return rec->armed; }
        std::shared_ptr<TimerRec> rec;
    };
    struct PollWatch final : IoWatch {
        explicit PollWatch(std::shared_ptr<WatchRec> r) : rec(std::move(r)) {}
        ~PollWatch() override { rec->alive = false; }
        void set_events(uint32_t ev) override { rec->events = ev; }
        std::shared_ptr<WatchRec> rec;
    };

    void prune() {
        std::erase_if(timers_, [](const auto& t) { return !t->alive; });
        std::erase_if(watches_, [](const auto& w) { return !w->alive; });
    }

    std::vector<std::shared_ptr<TimerRec>> timers_;
    std::vector<std::shared_ptr<WatchRec>> watches_;
    std::vector<std::function<void()>> deferred_;
};

}  // namespace cellgate::testing
