// The data link facade against the real kernel in namespaces: a DHCP link whose far end is dnsmasq
// playing an ECM module, a TUN device standing in for a raw-ip wwan0, and the interface choice
// from a fake sysfs tree (UART: none; a USB mode without a netdev: unavailable, naming the switch).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "base/unique_fd.hpp"
#include "net/data_link.hpp"
#include "net/dns.hpp"
#include "unit/net/fake_sysfs.hpp"
#include "unit/net/module_netns.hpp"
#include "unit/net/netns.hpp"
#include "unit/support/poll_scheduler.hpp"

namespace cellgate::net {
namespace {

using cellgate::testing::PollScheduler;
using testing::sh;
using namespace std::chrono_literals;

Ipv4 ip(const char* s) { return *parse_ipv4(s); }
bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }
bool have(const char* program) {
    return std::system((std::string("command -v ") + program + " >/dev/null 2>&1").c_str()) == 0;
}

// What the link told its owner.
struct Story {
    std::vector<LinkInfo> ups;
    std::vector<std::string> downs;
    DataLink::Callbacks callbacks() {
        return {[this](const LinkInfo& i) { ups.push_back(i); }, [this](const std::string& r) { downs.push_back(r); }};
    }
};

DataLinkConfig dhcp_config() {
    DataLinkConfig c;
    c.interface = "cell0";
    c.ip_method = IpMethod::dhcp;
    c.dhcp.udhcpc.hook = std::string(CELLGATE_SOURCE_DIR) + "/net/udhcpc-hook";
    c.dhcp.udhcpc.discover_pause = 1s;
    c.dhcp.udhcpc.round_pause = 1s;
    c.reapply_delay = 200ms;
    return c;
}

std::optional<Resolver::Result> resolve(PollScheduler& loop, Resolver& r, const std::string& host) {
    std::optional<Resolver::Result> out;
    r.resolve(host, [&](Resolver::Result res) { out = std::move(res); });
    loop.run_until([&] { return out.has_value(); }, 5000ms);
    return out;
}

TEST(DataLinkNetns, DhcpLinkComesUpPinnedAndHealsAfterFaults) {
    if (!have("busybox") || !have("dnsmasq") || !have("nsenter")) GTEST_SKIP() << "needs busybox, dnsmasq and nsenter";
    CELLGATE_IN_NETNS([] {
        testing::ModuleNamespace module("cell0");
        // "Ethernet": a better default route the pinned traffic must not take.
        sh("ip link add eth0 type veth peer name eth0p && ip link set eth0p up && ip link set eth0 up && "
           "ip addr add 198.51.100.2/24 dev eth0 && "
           "ip route add default via 198.51.100.1 dev eth0 metric 100");
        PollScheduler loop;
        Story story;
        DataLink link(loop, dhcp_config(), story.callbacks());
        const auto t0 = Clock::now();
        link.start();
        ASSERT_TRUE(loop.run_until([&] { return !story.ups.empty(); }, 15000ms)) << link.reason();
        std::printf("data link up %lld ms after start\n",
                    static_cast<long long>(std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count()));
        const LinkInfo info = story.ups.back();
        EXPECT_EQ(info.interface, "cell0");
        EXPECT_EQ(info.method, IpMethod::dhcp);
        ASSERT_TRUE(info.config.has_value());
        const std::string addr = to_string(info.config->address);
        EXPECT_TRUE(in_subnet(info.config->address, ip("192.168.225.0"), 24)) << addr;
        EXPECT_EQ(info.config->mtu, 1400U);
        EXPECT_EQ(info.dns, std::vector<Ipv4>{ip("192.168.225.1")});
        EXPECT_TRUE(contains(sh("ip route show table main"), "default via 192.168.225.1 dev cell0 proto static src " + addr + " metric 700"));
        EXPECT_TRUE(contains(sh("ip rule show"), "from " + addr + " lookup 100"));
        // A socket bound to the cellular address leaves through the module, Ethernet or not.
        EXPECT_TRUE(contains(sh("ip route get 203.0.113.7 from " + addr), "dev cell0"));
        EXPECT_TRUE(contains(sh("ip route get 203.0.113.7"), "dev eth0"));

        // The cloud name is known only to the module's DNS.
        ASSERT_NE(link.resolver(), nullptr);
        auto out = resolve(loop, *link.resolver(), "cloud.example");
        ASSERT_TRUE(out && out->has_value()) << (out ? out->error() : "no answer");
        EXPECT_EQ(**out, std::vector<Ipv4>{ip("203.0.113.7")});

        // Someone flushes the address: reported at once, put back by itself.
        sh("ip addr flush dev cell0");
        ASSERT_TRUE(loop.run_until([&] { return !story.downs.empty(); }, 3000ms));
        EXPECT_TRUE(contains(story.downs.back(), "removed")) << story.downs.back();
        ASSERT_TRUE(loop.run_until([&] { return story.ups.size() == 2; }, 5000ms)) << link.reason();
        EXPECT_TRUE(contains(sh("ip route show table 100"), "default via 192.168.225.1 dev cell0"));

        // The module's end goes away: the carrier drops, and comes back with the path.
        ASSERT_TRUE(module.run("ip link set mod0 down"));
        ASSERT_TRUE(loop.run_until([&] { return story.downs.size() == 2; }, 3000ms));
        EXPECT_TRUE(contains(story.downs.back(), "carrier")) << story.downs.back();
        EXPECT_EQ(link.state(), DataLinkState::acquiring);
        ASSERT_TRUE(module.run("ip link set mod0 up"));
        ASSERT_TRUE(loop.run_until([&] { return story.ups.size() == 3; }, 8000ms)) << link.reason();

        link.stop();
        loop.run_until([&] { return !contains(sh("ip -4 addr show dev cell0"), addr); }, 3000ms);
        EXPECT_FALSE(contains(sh("ip rule show"), "lookup 100"));
        EXPECT_FALSE(contains(sh("ip -4 addr show dev cell0"), addr));
        EXPECT_FALSE(contains(sh("ip route show table main"), "cell0"));
        EXPECT_EQ(story.downs.size(), 2U);  // stop() is not a loss
    });
}

TEST(DataLinkNetns, ADeadDhcpServerIsALoss) {
    if (!have("busybox") || !have("dnsmasq")) GTEST_SKIP() << "needs busybox and dnsmasq";
    CELLGATE_IN_NETNS([] {
        testing::ModuleNamespace module("cell0");
        PollScheduler loop;
        Story story;
        auto cfg = dhcp_config();
        cfg.dhcp.probe_interval = 2000ms;
        DataLink link(loop, cfg, story.callbacks());
        link.start();
        ASSERT_TRUE(loop.run_until([&] { return !story.ups.empty(); }, 15000ms)) << link.reason();
        module.stop_dnsmasq();
        const auto t0 = Clock::now();
        ASSERT_TRUE(loop.run_until([&] { return !story.downs.empty(); }, 15000ms));
        std::printf("dead DHCP server noticed after %lld ms\n",
                    static_cast<long long>(std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count()));
        EXPECT_EQ(link.resolver(), nullptr);
        // The lease is gone, and so is what it installed.
        loop.run_until([&] { return !contains(sh("ip rule show"), "lookup 100"); }, 3000ms);
        EXPECT_FALSE(contains(sh("ip rule show"), "lookup 100"));
    });
}

// A TUN device attached to a file descriptor (so it has a carrier), like qmi_wwan in raw-ip mode.
UniqueFd make_tun(const char* name) {
    UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
    if (!fd) return fd;
    ifreq ifr{};
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    std::strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (::ioctl(fd.get(), TUNSETIFF, &ifr) != 0) fd.reset();
    return fd;
}

// wwan0 as a raw-ip interface: a TUN's driver says nothing, so the method is given.
DataLinkConfig raw_ip_config(RouteMode mode = RouteMode::failover) {
    DataLinkConfig c;
    c.interface = "wwan0";
    c.ip_method = IpMethod::fixed;
    c.route.mode = mode;
    return c;
}

StaticConfig modem_settings(const char* address) { return {ip(address), 32, std::nullopt, {}, std::nullopt}; }

struct StaticCase {
    RouteMode mode;
    const char* main_route;  // what `ip route show table main` must contain, "" for nothing of ours
};

class DataLinkStatic : public ::testing::TestWithParam<StaticCase> {};

TEST_P(DataLinkStatic, RawIpLinkFromTheModemsSettings) {
    const StaticCase c = GetParam();
    CELLGATE_IN_NETNS([c] {
        UniqueFd tun = make_tun("wwan0");
        ASSERT_TRUE(tun.valid()) << "no /dev/net/tun";
        PollScheduler loop;
        Story story;
        DataLink link(loop, raw_ip_config(c.mode), story.callbacks());
        link.start();
        loop.run_for(200ms);
        EXPECT_TRUE(story.ups.empty());  // nothing to install before the modem says what
        link.set_static({ip("10.64.12.34"), 32, ip("10.64.12.1"), {ip("211.136.17.107")}, 1400});
        ASSERT_TRUE(loop.run_until([&] { return !story.ups.empty(); }, 3000ms)) << link.reason();
        EXPECT_EQ(story.ups.back().method, IpMethod::fixed);
        EXPECT_TRUE(story.ups.back().config->point_to_point);
        EXPECT_TRUE(contains(sh("ip link show wwan0"), "mtu 1400"));
        EXPECT_TRUE(contains(sh("ip -4 addr show dev wwan0"), "inet 10.64.12.34/32"));
        const std::string main = sh("ip route show table main");
        if (*c.main_route) EXPECT_TRUE(contains(main, c.main_route)) << main;
        else EXPECT_FALSE(contains(main, "default")) << main;
        EXPECT_TRUE(contains(sh("ip route show table 100"), "default dev wwan0"));
        EXPECT_TRUE(contains(sh("ip rule show"), "from 10.64.12.34 lookup 100"));

        // A redial with a new address moves everything to it.
        link.set_static({ip("10.64.12.35"), 32, ip("10.64.12.1"), {ip("211.136.17.107")}, 1400});
        ASSERT_TRUE(loop.run_until([&] { return story.ups.size() == 2; }, 3000ms)) << link.reason();
        EXPECT_TRUE(contains(sh("ip rule show"), "from 10.64.12.35 lookup 100"));
        EXPECT_FALSE(contains(sh("ip rule show"), "10.64.12.34"));
        EXPECT_TRUE(story.downs.empty());
    });
}

INSTANTIATE_TEST_SUITE_P(Modes, DataLinkStatic,
                         ::testing::Values(StaticCase{RouteMode::failover, "default dev wwan0 proto static scope link src 10.64.12.34 metric 700"},
                                           StaticCase{RouteMode::primary, "default dev wwan0 proto static scope link src 10.64.12.34 metric 50"},
                                           StaticCase{RouteMode::none, ""}));

TEST(DataLinkNetns, DestroyedItLeavesNothingBehind) {
    CELLGATE_IN_NETNS([] {
        UniqueFd tun = make_tun("wwan0");
        ASSERT_TRUE(tun.valid());
        PollScheduler loop;
        Story story;
        {
            DataLink link(loop, raw_ip_config(), story.callbacks());
            link.start();
            link.set_static(modem_settings("10.64.12.34"));
            ASSERT_TRUE(loop.run_until([&] { return !story.ups.empty(); }, 3000ms)) << link.reason();
            EXPECT_EQ(link.resolver(), nullptr);  // no DNS servers given
        }
        EXPECT_FALSE(contains(sh("ip rule show"), "lookup 100"));
        EXPECT_FALSE(contains(sh("ip -4 addr show dev wwan0"), "10.64.12.34"));
        EXPECT_EQ(sh("ip route show table 100"), "");
    });
}

TEST(DataLinkNetns, AnInterfaceThatAppearsLaterIsTakenUp) {
    CELLGATE_IN_NETNS([] {
        PollScheduler loop;
        Story story;
        DataLink link(loop, raw_ip_config(), story.callbacks());
        link.start();
        link.set_static(modem_settings("10.64.12.34"));
        loop.run_for(200ms);
        EXPECT_EQ(link.state(), DataLinkState::searching);
        UniqueFd tun = make_tun("wwan0");  // the module re-enumerated
        ASSERT_TRUE(loop.run_until([&] { return !story.ups.empty(); }, 3000ms)) << link.reason();
        tun.reset();  // and goes again: a TUN without its fd is deleted
        ASSERT_TRUE(loop.run_until([&] { return !story.downs.empty(); }, 3000ms));
        EXPECT_EQ(link.state(), DataLinkState::searching);
    });
}

TEST(DataLink, AModuleOnAUartHasNoInterfaceByDesign) {
    testing::FakeSysfs sys;
    sys.uart_tty("ttyAMA0");
    PollScheduler loop;
    Story story;
    DataLinkConfig cfg;
    cfg.tty = sys.dev("ttyAMA0");
    cfg.sysfs_root = sys.root();
    DataLink link(loop, cfg, story.callbacks());
    link.start();
    EXPECT_EQ(link.state(), DataLinkState::none);
    ASSERT_EQ(story.ups.size(), 1U);
    EXPECT_EQ(story.ups[0].method, IpMethod::none);
    EXPECT_FALSE(story.ups[0].config.has_value());
}

TEST(DataLink, AUsbModeWithoutANetdevNamesTheSwitch) {
    testing::FakeSysfs sys;
    const auto usb = sys.usb_device("1-1", "2c7c", "0125");
    sys.usb_serial_tty(sys.interface(usb, 2, "option"), "ttyUSB2");
    PollScheduler loop;
    Story story;
    DataLinkConfig cfg;
    cfg.tty = sys.dev("ttyUSB2");
    cfg.sysfs_root = sys.root();
    DataLink link(loop, cfg, story.callbacks());
    link.start();
    EXPECT_EQ(link.state(), DataLinkState::unavailable);
    ASSERT_EQ(story.downs.size(), 1U);
    EXPECT_TRUE(contains(story.downs[0], "AT+QCFG=\"usbnet\"")) << story.downs[0];
    EXPECT_TRUE(story.ups.empty());
}

TEST(DataLink, AnInterfaceWhoseDriverSaysNothingNeedsTheMethod) {
    testing::FakeSysfs sys;
    sys.virtual_netdev("veth0", 7, 1);
    PollScheduler loop;
    Story story;
    DataLinkConfig cfg;
    cfg.interface = "veth0";
    cfg.sysfs_root = sys.root();
    DataLink link(loop, cfg, story.callbacks());
    link.start();
    EXPECT_EQ(link.state(), DataLinkState::unavailable);
    ASSERT_EQ(story.downs.size(), 1U);
    EXPECT_TRUE(contains(story.downs[0], "modem.ip_method")) << story.downs[0];
}

}  // namespace
}  // namespace cellgate::net
