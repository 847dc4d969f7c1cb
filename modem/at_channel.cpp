#include "modem/at_channel.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <sys/epoll.h>
#include <utility>
#include <vector>

#include "base/lifetime.hpp"
#include "base/log.hpp"
#include "modem/at_parser.hpp"
#include "modem/at_redact.hpp"

namespace cellgate::modem {
namespace {

// After a timeout the module may still answer the abandoned command. Its late lines must not be
// taken for the next command's reply, so nothing is sent until the late final result shows up or
// the line has been quiet for clamp(timeout, 100 ms, 1 s) (restarted by every non-URC line, but
// never longer than 4 quiet periods in all, so a babbling module cannot stall the queue).
// Modules answer in order, so a reply later than that still lands before the next reply; it is
// then taken as the next command's and the real one is dropped as stray: one wrong result instead
// of a permanent shift.
milliseconds drain_quiet_period(milliseconds timeout) {
    return std::clamp(timeout, milliseconds(100), milliseconds(1000));
}
constexpr int kDrainMaxPeriods = 4;

// Reads per wakeup: a flooding port must not starve the rest of the loop (the watch is
// level-triggered, so we come back for the rest).
constexpr int kMaxReadsPerWakeup = 16;

// Only the command name goes to logs: arguments can be a PIN or an APN password.
std::string command_name_for_log(std::string_view cmd) {
    const auto end = cmd.find_first_of("=?;\"");
    return std::string(cmd.substr(0, std::min<std::size_t>(end, 32)));
}

std::string errno_text(ssize_t negative_errno) {
    return std::strerror(static_cast<int>(-negative_errno));
}

// closed: no port (not there yet, or lost). idle: open, nothing in flight. busy: one command
// written, its reply being collected. draining: a command was abandoned (timeout, cancel_all) and
// its late reply is let through before the next command goes out.
enum class ChannelState { closed, idle, busy, draining };

const char* to_string(ChannelState s) {
    switch (s) {
        case ChannelState::closed: return "closed";
        case ChannelState::idle: return "idle";
        case ChannelState::busy: return "busy";
        case ChannelState::draining: return "draining";
    }
    return "unknown";
}

}  // namespace

struct AtChannel::Impl {
    struct Command {
        std::string text;
        milliseconds timeout;
        AtCallback cb;
        std::optional<std::string> data;  // written after the prompt (send_data)
    };

    AtChannel& self;
    Scheduler& sched;
    Opener opener;
    milliseconds reopen_interval;

    ChannelState state = ChannelState::closed;
    std::unique_ptr<SerialPort> port;  // set exactly when not closed
    std::unique_ptr<IoWatch> watch;
    std::unique_ptr<Timer> command_timer;
    std::unique_ptr<Timer> drain_timer;
    std::unique_ptr<Timer> reopen_timer;

    LineSplitter splitter;
    std::string out;  // bytes not yet accepted by the port
    bool want_out = false;

    std::deque<Command> queue;
    Command current;  // when busy
    AtResult result;  // being built for `current`
    bool echo_seen = false;

    // When draining: the abandoned command, so its late info lines are recognised.
    std::string drain_command;
    milliseconds drain_period{};
    Clock::time_point drain_deadline{};

    // Work posted from API calls, run in order from one deferred callback (see post()).
    std::vector<std::function<void()>> posted;
    bool flush_scheduled = false;

    // Expires with the channel, so deferred work and loops over user callbacks can tell.
    Lifetime life;
    // Renewed whenever the port closes, so a loop over lines of a dead port stops.
    Lifetime port_life;

    Impl(AtChannel& s, Scheduler& sc, Opener o, milliseconds interval)
        : self(s), sched(sc), opener(std::move(o)), reopen_interval(interval) {
        command_timer = sched.make_timer([this] { on_command_timeout(); });
        drain_timer = sched.make_timer([this] { end_drain("quiet"); });
        reopen_timer = sched.make_timer([this] { try_open(false); });
    }

    void set_state(ChannelState next, std::string_view reason) {
        if (next == state) return;
        log::debug("at: ", to_string(state), " -> ", to_string(next), " (", reason, ")");
        state = next;
    }

    // Callbacks owed from inside an API call (send, cancel_all, drop, start) run from the loop,
    // in the order they were owed, and never after the channel is gone.
    void post(std::function<void()> fn) {
        posted.push_back(std::move(fn));
        if (flush_scheduled) return;
        flush_scheduled = true;
        sched.defer([this, alive = life.token()] {
            if (!alive) return;
            flush_scheduled = false;
            auto batch = std::move(posted);
            posted.clear();
            for (auto& work : batch) {
                work();
                if (!alive) return;
            }
        });
    }

