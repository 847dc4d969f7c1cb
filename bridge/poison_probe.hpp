// Whether one queued row is what makes the broker close the connection (AWS IoT does, for a topic
// the device may not publish to). Such a row goes first on every connection and would block its
// session for good; a broker that is merely unwell must not cost a single row.
//
//   none --(a connection ends within `window` of sending row R)--> suspect R, strike 1
//   suspect R --(the same again)--> strike n+1; at `strikes`: held_back R
//   suspect R --(R acknowledged, or a connection ends otherwise)--> none
//   held_back R --(a connection is up, without R)--> probing R
//   probing R --(that connection lives `window`)--> none: R was the cause and is dropped
//   held_back/probing R --(that connection ends anyway)--> none: R goes first again
//
// Connections that end for the modem's link or on our own request are not the broker's doing and
// clear the suspicion.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/log.hpp"
#include "base/loop.hpp"

namespace cellgate::bridge {

enum class ProbeState {
    none,       // no row under suspicion
    suspect,    // the last connection(s) ended right after this row was sent
    held_back,  // struck out: the next connection goes without it
    probing,    // that connection is up; the row's verdict is due `window` later
};
const char* to_string(ProbeState s);

class PoisonProbe {
public:
    struct Sent {
        uint64_t id = 0;
        Clock::time_point at{};
    };

    // `guilty` runs (from the probe's timer) with the row to drop, once a connection without it
    // lived `window`. `name` is the session's, for the log.
    PoisonProbe(Scheduler& sched, std::string name, unsigned strikes, milliseconds window,
                std::function<void(uint64_t row)> guilty);
    PoisonProbe(const PoisonProbe&) = delete;
    PoisonProbe& operator=(const PoisonProbe&) = delete;

    ProbeState state() const { return state_; }
    uint64_t suspect() const { return suspect_; }  // 0 in none
    unsigned strikes() const { return strikes_; }
    // The row not to send on this connection, 0 for none.
    uint64_t held_back() const;

    // We end this connection ourselves (a missing PUBACK): its end is not the broker's doing.
    void reconnect_requested() { ours_ = true; }
    // `row`'s PUBACK came through: it does not make the broker close the connection.
    void acknowledged(uint64_t row);
    // A connection is up: a row held back is on probation from now.
    void connected();
    // A connection ended; `oldest` is the oldest row then in flight, `link_down` whether the
    // modem's link went.
    void connection_lost(std::optional<Sent> oldest, bool link_down);

private:
    void set_state(ProbeState next, log::Level level, std::string_view reason);
    void clear(std::string_view reason, log::Level level = log::Level::debug);
    void on_window();

    Scheduler& sched_;
    const std::string name_;
    const std::string where_;  // for the guard around the timer
    const unsigned max_strikes_;
    const milliseconds window_;
    std::function<void(uint64_t)> guilty_;
    std::unique_ptr<Timer> timer_;  // armed in probing only

    ProbeState state_ = ProbeState::none;
    uint64_t suspect_ = 0;
    unsigned strikes_ = 0;
    bool ours_ = false;  // reconnect_requested() since the last connection_lost()
};

}  // namespace cellgate::bridge
