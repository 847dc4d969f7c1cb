// The DHCP client's supervision against a fake udhcpc (a script printing hook lines), and the
// real busybox udhcpc against dnsmasq playing the module on the far end of a veth pair.
#include <gtest/gtest.h>

#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "net/dhcp_client.hpp"
#include "net/route_policy.hpp"
#include "net/rtnl.hpp"
#include "unit/net/module_netns.hpp"
#include "unit/net/netns.hpp"
#include "unit/support/poll_scheduler.hpp"

namespace fs = std::filesystem;

namespace cellgate::net {
namespace {

using cellgate::testing::PollScheduler;
using namespace std::chrono_literals;

Ipv4 ip(const char* s) { return *parse_ipv4(s); }

constexpr const char* kBound =
    "printf 'cellgate-dhcp\\tevent=bound\\tip=10.1.0.%s\\tmask=24\\trouter=10.1.0.1\\tdns=10.1.0.1\\tmtu=1400\\tlease=60\\n'";

// A fake "busybox": a script that ignores udhcpc's arguments and plays a story.
class FakeUdhcpc {
public:
    explicit FakeUdhcpc(const std::string& body) {
        char tmpl[] = "/tmp/cellgate-fake-udhcpc-XXXXXX";
        if (const char* dir = ::mkdtemp(tmpl)) dir_ = dir;
        path_ = dir_ + "/busybox";
        std::ofstream(path_) << "#!/bin/sh\n" << body << "\n";
        ::chmod(path_.c_str(), 0755);
    }
    ~FakeUdhcpc() {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    FakeUdhcpc(const FakeUdhcpc&) = delete;
    FakeUdhcpc& operator=(const FakeUdhcpc&) = delete;
    const std::string& path() const { return path_; }
    std::string file(const char* name) const { return dir_ + "/" + name; }

private:
    std::string dir_, path_;
};

struct Story {
    std::vector<DhcpLease> leases;
    std::vector<std::string> losses;
    DhcpClient::Callbacks callbacks() {
        return {[this](const DhcpLease& l) { leases.push_back(l); }, [this](const std::string& r) { losses.push_back(r); }};
    }
};

DhcpOptions options(const std::string& program) {
    DhcpOptions o;
    o.udhcpc.interface = "usb0";
    o.udhcpc.hook = "/unused";
    o.udhcpc.program = program;
    o.restart_min = 50ms;
    o.restart_max = 200ms;
    o.stop_grace = 300ms;
    return o;
}

TEST(DhcpClient, ReportsTheLeaseAndIgnoresTheStartupDeconfig) {
    FakeUdhcpc fake(std::string("printf 'cellgate-dhcp\\tevent=deconfig\\n'\n") + kBound + " 7\nexec sleep 30");
    PollScheduler loop;
    Story story;
    DhcpClient client(loop, options(fake.path()), story.callbacks());
    client.start();
    ASSERT_TRUE(loop.run_until([&] { return !story.leases.empty(); }));
    EXPECT_EQ(story.leases[0].address, ip("10.1.0.7"));
    EXPECT_EQ(story.leases[0].mtu, 1400U);
    EXPECT_TRUE(story.losses.empty());
    EXPECT_EQ(client.state(), DhcpState::bound);
    EXPECT_EQ(client.lease(), story.leases[0]);

    bool stopped = false;
    client.stop([&] { stopped = true; });
    EXPECT_EQ(client.state(), DhcpState::stopping);
    ASSERT_TRUE(loop.run_until([&] { return stopped; }));
    EXPECT_EQ(client.state(), DhcpState::stopped);
    EXPECT_FALSE(client.lease().has_value());
    EXPECT_TRUE(story.losses.empty());  // a stop is not a loss
}

TEST(DhcpClient, DeconfigAfterALeaseIsALoss) {
    FakeUdhcpc fake(std::string(kBound) + " 7\nsleep 0.1\nprintf 'cellgate-dhcp\\tevent=deconfig\\n'\n" + kBound +
                    " 8\nexec sleep 30");
    PollScheduler loop;
    Story story;
    DhcpClient client(loop, options(fake.path()), story.callbacks());
    client.start();
    ASSERT_TRUE(loop.run_until([&] { return story.leases.size() == 2; }));
    ASSERT_EQ(story.losses.size(), 1U);
    EXPECT_EQ(story.losses[0], "lease lost");
    EXPECT_EQ(story.leases[1].address, ip("10.1.0.8"));
}

TEST(DhcpClient, NakLosesOnceAndLeasefailIsReportedOncePerOutage) {
    FakeUdhcpc fake(std::string(kBound) +
                    " 7\nprintf 'cellgate-dhcp\\tevent=nak\\n'\nprintf 'cellgate-dhcp\\tevent=deconfig\\n'\n"
                    "for i in 1 2 3; do printf 'cellgate-dhcp\\tevent=leasefail\\n'; done\n" +
                    kBound + " 9\nprintf 'cellgate-dhcp\\tevent=deconfig\\n'\nprintf 'cellgate-dhcp\\tevent=leasefail\\n'\nexec sleep 30");
    PollScheduler loop;
    Story story;
    DhcpClient client(loop, options(fake.path()), story.callbacks());
    client.start();
    ASSERT_TRUE(loop.run_until([&] { return story.losses.size() == 4; }));
    loop.run_for(100ms);
    EXPECT_EQ(story.losses, (std::vector<std::string>{"the server refused the lease (NAK)", "no DHCP lease after 3 DISCOVERs",
                                                      "lease lost", "no DHCP lease after 3 DISCOVERs"}));
}

TEST(DhcpClient, RestartsWithBackoffWhenUdhcpcDies) {
    // Each run appends a timestamp, reports a lease and dies.
    FakeUdhcpc fake("");
    std::ofstream(fake.path()) << "#!/bin/sh\ndate +%s%N >> " << fake.file("runs") << "\n" << kBound << " 7\nexit 1\n";
    PollScheduler loop;
    Story story;
    DhcpClient client(loop, options(fake.path()), story.callbacks());
    client.start();
    ASSERT_TRUE(loop.run_until([&] { return client.restarts() >= 4; }, 3000ms));
    EXPECT_GE(story.losses.size(), 3U);
    EXPECT_NE(story.losses[0].find("udhcpc exited (exit code 1)"), std::string::npos) << story.losses[0];

    std::vector<long long> runs;
    std::ifstream in(fake.file("runs"));
    for (long long t; in >> t;) runs.push_back(t / 1000000);
    ASSERT_GE(runs.size(), 4U);
    // A lease resets the backoff, so every pause is the minimum here.
    for (std::size_t i = 1; i < runs.size(); ++i) EXPECT_GE(runs[i] - runs[i - 1], 45) << i;
    bool stopped = false;
    client.stop([&] { stopped = true; });
    EXPECT_TRUE(stopped);  // in backoff, nothing to wait for
    const int restarts = client.restarts();
    loop.run_for(300ms);
    EXPECT_EQ(client.restarts(), restarts);
}

TEST(DhcpClient, BackoffDoublesWithoutALease) {
    FakeUdhcpc fake("");
    std::ofstream(fake.path()) << "#!/bin/sh\ndate +%s%N >> " << fake.file("runs") << "\nexit 2\n";
    PollScheduler loop;
    Story story;
    DhcpClient client(loop, options(fake.path()), story.callbacks());
    client.start();
    ASSERT_TRUE(loop.run_until([&] { return client.restarts() >= 4; }, 3000ms));
    EXPECT_TRUE(story.losses.empty());  // no lease was ever had
    std::vector<long long> runs;
    std::ifstream in(fake.file("runs"));
    for (long long t; in >> t;) runs.push_back(t / 1000000);
    ASSERT_GE(runs.size(), 4U);
    EXPECT_GE(runs[2] - runs[1], 90);   // 100 ms
    EXPECT_GE(runs[3] - runs[2], 190);  // 200 ms, the maximum
}

TEST(DhcpClient, StopKillsAnUdhcpcThatIgnoresSigterm) {
    FakeUdhcpc fake("trap '' TERM\nexec sleep 30");
    PollScheduler loop;
    Story story;
    DhcpClient client(loop, options(fake.path()), story.callbacks());
    client.start();
    loop.run_for(50ms);
    bool stopped = false;
    client.stop([&] { stopped = true; });
    EXPECT_FALSE(stopped);
    ASSERT_TRUE(loop.run_until([&] { return stopped; }, 2000ms));
}

TEST(DhcpClient, AMissingProgramIsRetriedNotFatal) {
    PollScheduler loop;
    Story story;
    DhcpClient client(loop, options("/nonexistent/busybox"), story.callbacks());
    client.start();
    EXPECT_EQ(client.state(), DhcpState::backoff);
    ASSERT_TRUE(loop.run_until([&] { return client.restarts() >= 2; }));
}

// --- real udhcpc, dnsmasq as the module ------------------------------------------------------

bool have(const char* program) {
    return std::system((std::string("command -v ") + program + " >/dev/null 2>&1").c_str()) == 0;
}

DhcpOptions real_options() {
    DhcpOptions o;
    o.udhcpc.interface = "cell0";
    o.udhcpc.hook = std::string(CELLGATE_SOURCE_DIR) + "/net/udhcpc-hook";
    o.udhcpc.discover_pause = 1s;
    o.udhcpc.round_pause = 1s;
    return o;
}

// dnsmasq as the module, the real udhcpc on cell0, and the lease applied as the daemon will
// (so udhcpc can renew by unicast).
struct RealPath {
    testing::ModuleNamespace module{"cell0"};
    PollScheduler loop;
    Rtnl rtnl{loop};
    Story story;
    DhcpClient client;