    void try_open(bool from_api) {
        if (port) return;
        std::string error;
        auto p = opener(error);
        if (!p) {
            log::debug("AT port not available: ", error);
            reopen_timer->arm(reopen_interval);
            return;
        }
        port = std::move(p);
        splitter.reset();
        out.clear();
        want_out = false;
        watch = sched.watch_fd(port->fd(), EPOLLIN, [this](uint32_t revents) { on_io(revents); });
        set_state(ChannelState::idle, "port open: " + port->path());
        if (from_api) {
            post([this] { notify_opened(); });
        } else {
            notify_opened();
        }
    }

    void notify_opened() {
        if (!port) return;  // lost again before the news was delivered
        if (self.on_opened) self.on_opened();
    }

    // The port vanished (or is dropped on purpose): everything in flight fails, the owner hears
    // about it, and we start looking for the port again.
    void lose(const std::string& why) {
        if (state == ChannelState::closed) return;
        auto failed = take_all();
        set_state(ChannelState::closed, why);
        port_life.renew();
        watch.reset();
        port.reset();
        splitter.reset();
        out.clear();
        want_out = false;
        drain_timer->cancel();
        drain_command.clear();
        post([this, failed = std::move(failed), why]() mutable {
            fail_all(std::move(failed));
            if (self.on_lost) self.on_lost(why);
        });
        reopen_timer->arm(reopen_interval);
    }

    // The command in flight and everything queued, in order; the state is the caller's to set.
    std::vector<Command> take_all() {
        std::vector<Command> all;
        if (state == ChannelState::busy) all.push_back(take_current());
        for (auto& c : queue) all.push_back(std::move(c));
        queue.clear();
        return all;
    }

    Command take_current() {
        command_timer->cancel();
        return std::exchange(current, Command{});
    }

    void fail_all(std::vector<Command> cmds) {
        const auto alive = life.token();
        for (auto& c : cmds) {
            AtResult r;
            r.status = AtStatus::port_closed;
            r.error_text = "port closed";
            c.cb(r);
            if (!alive) return;
        }
    }

    void send(std::string text, milliseconds timeout, AtCallback cb, std::optional<std::string> data = {}) {
        if (state == ChannelState::closed) {
            post([cb = std::move(cb)] {
                AtResult r;
                r.status = AtStatus::port_closed;
                r.error_text = "port closed";
                cb(r);
            });
            return;
        }
        queue.push_back(Command{std::move(text), timeout, std::move(cb), std::move(data)});
        pump();
    }

    void cancel_all() {
        const bool abandon = state == ChannelState::busy;
        auto failed = take_all();
        if (abandon) start_drain(failed.front().text, failed.front().timeout, "cancelled");
        if (!failed.empty()) post([this, failed = std::move(failed)]() mutable { fail_all(std::move(failed)); });
    }

    // Starts the next command when the line is free.
    void pump() {
        if (state != ChannelState::idle || queue.empty()) return;
        current = std::move(queue.front());
        queue.pop_front();
        result = AtResult{};
        echo_seen = false;
        set_state(ChannelState::busy, command_name_for_log(current.text));
        command_timer->arm(current.timeout);
        // Both directions of the dialogue go to the debug log, secrets masked, so a field report
        // can be read from the journal.
        if (log::enabled(log::Level::debug)) log::debug("at > ", redacted(current.text));
        write(current.text + "\r");
    }

    void write(std::string_view bytes) {
        out.append(bytes);
        flush_out();
    }

    void flush_out() {
        while (port && !out.empty()) {
            const auto n = port->write(out.data(), out.size());
            if (n == -EAGAIN || n == -EINTR) break;
            if (n < 0) {
                lose("write failed: " + errno_text(n));
                return;
            }
            out.erase(0, static_cast<std::size_t>(n));
        }
        if (!port) return;
        const bool need = !out.empty();
        if (need != want_out) {
            want_out = need;
            watch->set_events(need ? EPOLLIN | EPOLLOUT : EPOLLIN);
        }
    }

    void on_io(uint32_t revents) {
        const auto alive = life.token();
        const auto same_port = port_life.token();
        if (revents & EPOLLOUT) flush_out();
        if (!same_port) return;

        // Read before acting on HUP/ERR: the last reply may sit in the buffer of a dying port.
        std::string bytes;
        std::optional<std::string> lost_why;
        char buf[4096];
        for (int i = 0; i < kMaxReadsPerWakeup; ++i) {
            const auto n = port->read(buf, sizeof buf);
            if (n > 0) {
                bytes.append(buf, static_cast<std::size_t>(n));
                continue;
            }
            if (n == 0) lost_why = "end of file";
            else if (n != -EAGAIN && n != -EINTR) lost_why = "read failed: " + errno_text(n);
            break;
        }
        if (!lost_why && (revents & (EPOLLHUP | EPOLLERR)) && bytes.empty())
            lost_why = (revents & EPOLLERR) ? "port error" : "hang-up";

        std::vector<std::string> lines;
        splitter.feed(bytes, lines);
        for (const auto& line : lines) {
            on_line(line);
            if (!alive || !same_port) return;
        }
        if (splitter.at_prompt()) {
            splitter.reset();
            on_prompt();
            if (!alive || !same_port) return;
        }
        if (lost_why) lose(*lost_why);
    }

