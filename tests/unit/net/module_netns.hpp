// The module's side of the data path for namespace tests: a second network namespace holding
// "mod0" (192.168.225.1/24, like a Quectel ECM module), the far end of a veth pair whose near end
// is created here, and dnsmasq there as the module's DHCP and DNS server (cloud.example resolves
// to 203.0.113.7 there and nowhere else). Use inside run_in_netns.
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "base/unique_fd.hpp"

namespace cellgate::net::testing {

class ModuleNamespace {
public:
    explicit ModuleNamespace(const std::string& local_if) {
        int ready[2], go[2];
        if (::pipe(ready) != 0 || ::pipe(go) != 0) return;
        pid_ = ::fork();
        if (pid_ == 0) {
            ::close(ready[0]);
            ::close(go[1]);
            // Another test may have left SIGTERM blocked (an sd-event loop does that); dnsmasq
            // must still die of it.
            sigset_t none;
            sigemptyset(&none);
            ::sigprocmask(SIG_SETMASK, &none, nullptr);
            if (::unshare(CLONE_NEWNET) != 0) ::_exit(1);
            char c = 'r';
            if (::write(ready[1], &c, 1) != 1 || ::read(go[0], &c, 1) != 1) ::_exit(1);
            if (std::system("ip link set lo up && ip addr add 192.168.225.1/24 dev mod0 && ip link set mod0 up") != 0) ::_exit(1);
            const char* argv[] = {"dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--interface=mod0",
                                  "--bind-interfaces", "--dhcp-range=192.168.225.20,192.168.225.60,2m",
                                  "--dhcp-option=option:router,192.168.225.1",
                                  "--dhcp-option=option:dns-server,192.168.225.1", "--dhcp-option=option:mtu,1400",
                                  "--leasefile-ro", "--pid-file=", "--no-ping", "--no-resolv", "--no-hosts",
                                  "--address=/cloud.example/203.0.113.7", "--quiet-dhcp", nullptr};
            ::execvp(argv[0], const_cast<char* const*>(argv));
            ::_exit(127);
        }
        ::close(ready[1]);
        ::close(go[0]);
        char c = 0;
        if (pid_ > 0 && ::read(ready[0], &c, 1) == 1) {
            // Holding the namespace open keeps mod0 alive after dnsmasq is gone.
            ns_.reset(::open(("/proc/" + std::to_string(pid_) + "/ns/net").c_str(), O_RDONLY | O_CLOEXEC));
            const std::string cmd = "ip link add " + local_if + " type veth peer name mod0 netns " + std::to_string(pid_) +
                                    " && ip link set " + local_if + " up";
            ok_ = std::system(cmd.c_str()) == 0 && ::write(go[1], &c, 1) == 1;
        }
        ::close(ready[0]);
        ::close(go[1]);
        EXPECT_TRUE(ok_) << "module namespace setup failed";
    }
    ~ModuleNamespace() { stop_dnsmasq(); }
    ModuleNamespace(const ModuleNamespace&) = delete;
    ModuleNamespace& operator=(const ModuleNamespace&) = delete;

    // A shell command inside the module's namespace ("ip link set mod0 down"); true when it succeeded.
    bool run(const std::string& command) const {
        if (!ns_) return false;
        // Through the namespace handle we hold: it outlives dnsmasq.
        const std::string ns = "/proc/" + std::to_string(::getpid()) + "/fd/" + std::to_string(ns_.get());
        return std::system(("nsenter --net=" + ns + " sh -c '" + command + "'").c_str()) == 0;
    }

    void stop_dnsmasq() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }

private:
    pid_t pid_ = -1;
    UniqueFd ns_;
    bool ok_ = false;
};

}  // namespace cellgate::net::testing
