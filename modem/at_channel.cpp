#include "modem/at_channel.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <sys/epoll.h>
#include <utility>
#include <vector>

#include "base/log.hpp"
#include "modem/at_parser.hpp"

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

}  // namespace

struct AtChannel::Impl {
    struct Command {
        std::string text;
        milliseconds timeout;
        AtCallback cb;
    };

    AtChannel& self;
    Scheduler& sched;
    Opener opener;
    milliseconds reopen_interval;

    std::unique_ptr<SerialPort> port;
    std::unique_ptr<IoWatch> watch;
    std::unique_ptr<Timer> command_timer;
    std::unique_ptr<Timer> drain_timer;
    std::unique_ptr<Timer> reopen_timer;

    LineSplitter splitter;
    std::string out;  // bytes not yet accepted by the port
    bool want_out = false;

    std::deque<Command> queue;
    std::optional<Command> current;
    AtResult result;  // being built for `current`
    bool echo_seen = false;

    bool draining = false;
    std::string drain_command;  // the timed-out command, so its late info lines are recognised
    milliseconds drain_period{};
    Clock::time_point drain_deadline{};

    // Work posted from API calls, run in order from one deferred callback (see post()).
    std::vector<std::function<void()>> posted;
    bool flush_scheduled = false;

    // Expires with the channel, so deferred work and loops over user callbacks can tell.
    std::shared_ptr<int> life = std::make_shared<int>(0);
    // Bumped whenever the port closes, so a loop over lines of a dead port stops.
    uint64_t generation = 0;

    Impl(AtChannel& s, Scheduler& sc, Opener o, milliseconds interval)
        : self(s), sched(sc), opener(std::move(o)), reopen_interval(interval) {
        command_timer = sched.make_timer([this] { on_command_timeout(); });
        drain_timer = sched.make_timer([this] { end_drain(); });
        reopen_timer = sched.make_timer([this] { try_open(false); });
    }