    void on_line(const std::string& line) {
        if (self.on_heard) self.on_heard();
        if (log::enabled(log::Level::debug)) log::debug("at < ", redacted_line(line));
        const bool busy = state == ChannelState::busy;
        if (busy && !echo_seen && is_echo(line, current.text)) {
            echo_seen = true;
            return;
        }
        const std::string_view pending = busy                                ? std::string_view(current.text)
                                         : state == ChannelState::draining ? std::string_view(drain_command)
                                                                             : std::string_view{};
        const auto kind = classify_line(line, pending);
        if (kind == LineKind::urc) {
            if (self.on_urc) self.on_urc(line);
            return;
        }
        if (state == ChannelState::draining) {
            if (kind == LineKind::final_result) {
                end_drain("late final result");
            } else {
                rearm_drain();
            }
            return;
        }
        if (!busy) return;  // a stray final result (e.g. an OK we already gave up on)
        if (kind == LineKind::info) {
            result.lines.push_back(line);
            return;
        }
        auto fin = parse_final_result(line);
        if (fin->status == AtStatus::connect && current.data) {
            // An upload's CONNECT (Quectel AT+QFUPL) asks for the data as the prompt does.
            write(*std::exchange(current.data, std::nullopt));
            return;
        }
        result.status = fin->status;
        result.error_code = fin->error_code;
        result.error_text = std::move(fin->error_text);
        complete(ChannelState::idle, to_string(result.status));
    }

    void on_prompt() {
        if (state == ChannelState::busy && current.data) {
            // The command goes on: its final result comes after the data.
            write(*std::exchange(current.data, std::nullopt));
        } else if (state == ChannelState::busy) {
            result.status = AtStatus::prompt;
            complete(ChannelState::idle, "prompt");
        } else if (state == ChannelState::draining) {
            // The module waits for the data of a command we abandoned: ESC cancels the input.
            write("\x1b");
            end_drain("prompt of the abandoned command");
        }
    }

    // Hands `result` to the current command's callback, leaving the line `next`, and moves on.
    void complete(ChannelState next, std::string_view reason) {
        auto cmd = take_current();
        auto r = std::exchange(result, AtResult{});
        set_state(next, reason);
        const auto alive = life.token();
        cmd.cb(r);
        if (!alive) return;
        pump();
    }

    void on_command_timeout() {
        if (state != ChannelState::busy) return;
        start_drain(current.text, current.timeout, "timeout: " + command_name_for_log(current.text));
        result.status = AtStatus::timeout;
        result.error_code = -1;
        result.error_text = "timeout";
        complete(ChannelState::draining, "timeout");
    }

    void start_drain(const std::string& command, milliseconds timeout, std::string_view reason) {
        set_state(ChannelState::draining, reason);
        drain_command = command;
        drain_period = drain_quiet_period(timeout);
        drain_deadline = sched.now() + kDrainMaxPeriods * drain_period;
        drain_timer->arm(drain_period);
    }

    void rearm_drain() {
        const auto left = std::chrono::duration_cast<milliseconds>(drain_deadline - sched.now());
        drain_timer->arm(std::clamp(left, milliseconds(0), drain_period));
    }

    void end_drain(std::string_view reason) {
        if (state != ChannelState::draining) return;
        drain_command.clear();
        drain_timer->cancel();
        set_state(ChannelState::idle, reason);
        pump();
    }
};

AtChannel::AtChannel(Scheduler& sched, Opener opener, std::chrono::milliseconds reopen_interval)
    : impl_(std::make_unique<Impl>(*this, sched, std::move(opener), reopen_interval)) {}

// Queued commands are dropped without their callbacks: whoever owns the channel is going away.
AtChannel::~AtChannel() = default;

void AtChannel::start() { impl_->try_open(true); }

void AtChannel::drop(const std::string& why) {
    if (impl_->state != ChannelState::closed) {
        impl_->lose(why);
    } else {
        impl_->reopen_timer->arm(impl_->reopen_interval);
    }
}

void AtChannel::send(std::string command, std::chrono::milliseconds timeout, AtCallback cb) {
    impl_->send(std::move(command), timeout, std::move(cb));
}

void AtChannel::send_data(std::string command, std::string data, std::chrono::milliseconds timeout, AtCallback cb) {
    impl_->send(std::move(command), timeout, std::move(cb), std::move(data));
}

void AtChannel::set_raw_framer(std::function<std::size_t(std::string_view head, bool line_end)> framer) {
    impl_->splitter.set_raw_framer(std::move(framer));
}

void AtChannel::cancel_all() { impl_->cancel_all(); }

bool AtChannel::is_open() const { return impl_->state != ChannelState::closed; }

}  // namespace cellgate::modem
