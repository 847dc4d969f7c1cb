#include "net/rtnl_ops.hpp"

#include <gtest/gtest.h>

#include <cerrno>

namespace cellgate::net {
namespace {

Ipv4 ip(const char* s) { return *parse_ipv4(s); }

TEST(RtnlOps, DescribesEachOperationInIpSyntax) {
    const RtnlOp route{OpKind::add, RouteSpec{3, ip("192.168.225.1"), 700, kMainTable, std::nullopt, false}};
    EXPECT_EQ(describe(route), "route add default via 192.168.225.1 dev #3 metric 700");
    const RtnlOp table_route{OpKind::remove, RouteSpec{3, std::nullopt, 0, 100, ip("10.0.0.2"), true}};
    EXPECT_EQ(describe(table_route), "route del default dev #3 src 10.0.0.2 metric 0 table 100 onlink");
    const RtnlOp rule{OpKind::add, RuleSpec{ip("192.168.225.51"), 32, 100, 1000}};
    EXPECT_EQ(describe(rule), "rule add from 192.168.225.51/32 lookup 100 priority 1000");
    const RtnlOp addr{OpKind::add, AddressSpec{3, ip("10.0.0.2"), 32, ip("10.0.0.1"), 120}};
    EXPECT_EQ(describe(addr), "address add 10.0.0.2/32 peer 10.0.0.1 dev #3 valid_lft 120");
    const RtnlOp link{OpKind::add, LinkSpec{3, true, 1400}};
    EXPECT_EQ(describe(link), "link set dev #3 up mtu 1400");
    EXPECT_EQ(describe(std::vector<RtnlOp>{link, rule}),
              "link set dev #3 up mtu 1400; rule add from 192.168.225.51/32 lookup 100 priority 1000");
}

TEST(RtnlOps, AlreadyDoneIsOnlyTheHarmlessErrors) {
    const RtnlOp add{OpKind::add, RuleSpec{ip("10.0.0.2"), 32, 100, 1000}};
    const RtnlOp del{OpKind::remove, RuleSpec{ip("10.0.0.2"), 32, 100, 1000}};
    EXPECT_TRUE(already_done(add, EEXIST));
    EXPECT_FALSE(already_done(add, ENOENT));
    EXPECT_FALSE(already_done(add, EPERM));
    for (int e : {ESRCH, ENOENT, EADDRNOTAVAIL, ENODEV}) EXPECT_TRUE(already_done(del, e)) << e;
    EXPECT_FALSE(already_done(del, EPERM));
    // A link change is never "already done": an MTU the kernel refuses is a real failure.
    EXPECT_FALSE(already_done(RtnlOp{OpKind::add, LinkSpec{3, true, 1400}}, EEXIST));
}

}  // namespace
}  // namespace cellgate::net
