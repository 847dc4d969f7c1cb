// Route decisions per mode as tables of `ip`-style lines, and in a namespace: with Ethernet's
// better default route present, a socket bound to the cellular address still leaves through the
// module, and the main table follows the mode.
#include <gtest/gtest.h>
#include <net/if.h>

#include <optional>
#include <string>
#include <vector>

#include "net/route_policy.hpp"
#include "net/rtnl.hpp"
#include "unit/net/netns.hpp"
#include "unit/support/poll_scheduler.hpp"

namespace cellgate::net {
namespace {

Ipv4 ip(const char* s) { return *parse_ipv4(s); }

std::vector<std::string> lines(const std::vector<RtnlOp>& ops) {
    std::vector<std::string> out;
    for (const auto& op : ops) out.push_back(describe(op));
    return out;
}

LinkConfig ecm() {
    LinkConfig c;
    c.ifindex = 5;
    c.address = ip("192.168.225.51");
    c.prefix = 24;
    c.gateway = ip("192.168.225.1");
    c.mtu = 1400;
    c.lease_seconds = 120;
    return c;
}

LinkConfig raw_ip() {
    LinkConfig c;
    c.ifindex = 6;
    c.address = ip("10.64.64.2");
    c.prefix = 30;
    c.gateway = ip("10.64.64.1");
    c.point_to_point = true;
    return c;
}

RoutePolicy policy(RouteMode mode) {
    RoutePolicy p;
    p.mode = mode;
    return p;
}

struct UpCase {
    RouteMode mode;
    std::vector<std::string> up;
};

class PlanUp : public ::testing::TestWithParam<UpCase> {};

TEST_P(PlanUp, EcmLinkPerMode) {
    EXPECT_EQ(lines(plan_up(policy(GetParam().mode), ecm())), GetParam().up);
}

INSTANTIATE_TEST_SUITE_P(
    Modes, PlanUp,
    ::testing::Values(
        UpCase{RouteMode::failover,
               {"link set dev #5 up mtu 1400", "address add 192.168.225.51/24 dev #5 valid_lft 120",
                "route add default via 192.168.225.1 dev #5 src 192.168.225.51 metric 700",
                "route add default via 192.168.225.1 dev #5 src 192.168.225.51 metric 700 table 100",
                "rule add from 192.168.225.51/32 lookup 100 priority 1000"}},
        UpCase{RouteMode::primary,
               {"link set dev #5 up mtu 1400", "address add 192.168.225.51/24 dev #5 valid_lft 120",
                "route add default via 192.168.225.1 dev #5 src 192.168.225.51 metric 50",
                "route add default via 192.168.225.1 dev #5 src 192.168.225.51 metric 50 table 100",
                "rule add from 192.168.225.51/32 lookup 100 priority 1000"}},
        UpCase{RouteMode::none,
               {"link set dev #5 up mtu 1400", "address add 192.168.225.51/24 dev #5 valid_lft 120",
                "route add default via 192.168.225.1 dev #5 src 192.168.225.51 metric 700 table 100",
                "rule add from 192.168.225.51/32 lookup 100 priority 1000"}}));

TEST(RoutePolicy, LinkConfigFromALease) {
    DhcpLease l;
    l.address = ip("192.168.225.51");
    l.prefix = 24;
    l.router = ip("192.168.225.1");
    l.dns = {ip("192.168.225.1")};
    l.mtu = 1400;
    l.lease_seconds = 120;
    EXPECT_EQ(link_config(5, l), ecm());
}

TEST(RoutePolicy, RawIpRoutesNameTheDeviceNotTheGateway) {
    EXPECT_EQ(lines(plan_up(policy(RouteMode::failover), raw_ip())),
              (std::vector<std::string>{"link set dev #6 up", "address add 10.64.64.2/30 dev #6",
                                        "route add default dev #6 src 10.64.64.2 metric 700",
                                        "route add default dev #6 src 10.64.64.2 metric 700 table 100",
                                        "rule add from 10.64.64.2/32 lookup 100 priority 1000"}));
}

TEST(RoutePolicy, AGatewayOutsideASlash32IsOnlink) {
    LinkConfig c = ecm();
    c.prefix = 32;
    const auto ops = plan_up(policy(RouteMode::failover), c);
    EXPECT_EQ(describe(ops[2]), "route add default via 192.168.225.1 dev #5 src 192.168.225.51 metric 700 onlink");
}

TEST(RoutePolicy, ABroadcastLinkWithoutGatewayGetsOnlyItsAddress) {
    LinkConfig c = ecm();
    c.gateway.reset();
    EXPECT_EQ(lines(plan_up(policy(RouteMode::primary), c)),
              (std::vector<std::string>{"link set dev #5 up mtu 1400", "address add 192.168.225.51/24 dev #5 valid_lft 120"}));
    EXPECT_EQ(lines(plan_down(policy(RouteMode::primary), c)),
              (std::vector<std::string>{"address del 192.168.225.51/24 dev #5 valid_lft 120"}));
}

TEST(RoutePolicy, DownReversesUpWithoutTouchingTheLink) {
    for (auto mode : {RouteMode::failover, RouteMode::primary, RouteMode::none}) {
        const auto up = plan_up(policy(mode), ecm());
        const auto down = plan_down(policy(mode), ecm());
        ASSERT_EQ(down.size() + 1, up.size()) << to_string(mode);
        for (std::size_t i = 0; i < down.size(); ++i) {
            EXPECT_EQ(down[i].kind, OpKind::remove);
            RtnlOp same = up[up.size() - 1 - i];
            same.kind = OpKind::remove;
            EXPECT_EQ(down[i], same) << to_string(mode) << " step " << i;
        }
    }
}

TEST(RoutePolicy, NeverMetricZero) {
    RoutePolicy p = policy(RouteMode::primary);
    p.primary_metric = 0;
    EXPECT_NE(validate(p), "");
    for (const auto& op : plan_up(p, ecm())) {
        if (const auto* r = std::get_if<RouteSpec>(&op.what)) {
            EXPECT_GT(r->metric, 0U) << describe(op);
        }
    }
    p.primary_metric = 50;
    p.failover_metric = 0;
    EXPECT_NE(validate(p), "");
    EXPECT_EQ(validate(policy(RouteMode::failover)), "");
}

TEST(RoutePolicy, ValidatesTableAndPriority) {
    RoutePolicy p;
    p.table = 254;
    EXPECT_NE(validate(p), "");
    p.table = 0;
    EXPECT_NE(validate(p), "");
    p.table = 1000;
    EXPECT_EQ(validate(p), "");
    p.rule_priority = 32766;  // after the main table's rule: would never be consulted first
    EXPECT_NE(validate(p), "");
}

TEST(RoutePolicy, ModeNames) {
    for (auto m : {RouteMode::failover, RouteMode::primary, RouteMode::none}) EXPECT_EQ(route_mode_from_string(to_string(m)), m);
    EXPECT_FALSE(route_mode_from_string("backup").has_value());
}

TEST(RoutePolicy, ChangeNothingRenewOrReaddress) {
    const auto p = policy(RouteMode::failover);
    EXPECT_TRUE(plan_change(p, ecm(), ecm()).empty());

    LinkConfig renewed = ecm();
    renewed.lease_seconds = 240;
    EXPECT_EQ(lines(plan_change(p, ecm(), renewed)),
              (std::vector<std::string>{"address add 192.168.225.51/24 dev #5 valid_lft 240"}));

    LinkConfig moved = ecm();
    moved.address = ip("192.168.225.52");
    EXPECT_EQ(lines(plan_change(p, ecm(), moved)),
              (std::vector<std::string>{
                  "rule del from 192.168.225.51/32 lookup 100 priority 1000",
                  "route del default via 192.168.225.1 dev #5 src 192.168.225.51 metric 700 table 100",
                  "route del default via 192.168.225.1 dev #5 src 192.168.225.51 metric 700",
                  "address del 192.168.225.51/24 dev #5 valid_lft 120",
                  "link set dev #5 up mtu 1400",
                  "address add 192.168.225.52/24 dev #5 valid_lft 120",
                  "route add default via 192.168.225.1 dev #5 src 192.168.225.52 metric 700",
                  "route add default via 192.168.225.1 dev #5 src 192.168.225.52 metric 700 table 100",
                  "rule add from 192.168.225.52/32 lookup 100 priority 1000"}));
}

// --- in a namespace --------------------------------------------------------------------------

using cellgate::testing::PollScheduler;
using testing::sh;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

void apply_ok(PollScheduler& loop, Rtnl& rtnl, std::vector<RtnlOp> ops) {
    std::optional<int> error;
    std::string failed;
    rtnl.apply(std::move(ops), [&](int e, const std::string& f) {
        error = e;
        failed = f;
    });
    ASSERT_TRUE(loop.run_until([&] { return error.has_value(); }));
    EXPECT_EQ(*error, 0) << failed;
}

// "eth0" with a default route at Ethernet's metric, "cell0" as the module's link.
LinkConfig two_uplinks() {
    sh("ip link add eth0 type veth peer name lan0 && ip link set lan0 up && ip link set eth0 up"
       " && ip addr add 10.0.0.2/24 dev eth0 && ip route add default via 10.0.0.1 dev eth0 metric 100"
       " && ip link add cell0 type veth peer name mod0 && ip link set mod0 up");
    LinkConfig c = ecm();
    c.ifindex = static_cast<int>(if_nametoindex("cell0"));
    return c;
}

TEST(RoutePolicyNetns, FailoverKeepsEthernetDefaultButPinsTheCellularAddress) {
    CELLGATE_IN_NETNS([] {
        const LinkConfig c = two_uplinks();
        PollScheduler loop;
        Rtnl rtnl(loop);
        const auto p = policy(RouteMode::failover);
        apply_ok(loop, rtnl, plan_up(p, c));
        EXPECT_TRUE(contains(sh("ip route get 203.0.113.9"), "dev eth0"));
        EXPECT_TRUE(contains(sh("ip route get 203.0.113.9 from 192.168.225.51"), "via 192.168.225.1 dev cell0 table 100"));
        // Ethernet gone: cellular carries the rest.
        sh("ip link set eth0 down");
        EXPECT_TRUE(contains(sh("ip route get 203.0.113.9"), "dev cell0"));
        sh("ip link set eth0 up && ip route add default via 10.0.0.1 dev eth0 metric 100");

        // A new address: the old rule goes, the new one pins.
        LinkConfig moved = c;
        moved.address = ip("192.168.225.52");
        apply_ok(loop, rtnl, plan_change(p, c, moved));
        const auto rules = sh("ip rule show");
        EXPECT_FALSE(contains(rules, "192.168.225.51")) << rules;
        EXPECT_TRUE(contains(rules, "from 192.168.225.52 lookup 100")) << rules;
        EXPECT_TRUE(contains(sh("ip route get 203.0.113.9 from 192.168.225.52"), "dev cell0 table 100"));

        apply_ok(loop, rtnl, plan_down(p, moved));
        EXPECT_FALSE(contains(sh("ip rule show"), "lookup 100"));
        EXPECT_EQ(sh("ip route show table 100"), "");
        EXPECT_TRUE(contains(sh("ip route get 203.0.113.9"), "dev eth0"));
    });
}

TEST(RoutePolicyNetns, PrimaryTakesTheDefaultAndNoneLeavesIt) {
    CELLGATE_IN_NETNS([] {
        const LinkConfig c = two_uplinks();
        PollScheduler loop;
        Rtnl rtnl(loop);
        apply_ok(loop, rtnl, plan_up(policy(RouteMode::primary), c));
        EXPECT_TRUE(contains(sh("ip route get 203.0.113.9"), "dev cell0"));
        apply_ok(loop, rtnl, plan_down(policy(RouteMode::primary), c));

        apply_ok(loop, rtnl, plan_up(policy(RouteMode::none), c));
        EXPECT_TRUE(contains(sh("ip route get 203.0.113.9"), "dev eth0"));
        EXPECT_FALSE(contains(sh("ip route show table main"), "default via 192.168.225.1"));
        EXPECT_TRUE(contains(sh("ip route get 203.0.113.9 from 192.168.225.51"), "dev cell0 table 100"));
        EXPECT_FALSE(contains(sh("ip route show"), "metric 0"));
    });
}

}  // namespace
}  // namespace cellgate::net
