#include "net/child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "base/log.hpp"

// glibc 2.36's header lacks the C++ linkage guards.
extern "C" {
#include <sys/pidfd.h>
}

extern char** environ;

namespace cellgate::net {
namespace {

[[noreturn]] void fail(int error, const char* what) { throw std::system_error(error, std::generic_category(), what); }

std::pair<UniqueFd, UniqueFd> make_pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) fail(errno, "pipe2");
    UniqueFd r(fds[0]), w(fds[1]);
    if (::fcntl(r.get(), F_SETFL, O_NONBLOCK) != 0) fail(errno, "fcntl");
    return {std::move(r), std::move(w)};
}

// posix_spawn's attribute and file-action objects, released on every path.
struct SpawnSetup {
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t actions;
    SpawnSetup() {
        posix_spawnattr_init(&attr);
        posix_spawn_file_actions_init(&actions);
    }
    ~SpawnSetup() {
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attr);
    }
    SpawnSetup(const SpawnSetup&) = delete;
    SpawnSetup& operator=(const SpawnSetup&) = delete;
};

}  // namespace

std::string to_string(ExitStatus s) {
    if (!s.signaled) return "exit code " + std::to_string(s.value);
    const char* name = sigabbrev_np(s.value);
    return std::string("signal ") + (name ? std::string("SIG") + name : std::to_string(s.value));
}

ChildProcess::ChildProcess(Scheduler& loop, const std::vector<std::string>& argv, Callbacks callbacks)
    : cb_(std::move(callbacks)) {
    if (argv.empty()) fail(EINVAL, "spawn: empty command");
    auto [out_r, out_w] = make_pipe();
    auto [err_r, err_w] = make_pipe();

    SpawnSetup s;
    sigset_t none, defaults;
    sigemptyset(&none);
    sigfillset(&defaults);
    posix_spawnattr_setsigmask(&s.attr, &none);
    posix_spawnattr_setsigdefault(&s.attr, &defaults);
    posix_spawnattr_setpgroup(&s.attr, 0);
    posix_spawnattr_setflags(&s.attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
    posix_spawn_file_actions_addopen(&s.actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&s.actions, out_w.get(), 1);
    posix_spawn_file_actions_adddup2(&s.actions, err_w.get(), 2);
    posix_spawn_file_actions_addclosefrom_np(&s.actions, 3);

    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    if (const int e = posix_spawnp(&pid, args[0], &s.actions, &s.attr, args.data(), environ); e != 0)
        fail(e, ("spawn " + argv[0]).c_str());
    pid_ = pid;
    running_ = true;

    const int pidfd = ::pidfd_open(pid_, 0);
    if (pidfd < 0) {
        const int e = errno;
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        running_ = false;
        fail(e, "pidfd_open");
    }
    pidfd_.reset(pidfd);
    out_.fd = std::move(out_r);
    err_.fd = std::move(err_r);
    out_.watch = loop.watch_fd(out_.fd.get(), EPOLLIN, [this](uint32_t) { drain(out_, cb_.out); });
    err_.watch = loop.watch_fd(err_.fd.get(), EPOLLIN, [this](uint32_t) { drain(err_, cb_.err); });
    exit_watch_ = loop.watch_fd(pidfd_.get(), EPOLLIN, [this](uint32_t) { on_exit(); });
    kill_timer_ = loop.make_timer([this] {
        if (running_) {
            log::debug("child ", pid_, ": still running after SIGTERM, sending SIGKILL");
            signal(SIGKILL);
        }
    });
}

ChildProcess::~ChildProcess() {
    if (!running_) return;
    ::pidfd_send_signal(pidfd_.get(), SIGKILL, nullptr, 0);
    siginfo_t info{};
    while (::waitid(P_PIDFD, static_cast<id_t>(pidfd_.get()), &info, WEXITED) < 0 && errno == EINTR) {
    }
}

void ChildProcess::signal(int sig) {
    // Through the pidfd: a pid can be reused once reaped, a pidfd never names another process.
    if (running_ && ::pidfd_send_signal(pidfd_.get(), sig, nullptr, 0) != 0)
        log::debug("child ", pid_, ": signal ", sig, ": ", std::strerror(errno));
}

void ChildProcess::stop(milliseconds grace) {
    if (!running_) return;
    signal(SIGTERM);
    kill_timer_->arm(grace);
}

void ChildProcess::drain(Stream& s, const std::function<void(std::string_view)>& deliver) {
    if (!s.fd) return;
    auto alive = life_.token();
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(s.fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return;  // EAGAIN: the rest comes later
        if (n == 0) {
            // EOF: the child (and whatever inherited its stdio) closed it.
            s.watch.reset();
            s.fd.reset();
            if (!s.partial.empty() && deliver) {
                const std::string last = std::move(s.partial);
                s.partial.clear();
                deliver(last);
            }
            return;
        }
        s.partial.append(buf, static_cast<std::size_t>(n));
        std::size_t start = 0;
        for (std::size_t nl; (nl = s.partial.find('\n', start)) != std::string::npos; start = nl + 1) {
            if (deliver) deliver(std::string_view(s.partial).substr(start, nl - start));
            if (alive.expired()) return;
        }
        s.partial.erase(0, start);
    }
}

void ChildProcess::on_exit() {
    siginfo_t info{};
    if (::waitid(P_PIDFD, static_cast<id_t>(pidfd_.get()), &info, WEXITED | WNOHANG) != 0 || info.si_pid == 0) return;
    running_ = false;
    exit_watch_.reset();
    kill_timer_->cancel();
    auto alive = life_.token();
    // What the child wrote before it died is delivered before its death.
    drain(out_, cb_.out);
    if (alive.expired()) return;
    drain(err_, cb_.err);
    if (alive.expired()) return;
    ExitStatus status;
    status.signaled = info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED;
    status.value = info.si_status;
    if (cb_.exited) cb_.exited(status);
}

}  // namespace cellgate::net
