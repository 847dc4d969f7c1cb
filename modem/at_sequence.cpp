#include "modem/at_sequence.hpp"

#include "base/guarded.hpp"
#include "base/log.hpp"
#include "modem/vendor.hpp"

namespace cellgate::modem {
namespace {

// What goes in a log line: the PIN and APN credentials never do.
std::string loggable(const std::string& command) {
    if (command.rfind("AT+CPIN=", 0) == 0) return "AT+CPIN=***";
    return redacted(command);
}

}  // namespace

AtSequence::AtSequence(Scheduler& sched, AtTransport& at) : at_(at) {
    wait_timer_ = sched.make_timer([this] {
        auto fn = std::move(waiting_);
        waiting_ = nullptr;
        if (fn) guard("delayed step", fn);
    });
}

void AtSequence::send(std::string command, std::chrono::milliseconds timeout, AtCallback then) {
    log::debug("modem: > ", loggable(command));
    at_.send(std::move(command), timeout, [this, life = life_.token(), then = std::move(then)](const AtResult& r) {
        if (!life) return;                               // restarted (or gone) since it was asked
        if (r.status == AtStatus::port_closed) return;   // the transport's on_lost takes over
        consecutive_timeouts_ = r.status == AtStatus::timeout ? consecutive_timeouts_ + 1 : 0;
        guard("AT reply", [&] { then(r); });
    });
}

void AtSequence::run_all(std::vector<Query> queries, std::function<void()> done) {
    if (queries.empty()) {
        done();
        return;
    }
    auto q = std::move(queries.front());
    queries.erase(queries.begin());
    send(q.command, q.timeout,
         [this, take = std::move(q.take), rest = std::move(queries), done = std::move(done)](const AtResult& r) mutable {
             if (take) take(r);
             run_all(std::move(rest), std::move(done));
         });
}

void AtSequence::run_required(std::vector<AtStep> steps, std::function<void()> done, StepFailed failed) {
    if (steps.empty()) {
        done();
        return;
    }
    auto step = std::move(steps.front());
    steps.erase(steps.begin());
    send(step, [this, step, rest = std::move(steps), done = std::move(done), failed = std::move(failed)](
                   const AtResult& r) mutable {
        if (!r.ok()) {
            failed(step, r);
            return;
        }
        run_required(std::move(rest), std::move(done), std::move(failed));
    });
}

void AtSequence::after(std::chrono::milliseconds delay, std::function<void()> fn) {
    waiting_ = std::move(fn);
    wait_timer_->arm(delay);
}

void AtSequence::restart() {
    life_.renew();
    waiting_ = nullptr;
    wait_timer_->cancel();
    consecutive_timeouts_ = 0;
    at_.cancel_all();
}

void AtSequence::guard(const char* step, const std::function<void()>& fn) {
    const std::string where = std::string("modem: ") + step;
    if (guarded(where.c_str(), fn) == 0 || !on_broken) return;
    guarded(where.c_str(), [&] { on_broken(step); });
}

}  // namespace cellgate::modem
