// The hook's report lines and udhcpc's command line.
#include <gtest/gtest.h>

#include "net/dhcp_lease.hpp"

namespace cellgate::net {
namespace {

Ipv4 ip(const char* s) { return *parse_ipv4(s); }

std::optional<HookReport> parse(const std::string& line) {
    std::string error;
    auto r = parse_hook_line(line, error);
    EXPECT_EQ(error, "") << line;
    return r;
}

TEST(DhcpHook, BoundCarriesTheWholeLease) {
    const auto r = parse("cellgate-dhcp\tevent=bound\tip=192.168.225.51\tmask=24\tsubnet=255.255.255.0\t"
                         "router=192.168.225.1 192.168.225.2\tdns=192.168.225.1 8.8.8.8\tmtu=1400\tlease=120\t"
                         "serverid=192.168.225.1");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->event, DhcpEvent::bound);
    ASSERT_TRUE(r->lease.has_value());
    const DhcpLease& l = *r->lease;
    EXPECT_EQ(l.address, ip("192.168.225.51"));
    EXPECT_EQ(l.prefix, 24);
    EXPECT_EQ(l.router, ip("192.168.225.1"));
    EXPECT_EQ(l.dns, (std::vector<Ipv4>{ip("192.168.225.1"), ip("8.8.8.8")}));
    EXPECT_EQ(l.mtu, 1400U);
    EXPECT_EQ(l.lease_seconds, 120U);
    EXPECT_EQ(l.server, ip("192.168.225.1"));
}

TEST(DhcpHook, RenewWithoutOptionalFieldsAndMaskFromSubnet) {
    const auto r = parse("cellgate-dhcp\tevent=renew\tip=10.0.0.9\tmask=\tsubnet=255.255.0.0\trouter=\tdns=\tmtu=\tlease=\tserverid=");
    ASSERT_TRUE(r && r->lease);
    EXPECT_EQ(r->event, DhcpEvent::renew);
    EXPECT_EQ(r->lease->prefix, 16);
    EXPECT_FALSE(r->lease->router.has_value());
    EXPECT_TRUE(r->lease->dns.empty());
    EXPECT_FALSE(r->lease->mtu.has_value());
    EXPECT_EQ(r->lease->lease_seconds, 0U);
}

TEST(DhcpHook, EventsWithoutLease) {
    for (auto e : {DhcpEvent::deconfig, DhcpEvent::leasefail, DhcpEvent::nak}) {
        const auto r = parse(std::string("cellgate-dhcp\tevent=") + to_string(e) + "\tip=\tmask=\trouter=\tdns=\tmtu=\tlease=\tserverid=");
        ASSERT_TRUE(r.has_value()) << to_string(e);
        EXPECT_EQ(r->event, e);
        EXPECT_FALSE(r->lease.has_value());
    }
}

TEST(DhcpHook, UnusableReportsAreErrorsAndOtherLinesAreNotReports) {
    std::string error;
    EXPECT_FALSE(parse_hook_line("cellgate-dhcp\tevent=bound\tip=\tmask=24", error).has_value());
    EXPECT_NE(error.find("address"), std::string::npos);
    EXPECT_FALSE(parse_hook_line("cellgate-dhcp\tevent=bound\tip=0.0.0.0\tmask=24", error).has_value());
    EXPECT_FALSE(parse_hook_line("cellgate-dhcp\tevent=bound\tip=10.0.0.2\tmask=40\tsubnet=255.0.255.0", error).has_value());
    EXPECT_NE(error.find("netmask"), std::string::npos);
    EXPECT_FALSE(parse_hook_line("cellgate-dhcp\tevent=reboot", error).has_value());
    EXPECT_NE(error.find("reboot"), std::string::npos);
    EXPECT_FALSE(parse_hook_line("udhcpc: started, v1.35.0", error).has_value());
    EXPECT_EQ(error, "");
}

TEST(DhcpHook, ImplausibleMtuIsDropped) {
    const auto r = parse("cellgate-dhcp\tevent=bound\tip=10.0.0.2\tmask=24\tmtu=68");
    ASSERT_TRUE(r && r->lease);
    EXPECT_FALSE(r->lease->mtu.has_value());
    const auto junk = parse("cellgate-dhcp\tevent=bound\tip=10.0.0.2\tmask=24\tmtu=14x0\tdns=1.2.3.4 junk 5.6.7.8");
    ASSERT_TRUE(junk && junk->lease);
    EXPECT_FALSE(junk->lease->mtu.has_value());
    EXPECT_EQ(junk->lease->dns.size(), 2U);
}

TEST(DhcpHook, UdhcpcCommandLine) {
    UdhcpcOptions o;
    o.interface = "usb0";
    o.hook = "/usr/libexec/cellgate/udhcpc-hook";
    o.discover_tries = 4;
    o.discover_pause = std::chrono::seconds(2);
    o.round_pause = std::chrono::seconds(7);
    EXPECT_EQ(udhcpc_argv(o), (std::vector<std::string>{"busybox", "udhcpc", "-f", "-i", "usb0", "-s",
                                                        "/usr/libexec/cellgate/udhcpc-hook", "-O", "mtu", "-B", "-R",
                                                        "-t", "4", "-T", "2", "-A", "7"}));
}

}  // namespace
}  // namespace cellgate::net
