// A Scheduler whose time moves only when a test calls advance(): state machines under test see
// timeouts and backoffs without sleeping.
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "base/loop.hpp"

namespace cellgate::testing {

class FakeScheduler final : public Scheduler {
public:
    Clock::time_point now() const override { return now_; }

    std::unique_ptr<Timer> make_timer(std::function<void()> fire) override {
        return std::make_unique<FakeTimer>(*this, std::move(fire));
    }

    std::unique_ptr<IoWatch> watch_fd(int, uint32_t, std::function<void(uint32_t)>) override {
        struct NoWatch final : IoWatch {
            void set_events(uint32_t) override {}
        };
        return std::make_unique<NoWatch>();
    }

    void defer(std::function<void()> fn) override { deferred_.push_back(std::move(fn)); }

    // Runs deferred work and every timer due within `d`, in expiry order, moving the clock.
    void advance(milliseconds d) {
        const auto end = now_ + d;
        run_deferred();
        for (;;) {
            FakeTimer* next = nullptr;
            for (auto* t : timers_)
                if (t->armed_ && t->due_ <= end && (!next || t->due_ < next->due_)) next = t;
            if (!next) break;
            now_ = std::max(now_, next->due_);
            next->armed_ = false;
            auto fire = next->fire_;  // the callback may destroy the timer
            fire();
            run_deferred();
        }
        now_ = end;
    }

    void run_deferred() {
        while (!deferred_.empty()) {
            auto batch = std::move(deferred_);
            deferred_.clear();
            for (auto& fn : batch) fn();
        }
    }

    size_t armed_timers() const {
        return static_cast<size_t>(std::count_if(timers_.begin(), timers_.end(), [](auto* t) { return t->armed_; }));
    }

private:
    struct FakeTimer final : Timer {
        FakeTimer(FakeScheduler& s, std::function<void()> f) : sched_(s), fire_(std::move(f)) { sched_.timers_.push_back(this); }
        ~FakeTimer() override { std::erase(sched_.timers_, this); }
        void arm(milliseconds delay) override { armed_ = true; due_ = sched_.now_ + delay; }
        void cancel() override { armed_ = false; }
        bool armed() const override { return armed_; }
        FakeScheduler& sched_;
        std::function<void()> fire_;
        bool armed_ = false;
        Clock::time_point due_{};
    };

    Clock::time_point now_{};
    std::vector<FakeTimer*> timers_;
    std::vector<std::function<void()>> deferred_;
};

}  // namespace cellgate::testing
