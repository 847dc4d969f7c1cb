// The escalation policy for a wedged module, kept pure so its arithmetic is table-tested:
// each failure climbs one rung (after the rung's attempts are used up), and every attempt waits a
// doubling backoff. A module that keeps failing ends up trying a reset every `max_backoff`, never
// faster — the ladder never gives up (nobody will drive to the site) and never hammers.
#pragma once

#include <chrono>
#include <string_view>

namespace cellgate::modem {

enum class RecoveryStep { none, retry, reattach, radio_cycle, module_reset };
const char* to_string(RecoveryStep step);  // "", "retry", "reattach", "radio-cycle", "module-reset"

struct RecoveryAction {
    RecoveryStep step = RecoveryStep::none;
    std::chrono::milliseconds delay{0};  // wait this long before doing it
    unsigned attempt = 0;                // 1-based attempt number within this episode
};

class RecoveryLadder {
public:
    RecoveryLadder(std::chrono::milliseconds initial_backoff, std::chrono::milliseconds max_backoff);

    // A failure happened: returns what to do next and when.
    RecoveryAction next();
    // The module has been healthy long enough: start from the bottom rung again.
    void reset();
    // Attempts in the current episode (0 when healthy).
    unsigned attempts() const { return attempts_; }

private:
    std::chrono::milliseconds initial_, max_;
    unsigned attempts_ = 0;
};

}  // namespace cellgate::modem
