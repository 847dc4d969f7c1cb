#include "bridge/poison_probe.hpp"

#include <utility>

#include "base/guarded.hpp"

namespace cellgate::bridge {

const char* to_string(ProbeState s) {
    switch (s) {
    case ProbeState::none: return "none";
    case ProbeState::suspect: return "suspect";
    case ProbeState::held_back: return "held-back";
    case ProbeState::probing: return "probing";
    }
    return "unknown";
}

PoisonProbe::PoisonProbe(Scheduler& sched, std::string name, unsigned strikes, milliseconds window,
                         std::function<void(uint64_t row)> guilty)
    : sched_(sched),
      name_(std::move(name)),
      where_("cloud " + name_ + ": poison probe"),
      max_strikes_(strikes),
      window_(window),
      guilty_(std::move(guilty)) {
    timer_ = sched_.make_timer([this] { guarded(where_.c_str(), [this] { on_window(); }); });
}

uint64_t PoisonProbe::held_back() const {
    return state_ == ProbeState::held_back || state_ == ProbeState::probing ? suspect_ : 0;
}

void PoisonProbe::set_state(ProbeState next, log::Level level, std::string_view reason) {
    if (next == state_) return;
    log::emit(level, where_, ": ", to_string(state_), " -> ", to_string(next), " (", reason, ")");
    state_ = next;
}

void PoisonProbe::clear(std::string_view reason, log::Level level) {
    set_state(ProbeState::none, level, reason);
    suspect_ = 0;
    strikes_ = 0;
    timer_->cancel();
}

void PoisonProbe::acknowledged(uint64_t row) {
    if (state_ == ProbeState::suspect && row == suspect_)
        clear("message " + std::to_string(row) + " was acknowledged");
}

void PoisonProbe::connected() {
    if (state_ != ProbeState::held_back && state_ != ProbeState::probing) return;
    set_state(ProbeState::probing, log::Level::debug, "connected without message " + std::to_string(suspect_));
    timer_->arm(window_);
}

void PoisonProbe::connection_lost(std::optional<Sent> oldest, bool link_down) {
    const bool ours = std::exchange(ours_, false);
    timer_->cancel();
    if (held_back() != 0) {
        clear("the connection ended without message " + std::to_string(suspect_) +
                  " too; it is not the cause and goes first again",
              log::Level::info);
        return;
    }
    const bool suspicious = oldest && !ours && !link_down && sched_.now() - oldest->at < window_;
    if (!suspicious) {
        clear(oldest ? "a connection ended, not right after message " + std::to_string(oldest->id)
                     : std::string("a connection ended with nothing in flight"));
        return;
    }
    strikes_ = state_ == ProbeState::suspect && suspect_ == oldest->id ? strikes_ + 1 : 1;
    suspect_ = oldest->id;
    if (strikes_ >= max_strikes_) {
        set_state(ProbeState::held_back, log::Level::warning,
                  "the broker closed the last " + std::to_string(strikes_) + " connections within " +
                      std::to_string(window_.count()) + " ms of message " + std::to_string(suspect_) +
                      "; holding it back on the next connection to see whether it is the cause");
        return;
    }
    const std::string why = "the connection ended within " + std::to_string(window_.count()) + " ms of message " +
                            std::to_string(suspect_) + " (strike " + std::to_string(strikes_) + " of " +
                            std::to_string(max_strikes_) + ")";
    if (state_ == ProbeState::suspect) log::debug(where_, ": ", why);
    set_state(ProbeState::suspect, log::Level::debug, why);
}

void PoisonProbe::on_window() {
    if (state_ != ProbeState::probing) return;
    const uint64_t row = suspect_;
    clear("dropping queued message " + std::to_string(row) + ": the broker closed " + std::to_string(strikes_) +
              " connections in a row right after it, and keeps one without it (a topic or payload it refuses?)",
          log::Level::err);
    if (guilty_) guilty_(row);
}

}  // namespace cellgate::bridge
