#include "modem/recovery_ladder.hpp"

#include <algorithm>
#include <array>

namespace cellgate::modem {
namespace {

struct Rung {
    RecoveryStep step;
    unsigned attempts;
};

// Cheap and harmless first; a module reset (which drops the USB device) only after everything
// gentler has failed twice over. The same shape as ModemManager's and RUTOS' escalation, with the
// counts kept small because each rung already waits a doubling backoff.
constexpr std::array<Rung, 4> kRungs{{
    {RecoveryStep::retry, 2},
    {RecoveryStep::reattach, 1},
    {RecoveryStep::radio_cycle, 2},
    {RecoveryStep::module_reset, 1},
}};

constexpr unsigned ladder_length() {
    unsigned n = 0;
    for (const auto& r : kRungs) n += r.attempts;
    return n;
}

}  // namespace

const char* to_string(RecoveryStep step) {
    switch (step) {
        case RecoveryStep::none: return "";
        case RecoveryStep::retry: return "retry";
        case RecoveryStep::reattach: return "reattach";
        case RecoveryStep::radio_cycle: return "radio-cycle";
        case RecoveryStep::module_reset: return "module-reset";
    }
    return "";
}

RecoveryLadder::RecoveryLadder(std::chrono::milliseconds initial_backoff, std::chrono::milliseconds max_backoff)
    : initial_(initial_backoff), max_(std::max(initial_backoff, max_backoff)) {}

RecoveryAction RecoveryLadder::next() {
    const unsigned index = attempts_ % ladder_length();
    ++attempts_;

    RecoveryAction action;
    action.attempt = attempts_;
    unsigned seen = 0;
    for (const auto& rung : kRungs) {
        if (index < seen + rung.attempts) {
            action.step = rung.step;
            break;
        }
        seen += rung.attempts;
    }
    // Doubling backoff; the shift is capped so it cannot overflow on a module that fails for weeks.
    const unsigned shift = std::min(attempts_ - 1, 20u);
    const auto grown = initial_ * (1LL << shift);
    action.delay = std::min<std::chrono::milliseconds>(grown, max_);
    return action;
}

void RecoveryLadder::reset() { attempts_ = 0; }

}  // namespace cellgate::modem