    // Callbacks owed from inside an API call (send, cancel_all, drop, start) run from the loop,
    // in the order they were owed, and never after the channel is gone.
    void post(std::function<void()> fn) {
        posted.push_back(std::move(fn));
        if (flush_scheduled) return;
        flush_scheduled = true;
        sched.defer([this, alive = std::weak_ptr<int>(life)] {
            if (alive.expired()) return;
            flush_scheduled = false;
            auto batch = std::move(posted);
            posted.clear();
            for (auto& work : batch) {
                work();
                if (alive.expired()) return;
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
        log::debug("AT port open: ", port->path());
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
        if (!port) return;
        log::debug("AT port lost: ", why);
        ++generation;
        watch.reset();
        port.reset();
        splitter.reset();
        out.clear();
        want_out = false;
        stop_drain();
        auto failed = take_all();
        post([this, failed = std::move(failed), why]() mutable {
            fail_all(std::move(failed));
            if (self.on_lost) self.on_lost(why);
        });
        reopen_timer->arm(reopen_interval);
    }

    std::vector<Command> take_all() {
        std::vector<Command> all;
        command_timer->cancel();
        if (current) all.push_back(std::move(*current));
        current.reset();
        for (auto& c : queue) all.push_back(std::move(c));
        queue.clear();
        return all;
    }

    void fail_all(std::vector<Command> cmds) {
        const std::weak_ptr<int> alive = life;
        for (auto& c : cmds) {
            AtResult r;
            r.status = AtStatus::port_closed;
            r.error_text = "port closed";
            c.cb(r);
            if (alive.expired()) return;
        }
    }

    void send(std::string text, milliseconds timeout, AtCallback cb) {
        if (!port) {
            post([cb = std::move(cb)] {
                AtResult r;
                r.status = AtStatus::port_closed;
                r.error_text = "port closed";
                cb(r);
            });
            return;
        }
        queue.push_back(Command{std::move(text), timeout, std::move(cb)});
        pump();
    }

    void cancel_all() {
        if (current && port) start_drain(current->text, current->timeout);
        auto failed = take_all();
        if (!failed.empty()) post([this, failed = std::move(failed)]() mutable { fail_all(std::move(failed)); });
    }

    // Starts the next command when the line is free.
    void pump() {
        if (current || draining || queue.empty() || !port) return;
        current = std::move(queue.front());
        queue.pop_front();
        result = AtResult{};
        echo_seen = false;
        command_timer->arm(current->timeout);
        write(current->text + "\r");
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
        const std::weak_ptr<int> alive = life;
        const auto gen = generation;
        if (revents & EPOLLOUT) flush_out();
        if (!port || gen != generation) return;

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
            if (alive.expired() || gen != generation) return;
        }
        if (splitter.at_prompt()) {
            splitter.reset();
            on_prompt();
            if (alive.expired() || gen != generation) return;
        }
        if (lost_why) lose(*lost_why);
    }

    void on_line(const std::string& line) {
        if (current && !echo_seen && is_echo(line, current->text)) {
            echo_seen = true;
            return;
        }
        const std::string_view pending = current ? std::string_view(current->text)
                                         : draining ? std::string_view(drain_command)
                                                    : std::string_view{};
        const auto kind = classify_line(line, pending);
        if (kind == LineKind::urc) {
            if (self.on_urc) self.on_urc(line);
            return;
        }
        if (draining) {
            if (kind == LineKind::final_result) {
                end_drain();
            } else {
                rearm_drain();
            }
            return;
        }
        if (!current) return;  // a stray final result (e.g. an OK we already gave up on)
        if (kind == LineKind::info) {
            result.lines.push_back(line);
            return;
        }
        auto fin = parse_final_result(line);
        result.status = fin->status;
        result.error_code = fin->error_code;
        result.error_text = std::move(fin->error_text);
        complete();
    }

    void on_prompt() {
        if (current) {
            result.status = AtStatus::prompt;
            complete();
        } else if (draining) {
            // The module waits for the data of a command we abandoned: ESC cancels the input.
            write("\x1b");
            end_drain();
        }
    }

    // Hands `result` to the current command's callback and moves on.
    void complete() {
        command_timer->cancel();
        auto cmd = std::move(*current);
        current.reset();
        auto r = std::move(result);
        result = AtResult{};
        const std::weak_ptr<int> alive = life;
        cmd.cb(r);
        if (alive.expired()) return;
        pump();
    }

    void on_command_timeout() {
        if (!current) return;
        log::debug("AT command timed out: ", command_name_for_log(current->text));
        start_drain(current->text, current->timeout);
        result.status = AtStatus::timeout;
        result.error_code = -1;
        result.error_text = "timeout";
        complete();
    }

    void start_drain(const std::string& command, milliseconds timeout) {
        draining = true;
        drain_command = command;
        drain_period = drain_quiet_period(timeout);
        drain_deadline = sched.now() + kDrainMaxPeriods * drain_period;
        drain_timer->arm(drain_period);
    }

    void rearm_drain() {
        const auto left = std::chrono::duration_cast<milliseconds>(drain_deadline - sched.now());
        drain_timer->arm(std::clamp(left, milliseconds(0), drain_period));
    }

    void stop_drain() {
        draining = false;
        drain_command.clear();
        drain_timer->cancel();
    }

    void end_drain() {
        stop_drain();
        pump();
    }
};

AtChannel::AtChannel(Scheduler& sched, Opener opener, std::chrono::milliseconds reopen_interval)
    : impl_(std::make_unique<Impl>(*this, sched, std::move(opener), reopen_interval)) {}

// Queued commands are dropped without their callbacks: whoever owns the channel is going away.
AtChannel::~AtChannel() = default;

void AtChannel::start() { impl_->try_open(true); }

void AtChannel::drop(const std::string& why) {
    if (impl_->port) {
        impl_->lose(why);
    } else {
        impl_->reopen_timer->arm(impl_->reopen_interval);
    }
}

void AtChannel::send(std::string command, std::chrono::milliseconds timeout, AtCallback cb) {
    impl_->send(std::move(command), timeout, std::move(cb));
}

void AtChannel::cancel_all() { impl_->cancel_all(); }

bool AtChannel::is_open() const { return impl_->port != nullptr; }

}  // namespace cellgate::modem
