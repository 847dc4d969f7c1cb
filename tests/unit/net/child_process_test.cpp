// Supervised children: output as lines, exit status through the pidfd, stop with SIGTERM then
// SIGKILL, a clean environment (signals unblocked, no inherited descriptors).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "net/child_process.hpp"
#include "unit/support/poll_scheduler.hpp"

namespace cellgate::net {
namespace {

using cellgate::testing::PollScheduler;

struct Outcome {
    std::vector<std::string> out, err;
    std::optional<ExitStatus> exit;
    ChildProcess::Callbacks callbacks() {
        return {[this](std::string_view l) { out.emplace_back(l); }, [this](std::string_view l) { err.emplace_back(l); },
                [this](ExitStatus s) { exit = s; }};
    }
};

TEST(ChildProcess, LinesThenExitStatus) {
    PollScheduler loop;
    Outcome run;
    ChildProcess child(loop, {"sh", "-c", "echo one; echo two; echo oops >&2; printf tail; exit 3"}, run.callbacks());
    ASSERT_TRUE(loop.run_until([&] { return run.exit.has_value(); }));
    EXPECT_EQ(run.out, (std::vector<std::string>{"one", "two", "tail"}));
    EXPECT_EQ(run.err, (std::vector<std::string>{"oops"}));
    EXPECT_FALSE(run.exit->signaled);
    EXPECT_EQ(run.exit->value, 3);
    EXPECT_EQ(to_string(*run.exit), "exit code 3");
    EXPECT_FALSE(child.running());
}

TEST(ChildProcess, StopsWithSigtermEvenWhenTheParentBlocksIt) {
    // The daemon blocks SIGTERM for sd-event's signalfd; the child must not inherit that.
    sigset_t term, old;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigprocmask(SIG_BLOCK, &term, &old);
    PollScheduler loop;
    Outcome run;
    ChildProcess child(loop, {"sleep", "30"}, run.callbacks());
    sigprocmask(SIG_SETMASK, &old, nullptr);
    EXPECT_TRUE(child.running());
    child.stop(milliseconds(5000));
    ASSERT_TRUE(loop.run_until([&] { return run.exit.has_value(); }, milliseconds(2000)));
    EXPECT_TRUE(run.exit->signaled);
    EXPECT_EQ(run.exit->value, SIGTERM);
    EXPECT_EQ(to_string(*run.exit), "signal SIGTERM");
}

TEST(ChildProcess, SigkillAfterTheGraceWhenSigtermIsIgnored) {
    PollScheduler loop;
    Outcome run;
    ChildProcess child(loop, {"sh", "-c", "trap '' TERM; echo ready; exec sleep 30"}, run.callbacks());
    ASSERT_TRUE(loop.run_until([&] { return !run.out.empty(); }));
    const auto t0 = Clock::now();
    child.stop(milliseconds(300));
    ASSERT_TRUE(loop.run_until([&] { return run.exit.has_value(); }, milliseconds(3000)));
    EXPECT_EQ(run.exit->value, SIGKILL);
    EXPECT_GE(Clock::now() - t0, milliseconds(250));
}

TEST(ChildProcess, InheritsNoDescriptorOfOurs) {
    // Deliberately without O_CLOEXEC, and high enough not to be the shell's own directory fd.
    const int original = ::open("/dev/null", O_RDONLY);
    const int leaky = ::dup2(original, 40);
    ::close(original);
    ASSERT_EQ(leaky, 40);
    PollScheduler loop;
    Outcome run;
    ChildProcess child(loop, {"sh", "-c", "for f in /proc/$$/fd/*; do echo ${f##*/}; done"}, run.callbacks());
    ASSERT_TRUE(loop.run_until([&] { return run.exit.has_value(); }));
    ::close(leaky);
    EXPECT_GE(run.out.size(), 3U);
    for (const auto& fd : run.out) EXPECT_NE(fd, "40");
}

TEST(ChildProcess, DestroyingKillsAndReaps) {
    PollScheduler loop;
    Outcome run;
    pid_t pid = -1;
    {
        ChildProcess child(loop, {"sleep", "30"}, run.callbacks());
        pid = child.pid();
        EXPECT_EQ(::kill(pid, 0), 0);
    }
    EXPECT_EQ(::kill(pid, 0), -1);  // gone and reaped: no zombie left
    EXPECT_EQ(errno, ESRCH);
    EXPECT_FALSE(run.exit.has_value());
}

TEST(ChildProcess, AMissingProgramThrows) {
    PollScheduler loop;
    Outcome run;
    EXPECT_THROW(ChildProcess(loop, {"/nonexistent/udhcpc"}, run.callbacks()), std::system_error);
}

}  // namespace
}  // namespace cellgate::net
