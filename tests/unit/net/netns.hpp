// Tests that need the kernel's networking: the body runs in a forked child inside a fresh network
// namespace (only lo, and down), so routes, rules and links made there vanish with it and never
// touch the machine. Needs root (or CAP_SYS_ADMIN); elsewhere the test is skipped.
#pragma once

#include <gtest/gtest.h>

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

namespace cellgate::net::testing {

inline constexpr int kCannotUnshare = 77;

// Forks, unshares the network namespace and runs `body`; gtest failures inside the child are
// printed by the child and turn into its exit status. A child that hangs is killed by SIGALRM.
inline int run_in_netns(const std::function<void()>& body, unsigned timeout_seconds = 60) {
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t pid = ::fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        if (::unshare(CLONE_NEWNET) != 0) ::_exit(kCannotUnshare);
        ::alarm(timeout_seconds);
        body();
        std::fflush(stdout);
        ::_exit(::testing::Test::HasFailure() ? 1 : 0);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}

#define CELLGATE_IN_NETNS(...)                                                           \
    do {                                                                                 \
        const int netns_status_ = ::cellgate::net::testing::run_in_netns(__VA_ARGS__);   \
        if (netns_status_ == ::cellgate::net::testing::kCannotUnshare)                   \
            GTEST_SKIP() << "cannot create a network namespace here (needs root)";       \
        EXPECT_EQ(netns_status_, 0) << "the namespace part failed (see its output above)"; \
    } while (0)

// Runs a shell command; its stdout (stderr goes to the test log). Test setup only.
inline std::string sh(const std::string& command) {
    std::string out;
    if (FILE* p = ::popen(command.c_str(), "r")) {
        char buf[512];
        std::size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
        const int rc = ::pclose(p);
        EXPECT_EQ(rc, 0) << command;
    } else {
        ADD_FAILURE() << "popen " << command;
    }
    return out;
}

}  // namespace cellgate::net::testing
