// The plumbing under the bring-up script: AT commands sent one continuation after another, a
// single "wait, then go on" timer, and restart(), after which nothing that belonged to the old
// steps (a late answer, a pending wait) can run into the new ones. Every continuation runs under
// the one exception guard: a throwing one is logged and reported through on_broken, and the AT
// channel under it carries on.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/lifetime.hpp"
#include "base/loop.hpp"
#include "modem/at_types.hpp"

namespace cellgate::modem {

class AtSequence {
public:
    struct Query {
        std::string command;
        std::chrono::milliseconds timeout;
        std::function<void(const AtResult&)> take;  // null when only sending it matters
    };
    using StepFailed = std::function<void(const AtStep&, const AtResult&)>;

    AtSequence(Scheduler& sched, AtTransport& at);
    AtSequence(const AtSequence&) = delete;
    AtSequence& operator=(const AtSequence&) = delete;

    // `then` gets the result unless restart() came first or the port closed meanwhile (the
    // transport's on_lost tells the owner about that).
    void send(std::string command, std::chrono::milliseconds timeout, AtCallback then);
    void send(const AtStep& step, AtCallback then) { send(step.command, step.timeout, std::move(then)); }
    // Every query in order whatever each one answers, then `done`.
    void run_all(std::vector<Query> queries, std::function<void()> done);
    // The steps in order while each answers OK; the first that does not goes to `failed` instead.
    void run_required(std::vector<AtStep> steps, std::function<void()> done, StepFailed failed);
    // Runs `fn` after `delay`. There is one such wait: a new one replaces the pending one.
    void after(std::chrono::milliseconds delay, std::function<void()> fn);

    // The steps so far become meaningless: their answers are dropped, the wait is cancelled, the
    // transport fails what it still holds, and the count of timeouts starts over.
    void restart();

    // Commands in a row that got no answer at all (a wedged module, rather than a slow one).
    int consecutive_timeouts() const { return consecutive_timeouts_; }

    // Runs `fn` under the guard; the owner wraps its own timers and transport events with it too.
    // `step` names it in the log ("modem: <step>: <what>") and in on_broken.
    void guard(const char* step, const std::function<void()>& fn);
    // A continuation threw, so the script it belonged to stopped half way through a step.
    std::function<void(const std::string& step)> on_broken;

private:
    AtTransport& at_;
    Lifetime life_;  // renewed by restart(): answers carry a token from the time they were asked
    std::unique_ptr<Timer> wait_timer_;
    std::function<void()> waiting_;
    int consecutive_timeouts_ = 0;
};

}  // namespace cellgate::modem
