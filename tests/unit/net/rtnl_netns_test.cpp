// Rtnl and LinkMonitor against the real kernel, each in its own network namespace: addresses,
// routes and rules really appear (read back with `ip`), ACKs and errors come back through the
// loop, and the monitor sees carrier and address changes as they happen.
#include <gtest/gtest.h>
#include <net/if.h>

#include <algorithm>

#include <cerrno>
#include <optional>
#include <string>
#include <vector>

#include "net/link_monitor.hpp"
#include "net/rtnl.hpp"
#include "unit/net/netns.hpp"
#include "unit/support/poll_scheduler.hpp"

namespace cellgate::net {
namespace {

using cellgate::testing::PollScheduler;
using testing::sh;

Ipv4 ip(const char* s) { return *parse_ipv4(s); }

// Applies `ops` and waits for the answer; the error, and what failed.
std::pair<int, std::string> apply(PollScheduler& loop, Rtnl& rtnl, std::vector<RtnlOp> ops) {
    std::optional<std::pair<int, std::string>> result;
    rtnl.apply(std::move(ops), [&](int error, const std::string& failed) { result.emplace(error, failed); });
    EXPECT_TRUE(loop.run_until([&] { return result.has_value(); }));
    return result.value_or(std::pair<int, std::string>{-1, "no answer"});
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(RtnlNetns, AddressRoutesAndRuleAppearAndGo) {
    CELLGATE_IN_NETNS([] {
        sh("ip link add cell0 type veth peer name mod0 && ip link set mod0 up");
        const int ifindex = static_cast<int>(if_nametoindex("cell0"));
        ASSERT_GT(ifindex, 0);
        PollScheduler loop;
        Rtnl rtnl(loop);
        const std::vector<RtnlOp> up = {
            {OpKind::add, LinkSpec{ifindex, true, 1400}},
            {OpKind::add, AddressSpec{ifindex, ip("192.168.225.51"), 24, std::nullopt, 0}},
            {OpKind::add, RouteSpec{ifindex, ip("192.168.225.1"), 700, kMainTable, std::nullopt, false}},
            {OpKind::add, RouteSpec{ifindex, ip("192.168.225.1"), 700, 100, std::nullopt, false}},
            {OpKind::add, RuleSpec{ip("192.168.225.51"), 32, 100, 1000}},
        };
        auto [error, failed] = apply(loop, rtnl, up);
        ASSERT_EQ(error, 0) << failed;
        // /sys still shows the parent namespace; `ip` asks this one.
        EXPECT_TRUE(contains(sh("ip link show cell0"), "mtu 1400"));
        EXPECT_TRUE(contains(sh("ip -4 addr show dev cell0"), "inet 192.168.225.51/24 brd 192.168.225.255"));
        EXPECT_TRUE(contains(sh("ip route show table main"), "default via 192.168.225.1 dev cell0 proto static metric 700"));
        EXPECT_TRUE(contains(sh("ip route show table 100"), "default via 192.168.225.1 dev cell0 proto static metric 700"));
        EXPECT_TRUE(contains(sh("ip rule show"), "1000:\tfrom 192.168.225.51 lookup 100"));

        // Again: nothing doubles and nothing fails (a renewal re-applies what it has).
        std::tie(error, failed) = apply(loop, rtnl, up);
        EXPECT_EQ(error, 0) << failed;
        const auto rules = sh("ip rule show");
        EXPECT_EQ(rules.find("lookup 100"), rules.rfind("lookup 100")) << rules;

        std::vector<RtnlOp> down = {
            {OpKind::remove, RuleSpec{ip("192.168.225.51"), 32, 100, 1000}},
            {OpKind::remove, RouteSpec{ifindex, ip("192.168.225.1"), 700, 100, std::nullopt, false}},
            {OpKind::remove, RouteSpec{ifindex, ip("192.168.225.1"), 700, kMainTable, std::nullopt, false}},
            {OpKind::remove, AddressSpec{ifindex, ip("192.168.225.51"), 24, std::nullopt, 0}},
        };
        std::tie(error, failed) = apply(loop, rtnl, down);
        EXPECT_EQ(error, 0) << failed;
        EXPECT_FALSE(contains(sh("ip rule show"), "lookup 100"));
        EXPECT_EQ(sh("ip route show table 100"), "");
        EXPECT_FALSE(contains(sh("ip route show table main"), "default"));
        EXPECT_FALSE(contains(sh("ip -4 addr show dev cell0"), "192.168.225.51"));
        // Removing what is gone is not an error (a link lost twice, a restart after a crash).
        std::tie(error, failed) = apply(loop, rtnl, down);
        EXPECT_EQ(error, 0) << failed;
    });
}

TEST(RtnlNetns, AFailureStopsTheSequenceAndSaysWhich) {
    CELLGATE_IN_NETNS([] {
        sh("ip link add cell0 type veth peer name mod0 && ip link set mod0 up && ip link set cell0 up");
        const int ifindex = static_cast<int>(if_nametoindex("cell0"));
        PollScheduler loop;
        Rtnl rtnl(loop);
        auto [error, failed] = apply(loop, rtnl, {
            {OpKind::add, RouteSpec{ifindex, ip("10.9.9.1"), 700, kMainTable, std::nullopt, false}},
            {OpKind::add, RuleSpec{ip("10.9.9.2"), 32, 100, 1000}},
        });
        EXPECT_EQ(error, ENETUNREACH);  // a gateway with no address on its subnet
        EXPECT_EQ(failed, "route add default via 10.9.9.1 dev #" + std::to_string(ifindex) + " metric 700");
        EXPECT_FALSE(contains(sh("ip rule show"), "10.9.9.2"));

        // The same gateway on a /32 from the modem works when marked onlink, and a device route
        // needs no gateway at all (raw-ip links).
        std::tie(error, failed) = apply(loop, rtnl, {
            {OpKind::add, AddressSpec{ifindex, ip("10.9.9.2"), 32, std::nullopt, 0}},
            {OpKind::add, RouteSpec{ifindex, ip("10.9.9.1"), 700, 100, std::nullopt, true}},
            {OpKind::add, RouteSpec{ifindex, std::nullopt, 700, kMainTable, ip("10.9.9.2"), false}},
        });
        EXPECT_EQ(error, 0) << failed;
        EXPECT_TRUE(contains(sh("ip route show table 100"), "default via 10.9.9.1 dev cell0 proto static metric 700 onlink"));
        EXPECT_TRUE(contains(sh("ip route show"), "default dev cell0 proto static scope link src 10.9.9.2 metric 700"));
    });
}

TEST(RtnlNetns, ManyRequestsInFlightAreMatchedBySequence) {
    CELLGATE_IN_NETNS([] {
        sh("ip link add cell0 type veth peer name mod0");
        const int ifindex = static_cast<int>(if_nametoindex("cell0"));
        PollScheduler loop;
        Rtnl rtnl(loop);
        std::vector<int> answers(64, -1);
        for (int i = 0; i < 64; ++i) {
            // Every odd one fails (no such interface) so the answers can be told apart.
            const int target = i % 2 ? 999999 : ifindex;
            rtnl.send({OpKind::add, AddressSpec{target, Ipv4::from_host(0x0a000001U + static_cast<uint32_t>(i)), 32, std::nullopt, 0}},
                      [&answers, i](int error) { answers[static_cast<std::size_t>(i)] = error; });
        }
        EXPECT_TRUE(loop.run_until([&] { return std::count(answers.begin(), answers.end(), -1) == 0; }));
        for (int i = 0; i < 64; ++i) EXPECT_EQ(answers[static_cast<std::size_t>(i)], i % 2 ? ENODEV : 0) << i;
    });
}

TEST(LinkMonitorNetns, ReportsStateThenCarrierAndAddressChanges) {
    CELLGATE_IN_NETNS([] {
        sh("ip link add cell0 type veth peer name mod0");
        const int ifindex = static_cast<int>(if_nametoindex("cell0"));
        PollScheduler loop;
        std::optional<LinkEvent> link;
        std::vector<AddressEvent> addrs;
        bool synced = false;
        LinkMonitor monitor(loop, {[&](const LinkEvent& e) {
                                       if (e.ifindex == ifindex) link = e;
                                   },
                                   [&](const AddressEvent& e) {
                                       if (e.ifindex == ifindex) addrs.push_back(e);
                                   },
                                   [&] { synced = true; }});
        ASSERT_TRUE(loop.run_until([&] { return synced; }));
        ASSERT_TRUE(link.has_value());
        EXPECT_EQ(link->name, "cell0");
        EXPECT_FALSE(link->up);
        EXPECT_FALSE(link->carrier);

        sh("ip link set mod0 up && ip link set cell0 up");
        EXPECT_TRUE(loop.run_until([&] { return link->up && link->carrier; }));

        sh("ip addr add 10.1.1.2/24 dev cell0");
        ASSERT_TRUE(loop.run_until([&] { return !addrs.empty(); }));
        EXPECT_EQ(addrs.back().local, ip("10.1.1.2"));
        EXPECT_EQ(addrs.back().prefix, 24);
        EXPECT_FALSE(addrs.back().removed);

        sh("ip link set mod0 down");  // the far end goes: the carrier drops, the link stays up
        EXPECT_TRUE(loop.run_until([&] { return !link->carrier; }));
        EXPECT_TRUE(link->up);

        sh("ip addr del 10.1.1.2/24 dev cell0");
        EXPECT_TRUE(loop.run_until([&] { return addrs.back().removed; }));

        sh("ip link del cell0");
        EXPECT_TRUE(loop.run_until([&] { return link->removed; }));
    });
}

}  // namespace
}  // namespace cellgate::net
