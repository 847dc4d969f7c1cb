#include "bridge/local_intake.hpp"

#include <algorithm>
#include <utility>

#include "base/guarded.hpp"
#include "base/log.hpp"
#include "cloud/session.hpp"

namespace cellgate::bridge {

const char* to_string(IntakeState s) {
    switch (s) {
        case IntakeState::taking: return "taking";
        case IntakeState::holding: return "holding";
    }
    return "unknown";
}

LocalIntake::LocalIntake(Scheduler& sched, Outbox& outbox, cloud::Session& local)
    : sched_(sched), outbox_(outbox), local_(local) {
    retry_timer_ = sched_.make_timer([this] { guarded("bridge: offering held local messages again", [&] { retry(); }); });
}

LocalIntake::~LocalIntake() {
    if (!held_.empty())
        log::error("bridge: ", held_.size(), " local message", held_.size() == 1 ? "" : "s",
                   " the outbox could not take ", held_.size() == 1 ? "is" : "are", " lost (", last_refusal_, ")");
    if (state_ == IntakeState::holding) local_.resume("the bridge is rebuilt");
}

void LocalIntake::set_state(IntakeState next, const std::string& reason) {
    if (next == state_) return;
    const IntakeState old = std::exchange(state_, next);
    if (next == IntakeState::holding) {
        log::warning("bridge: local intake ", to_string(old), " -> ", to_string(next), " (", reason,
                     "); the local broker queues meanwhile");
        local_.pause("the outbox cannot take messages");
    } else {
        log::notice("bridge: local intake ", to_string(old), " -> ", to_string(next), " (", reason, ")");
        local_.resume(reason);
    }
}

void LocalIntake::submit(OutboxMessage m) {
    const uint64_t seq = next_seq_++;
    // Still arriving after the pause was asked for: what the client had read before it closed.
    if (state_ == IntakeState::holding) return hold(seq, std::move(m));
    send(seq, std::move(m));
}

void LocalIntake::send(uint64_t seq, OutboxMessage m) {
    ++in_flight_;
    outbox_.enqueue(std::move(m), [this, alive = life_.token(), seq](std::expected<uint64_t, OutboxError> r) {
        if (alive.expired()) return;
        guarded("bridge: a local message's commit", [&] { completed(seq, r); });
    });
}

void LocalIntake::hold(uint64_t seq, OutboxMessage m) {
    const uint64_t bytes = m.payload.size();
    if (held_bytes_ + bytes > kMaxHeldBytes) {
        if (on_lost)
            on_lost(m.session, "more than " + std::to_string(kMaxHeldBytes >> 20) +
                                   " MiB held while the outbox cannot take them (" + last_refusal_ + ")");
        return;
    }
    held_bytes_ += bytes;
    held_.emplace(seq, std::move(m));
}

void LocalIntake::completed(uint64_t seq, const std::expected<uint64_t, OutboxError>& r) {
    --in_flight_;
    const bool probe = seq == probe_seq_;
    if (probe) probe_seq_ = 0;
    if (!r) {
        last_refusal_ = r.error().message;
        if (r.error().refused) hold(seq, *r.error().refused);
        else log::error("bridge: a local message is lost: the outbox refused it without handing it back (", last_refusal_, ")");
        if (state_ == IntakeState::taking) {
            retry_in_ = kFirstRetry;
            set_state(IntakeState::holding, r.error().message);
        } else if (probe) {
            retry_in_ = std::min(retry_in_ * 2, kMaxRetry);
        }
        if (probe_seq_ == 0 && !retry_timer_->armed()) retry_timer_->arm(retry_in_);
        return;
    }
    if (state_ != IntakeState::holding) return;
    if (probe && !held_.empty()) {
        // The outbox takes messages again: the rest follow, in their order.
        retry_in_ = kFirstRetry;
        retry_timer_->cancel();
        auto rest = std::exchange(held_, {});
        held_bytes_ = 0;
        for (auto& [s, m] : rest) send(s, std::move(m));
        return;
    }
    if (held_.empty() && in_flight_ == 0) set_state(IntakeState::taking, "the outbox takes messages again");
}

// One message, the oldest held, tells whether the outbox has room again.
void LocalIntake::retry() {
    if (state_ != IntakeState::holding || probe_seq_ != 0) return;
    if (held_.empty()) {
        if (in_flight_ == 0) set_state(IntakeState::taking, "nothing held");
        return;
    }
    auto node = held_.extract(held_.begin());
    held_bytes_ -= node.mapped().payload.size();
    probe_seq_ = node.key();
    send(node.key(), std::move(node.mapped()));
}

}  // namespace cellgate::bridge
