// The rtnetlink requests byte-wise: each is parsed back with libmnl and its header fields and
// attributes compared with what `ip` would send for the same change.
#include <gtest/gtest.h>

#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "net/rtnl_msg.hpp"

namespace cellgate::net {
namespace {

Ipv4 ip(const char* s) { return *parse_ipv4(s); }

// The message's attributes by type (each type appears at most once in our requests).
struct Parsed {
    const nlmsghdr* nlh = nullptr;
    std::map<int, const nlattr*> attrs;
    int count = 0;

    uint32_t u32(int type) const { return mnl_attr_get_u32(attrs.at(type)); }
    Ipv4 addr(int type) const {
        Ipv4 a;
        EXPECT_EQ(mnl_attr_get_payload_len(attrs.at(type)), 4);
        std::memcpy(&a.be, mnl_attr_get_payload(attrs.at(type)), 4);
        return a;
    }
    bool has(int type) const { return attrs.count(type) != 0; }
};

template <class Header>
Parsed parse(const std::vector<uint8_t>& buf, const Header** hdr) {
    Parsed p;
    p.nlh = reinterpret_cast<const nlmsghdr*>(buf.data());
    EXPECT_EQ(p.nlh->nlmsg_len, buf.size());
    int len = static_cast<int>(buf.size());
    EXPECT_TRUE(mnl_nlmsg_ok(p.nlh, len));
    *hdr = static_cast<const Header*>(mnl_nlmsg_get_payload(p.nlh));
    mnl_attr_parse(
        p.nlh, sizeof(Header),
        [](const nlattr* a, void* data) {
            auto* self = static_cast<Parsed*>(data);
            EXPECT_EQ(self->attrs.count(mnl_attr_get_type(a)), 0U) << "attribute twice: " << mnl_attr_get_type(a);
            self->attrs[mnl_attr_get_type(a)] = a;
            ++self->count;
            return MNL_CB_OK;
        },
        &p);
    return p;
}

TEST(RtnlMsg, AddAddressWithBroadcastAndLifetime) {
    const RtnlOp op{OpKind::add, AddressSpec{7, ip("192.168.225.51"), 24, std::nullopt, 120}};
    const auto buf = build_request(op, 42);
    const ifaddrmsg* ifa = nullptr;
    const auto p = parse(buf, &ifa);
    EXPECT_EQ(p.nlh->nlmsg_type, RTM_NEWADDR);
    EXPECT_EQ(p.nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE);
    EXPECT_EQ(p.nlh->nlmsg_seq, 42U);
    EXPECT_EQ(ifa->ifa_family, AF_INET);
    EXPECT_EQ(ifa->ifa_prefixlen, 24);
    EXPECT_EQ(ifa->ifa_index, 7U);
    EXPECT_EQ(ifa->ifa_scope, RT_SCOPE_UNIVERSE);
    EXPECT_EQ(p.addr(IFA_LOCAL), ip("192.168.225.51"));
    EXPECT_EQ(p.addr(IFA_ADDRESS), ip("192.168.225.51"));
    EXPECT_EQ(p.addr(IFA_BROADCAST), ip("192.168.225.255"));
    ASSERT_TRUE(p.has(IFA_CACHEINFO));
    const auto* ci = static_cast<const ifa_cacheinfo*>(mnl_attr_get_payload(p.attrs.at(IFA_CACHEINFO)));
    EXPECT_EQ(ci->ifa_valid, 120U);
    EXPECT_EQ(ci->ifa_prefered, 120U);
    EXPECT_EQ(p.count, 4);
}

TEST(RtnlMsg, PointToPointAddressHasPeerAndNoBroadcast) {
    const RtnlOp op{OpKind::add, AddressSpec{3, ip("10.64.64.2"), 32, ip("10.64.64.1"), 0}};
    const ifaddrmsg* ifa = nullptr;
    const auto buf = build_request(op, 1);
    const auto p = parse(buf, &ifa);
    EXPECT_EQ(p.addr(IFA_LOCAL), ip("10.64.64.2"));
    EXPECT_EQ(p.addr(IFA_ADDRESS), ip("10.64.64.1"));
    EXPECT_FALSE(p.has(IFA_BROADCAST));
    EXPECT_FALSE(p.has(IFA_CACHEINFO));
}

TEST(RtnlMsg, DeleteAddressCarriesOnlyWhatIdentifiesIt) {
    const RtnlOp op{OpKind::remove, AddressSpec{7, ip("192.168.225.51"), 24, std::nullopt, 120}};
    const ifaddrmsg* ifa = nullptr;
    const auto buf = build_request(op, 5);
    const auto p = parse(buf, &ifa);
    EXPECT_EQ(p.nlh->nlmsg_type, RTM_DELADDR);
    EXPECT_EQ(p.nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
    EXPECT_EQ(ifa->ifa_prefixlen, 24);
    EXPECT_EQ(p.count, 2);
}

TEST(RtnlMsg, DefaultRouteViaGatewayWithMetricInMainTable) {
    const RtnlOp op{OpKind::add, RouteSpec{7, ip("192.168.225.1"), 700, kMainTable, ip("192.168.225.51"), false}};
    const rtmsg* rtm = nullptr;
    const auto buf = build_request(op, 9);
    const auto p = parse(buf, &rtm);
    EXPECT_EQ(p.nlh->nlmsg_type, RTM_NEWROUTE);
    EXPECT_EQ(p.nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE);
    EXPECT_EQ(rtm->rtm_family, AF_INET);
    EXPECT_EQ(rtm->rtm_dst_len, 0);
    EXPECT_EQ(rtm->rtm_table, RT_TABLE_MAIN);
    EXPECT_EQ(rtm->rtm_protocol, RTPROT_STATIC);
    EXPECT_EQ(rtm->rtm_scope, RT_SCOPE_UNIVERSE);
    EXPECT_EQ(rtm->rtm_type, RTN_UNICAST);
    EXPECT_EQ(rtm->rtm_flags, 0U);
    EXPECT_EQ(p.u32(RTA_TABLE), RT_TABLE_MAIN);
    EXPECT_EQ(p.u32(RTA_OIF), 7U);
    EXPECT_EQ(p.u32(RTA_PRIORITY), 700U);
    EXPECT_EQ(p.addr(RTA_GATEWAY), ip("192.168.225.1"));
    EXPECT_EQ(p.addr(RTA_PREFSRC), ip("192.168.225.51"));
    EXPECT_FALSE(p.has(RTA_DST));
}

TEST(RtnlMsg, DeviceRouteInAPolicyTableAboveByteRange) {
    const RtnlOp op{OpKind::add, RouteSpec{3, std::nullopt, 700, 1000, std::nullopt, false}};
    const rtmsg* rtm = nullptr;
    const auto buf = build_request(op, 9);
    const auto p = parse(buf, &rtm);
    EXPECT_EQ(rtm->rtm_table, RT_TABLE_UNSPEC);
    EXPECT_EQ(p.u32(RTA_TABLE), 1000U);
    EXPECT_EQ(rtm->rtm_scope, RT_SCOPE_LINK);
    EXPECT_FALSE(p.has(RTA_GATEWAY));
}

TEST(RtnlMsg, OnlinkGatewayAndRouteRemoval) {
    const RtnlOp add{OpKind::add, RouteSpec{3, ip("10.0.0.1"), 50, 100, std::nullopt, true}};
    const rtmsg* rtm = nullptr;
    auto buf = build_request(add, 1);
    parse(buf, &rtm);
    EXPECT_EQ(rtm->rtm_flags, static_cast<unsigned>(RTNH_F_ONLINK));
    EXPECT_EQ(rtm->rtm_table, 100);

    const RtnlOp del{OpKind::remove, RouteSpec{3, ip("10.0.0.1"), 50, 100, ip("10.0.0.2"), true}};
    buf = build_request(del, 2);
    const auto p = parse(buf, &rtm);
    EXPECT_EQ(p.nlh->nlmsg_type, RTM_DELROUTE);
    EXPECT_EQ(p.nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
    EXPECT_EQ(rtm->rtm_scope, RT_SCOPE_NOWHERE);
    EXPECT_EQ(p.u32(RTA_PRIORITY), 50U);
    EXPECT_FALSE(p.has(RTA_PREFSRC));
}

TEST(RtnlMsg, SourceRuleLookupTable) {
    const RtnlOp op{OpKind::add, RuleSpec{ip("192.168.225.51"), 32, 100, 1000}};
    const fib_rule_hdr* frh = nullptr;
    const auto buf = build_request(op, 3);
    const auto p = parse(buf, &frh);
    EXPECT_EQ(p.nlh->nlmsg_type, RTM_NEWRULE);
    EXPECT_EQ(p.nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
    EXPECT_EQ(frh->family, AF_INET);
    EXPECT_EQ(frh->src_len, 32);
    EXPECT_EQ(frh->dst_len, 0);
    EXPECT_EQ(frh->table, 100);
    EXPECT_EQ(frh->action, FR_ACT_TO_TBL);
    EXPECT_EQ(p.addr(FRA_SRC), ip("192.168.225.51"));
    EXPECT_EQ(p.u32(FRA_TABLE), 100U);
    EXPECT_EQ(p.u32(FRA_PRIORITY), 1000U);
    EXPECT_EQ(p.count, 3);

    const auto del = build_request(RtnlOp{OpKind::remove, RuleSpec{ip("192.168.225.51"), 32, 100, 1000}}, 4);
    EXPECT_EQ(reinterpret_cast<const nlmsghdr*>(del.data())->nlmsg_type, RTM_DELRULE);
}

TEST(RtnlMsg, LinkUpAndMtu) {
    const ifinfomsg* ifi = nullptr;
    auto buf = build_request(RtnlOp{OpKind::add, LinkSpec{4, true, 1400}}, 8);
    auto p = parse(buf, &ifi);
    EXPECT_EQ(p.nlh->nlmsg_type, RTM_NEWLINK);
    EXPECT_EQ(p.nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
    EXPECT_EQ(ifi->ifi_index, 4);
    EXPECT_EQ(ifi->ifi_change, static_cast<unsigned>(IFF_UP));
    EXPECT_EQ(ifi->ifi_flags, static_cast<unsigned>(IFF_UP));
    EXPECT_EQ(p.u32(IFLA_MTU), 1400U);

    buf = build_request(RtnlOp{OpKind::add, LinkSpec{4, false, std::nullopt}}, 8);
    p = parse(buf, &ifi);
    EXPECT_EQ(ifi->ifi_change, static_cast<unsigned>(IFF_UP));
    EXPECT_EQ(ifi->ifi_flags, 0U);
    EXPECT_FALSE(p.has(IFLA_MTU));

    buf = build_request(RtnlOp{OpKind::add, LinkSpec{4, std::nullopt, 1500}}, 8);
    parse(buf, &ifi);
    EXPECT_EQ(ifi->ifi_change, 0U);  // the MTU alone leaves up/down as it is
}

TEST(RtnlMsg, DumpsAskForEverything) {
    const auto links = build_link_dump(11);
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(links.data());
    EXPECT_EQ(nlh->nlmsg_type, RTM_GETLINK);
    EXPECT_EQ(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
    const auto addrs = build_address_dump(12);
    nlh = reinterpret_cast<const nlmsghdr*>(addrs.data());
    EXPECT_EQ(nlh->nlmsg_type, RTM_GETADDR);
    EXPECT_EQ(static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh))->ifa_family, AF_INET);
}

// Messages as the kernel sends them, built by hand, parsed into events.
TEST(RtnlMsg, ParsesLinkAndAddressEvents) {
    std::vector<uint8_t> buf(512);
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = RTM_NEWLINK;
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
    ifi->ifi_index = 6;
    ifi->ifi_flags = IFF_UP | IFF_LOWER_UP;
    mnl_attr_put_strz(nlh, IFLA_IFNAME, "usb0");
    mnl_attr_put_u32(nlh, IFLA_MTU, 1400);
    auto link = parse_link(nlh);
    ASSERT_TRUE(link.has_value());
    EXPECT_EQ(link->ifindex, 6);
    EXPECT_EQ(link->name, "usb0");
    EXPECT_TRUE(link->up);
    EXPECT_TRUE(link->carrier);
    EXPECT_FALSE(link->removed);
    EXPECT_EQ(link->mtu, 1400U);
    EXPECT_FALSE(parse_address(nlh).has_value());

    ifi->ifi_flags = IFF_UP;
    nlh->nlmsg_type = RTM_DELLINK;
    link = parse_link(nlh);
    EXPECT_TRUE(link->removed);
    EXPECT_FALSE(link->carrier);

    std::fill(buf.begin(), buf.end(), 0);
    nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = RTM_DELADDR;
    auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
    ifa->ifa_family = AF_INET;
    ifa->ifa_prefixlen = 32;
    ifa->ifa_index = 6;
    const Ipv4 peer = ip("10.64.64.1"), local = ip("10.64.64.2");
    mnl_attr_put(nlh, IFA_ADDRESS, 4, &peer.be);
    mnl_attr_put(nlh, IFA_LOCAL, 4, &local.be);
    const auto addr = parse_address(nlh);
    ASSERT_TRUE(addr.has_value());
    EXPECT_EQ(addr->local, local);  // the local address, not the point-to-point peer
    EXPECT_EQ(addr->prefix, 32);
    EXPECT_TRUE(addr->removed);
    EXPECT_FALSE(parse_link(nlh).has_value());

    ifa->ifa_family = AF_INET6;
    EXPECT_FALSE(parse_address(nlh).has_value());
}

TEST(RtnlOps, DescribesInIpSyntaxAndKnowsWhatIsAlreadySo) {
    const RtnlOp route{OpKind::add, RouteSpec{3, ip("10.0.0.1"), 700, 100, std::nullopt, false}};
    EXPECT_EQ(describe(route), "route add default via 10.0.0.1 dev #3 metric 700 table 100");
    const RtnlOp rule{OpKind::remove, RuleSpec{ip("10.0.0.2"), 32, 100, 1000}};
    EXPECT_EQ(describe(rule), "rule del from 10.0.0.2/32 lookup 100 priority 1000");
    EXPECT_TRUE(already_done(rule, ENOENT));
    EXPECT_FALSE(already_done(rule, EPERM));
    EXPECT_TRUE(already_done(RtnlOp{OpKind::add, RuleSpec{}}, EEXIST));
    EXPECT_FALSE(already_done(RtnlOp{OpKind::add, RouteSpec{}}, ENOENT));
    EXPECT_FALSE(already_done(RtnlOp{OpKind::add, LinkSpec{}}, EEXIST));
}

TEST(Ipv4, ParsesFormatsAndMasks) {
    EXPECT_EQ(to_string(ip("192.168.225.1")), "192.168.225.1");
    EXPECT_FALSE(parse_ipv4("192.168.225").has_value());
    EXPECT_FALSE(parse_ipv4("192.168.225.1/24").has_value());
    EXPECT_FALSE(parse_ipv4(" 1.2.3.4").has_value());
    EXPECT_EQ(prefix_from_netmask(ip("255.255.255.0")), 24);
    EXPECT_EQ(prefix_from_netmask(ip("255.255.255.255")), 32);
    EXPECT_EQ(prefix_from_netmask(ip("0.0.0.0")), 0);
    EXPECT_FALSE(prefix_from_netmask(ip("255.0.255.0")).has_value());
    EXPECT_EQ(netmask(20), ip("255.255.240.0"));
    EXPECT_TRUE(in_subnet(ip("10.1.2.3"), ip("10.1.0.0"), 16));
    EXPECT_FALSE(in_subnet(ip("10.2.2.3"), ip("10.1.0.0"), 16));
    EXPECT_TRUE(in_subnet(ip("8.8.8.8"), ip("10.1.0.0"), 0));
}

}  // namespace
}  // namespace cellgate::net
