// Local messages on their way into the outbox, and what happens while it cannot take them (its
// disk is full, or failing). libmosquitto acknowledges a QoS 1 message before handing it over, so
// the local broker has forgotten every message that reaches us: none may be dropped here. One the
// outbox refuses is held in memory, in order, and the local connection is paused: the local
// broker then queues what the applications publish (a kept session, QoS 1 subscriptions; its own
// limits apply, e.g. mosquitto's max_queued_messages). The oldest held message is offered again,
// at growing intervals; once the outbox takes it, the rest follow and the connection resumes.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "base/lifetime.hpp"
#include "base/loop.hpp"
#include "bridge/outbox.hpp"

namespace cellgate::cloud {
class Session;
}

namespace cellgate::bridge {

enum class IntakeState {
    taking,   // local messages go to the outbox as they come
    holding,  // the outbox refused one: local connection paused, refused messages held
};
const char* to_string(IntakeState s);

class LocalIntake {
public:
    // `local` (the local broker connection) outlives the intake.
    LocalIntake(Scheduler& sched, Outbox& outbox, cloud::Session& local);
    // Resumes the local connection (a rebuilt bridge takes from it again); what is still held is
    // lost, and said so.
    ~LocalIntake();
    LocalIntake(const LocalIntake&) = delete;
    LocalIntake& operator=(const LocalIntake&) = delete;

    void submit(OutboxMessage m);

    IntakeState state() const { return state_; }
    size_t held() const { return held_.size(); }

    // A message given up on: more than kMaxHeldBytes held (the local connection was paused, so
    // only what was on its way can pile up). Counted and logged by the bridge.
    std::function<void(const std::string& session, const std::string& why)> on_lost;

    static constexpr uint64_t kMaxHeldBytes = 16u << 20;
    static constexpr std::chrono::milliseconds kFirstRetry{500};
    static constexpr std::chrono::milliseconds kMaxRetry{5000};

private:
    void set_state(IntakeState next, const std::string& reason);
    void send(uint64_t seq, OutboxMessage m);
    void hold(uint64_t seq, OutboxMessage m);
    void completed(uint64_t seq, const std::expected<uint64_t, OutboxError>& r);
    void retry();

    Scheduler& sched_;
    Outbox& outbox_;
    cloud::Session& local_;
    IntakeState state_ = IntakeState::taking;
    uint64_t next_seq_ = 1;
    uint64_t in_flight_ = 0;                  // enqueued, not yet committed (a refusal hands them back)
    std::map<uint64_t, OutboxMessage> held_;       // refused, by arrival
    uint64_t held_bytes_ = 0;
    uint64_t probe_seq_ = 0;  // the held message offered again, 0 when none is on its way
    std::chrono::milliseconds retry_in_ = kFirstRetry;
    std::string last_refusal_;
    std::unique_ptr<Timer> retry_timer_;
    Lifetime life_;
};

}  // namespace cellgate::bridge