    explicit RealPath(DhcpOptions o) : client(loop, std::move(o), story.callbacks()) {}

    DhcpLease lease_and_apply() {
        client.start();
        EXPECT_TRUE(loop.run_until([&] { return !story.leases.empty(); }, 15000ms));
        if (story.leases.empty()) return {};
        const DhcpLease l = story.leases.back();
        std::optional<int> error;
        rtnl.apply(plan_up(RoutePolicy{}, link_config(static_cast<int>(if_nametoindex("cell0")), l)),
                   [&](int e, const std::string&) { error = e; });
        EXPECT_TRUE(loop.run_until([&] { return error.has_value(); }));
        EXPECT_EQ(error, 0);
        return l;
    }

    // Stops the module's DHCP server, runs `poke`, and returns the milliseconds until the loss.
    long long loss_after_server_stops(const std::function<void()>& poke, const char* how) {
        module.stop_dnsmasq();
        const auto t0 = Clock::now();
        poke();
        EXPECT_TRUE(loop.run_until([&] { return !story.losses.empty(); }, 15000ms));
        const auto ms = std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count();
        std::printf("lease lost %lld ms after the server stopped (%s)\n", static_cast<long long>(ms), how);
        return ms;
    }
};

TEST(DhcpClientNetns, LeaseFromTheModuleThenLossWhenItsServerStops) {
    if (!have("busybox") || !have("dnsmasq")) GTEST_SKIP() << "needs busybox and dnsmasq";
    CELLGATE_IN_NETNS([] {
        RealPath path(real_options());
        const DhcpLease l = path.lease_and_apply();
        EXPECT_TRUE(in_subnet(l.address, ip("192.168.225.0"), 24)) << to_string(l.address);
        EXPECT_EQ(l.prefix, 24);
        EXPECT_EQ(l.router, ip("192.168.225.1"));
        EXPECT_EQ(l.dns, std::vector<Ipv4>{ip("192.168.225.1")});
        EXPECT_EQ(l.mtu, 1400U);
        EXPECT_EQ(l.lease_seconds, 120U);  // dnsmasq's shortest
        EXPECT_TRUE(path.story.losses.empty());

        // A renewal while the server answers: the same lease again, no loss.
        path.client.renew();
        ASSERT_TRUE(path.loop.run_until([&] { return path.story.leases.size() == 2; }, 5000ms));
        EXPECT_EQ(path.story.leases[1].address, l.address);

        // The module's DHCP server dies. The next renewal goes unanswered and udhcpc gives the
        // lease up after its retries instead of waiting for the lease to run out.
        EXPECT_LT(path.loss_after_server_stops([&] { path.client.renew(); }, "renewal"), 8000);
        ASSERT_FALSE(path.story.losses.empty());
        EXPECT_EQ(path.story.losses[0], "lease lost");
        EXPECT_EQ(path.client.state(), DhcpState::requesting);
    });
}

TEST(DhcpClientNetns, ProbingNoticesADeadServerWithoutBeingAsked) {
    if (!have("busybox") || !have("dnsmasq")) GTEST_SKIP() << "needs busybox and dnsmasq";
    CELLGATE_IN_NETNS([] {
        DhcpOptions o = real_options();
        o.probe_interval = 2000ms;
        RealPath path(o);
        path.lease_and_apply();
        ASSERT_FALSE(path.story.leases.empty());
        EXPECT_LT(path.loss_after_server_stops([] {}, "2 s probe"), 10000);

        // udhcpc exits on SIGTERM (releasing what it had) without waiting for the dead server.
        bool stopped = false;
        path.client.stop([&] { stopped = true; });
        EXPECT_TRUE(path.loop.run_until([&] { return stopped; }, 5000ms));
    });
}

}  // namespace
}  // namespace cellgate::net
