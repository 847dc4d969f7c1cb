// A child program supervised from the loop: its stdout and stderr arrive as lines, its exit as a
// callback. The exit is watched through a pidfd, so no SIGCHLD handler and no waitpid(-1) can
// steal another component's child.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/lifetime.hpp"
#include "base/loop.hpp"
#include "base/unique_fd.hpp"

namespace cellgate::net {

struct ExitStatus {
    bool signaled = false;
    int value = 0;  // the exit code, or the signal number when signaled
    bool success() const { return !signaled && value == 0; }
};
std::string to_string(ExitStatus s);  // "exit code 1", "signal SIGTERM"

class ChildProcess {
public:
    struct Callbacks {
        std::function<void(std::string_view line)> out;
        std::function<void(std::string_view line)> err;
        // After every line the child wrote has been delivered.
        std::function<void(ExitStatus)> exited;
    };

    // Starts argv[0] (searched in PATH) with stdin on /dev/null, every signal unblocked and at
    // its default (the daemon blocks SIGTERM for sd-event; a child must not inherit that), in
    // its own process group, and with no descriptor of ours beyond stdio.
    // Throws std::system_error when it cannot be started.
    ChildProcess(Scheduler& loop, const std::vector<std::string>& argv, Callbacks callbacks);
    // A child still running is killed (SIGKILL) and reaped here: a destructor cannot wait for a
    // graceful exit. Use stop() first for that.
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    pid_t pid() const { return pid_; }
    bool running() const { return running_; }
    void signal(int sig);
    // SIGTERM, then SIGKILL after `grace`; `exited` runs as usual.
    void stop(milliseconds grace);

private:
    struct Stream {
        UniqueFd fd;
        std::unique_ptr<IoWatch> watch;
        std::string partial;
    };
    void drain(Stream& s, const std::function<void(std::string_view)>& deliver);
    void on_exit();

    Callbacks cb_;
    pid_t pid_ = -1;
    bool running_ = false;
    UniqueFd pidfd_;
    Stream out_, err_;
    std::unique_ptr<IoWatch> exit_watch_;
    std::unique_ptr<Timer> kill_timer_;
    Lifetime life_;
};

}  // namespace cellgate::net
