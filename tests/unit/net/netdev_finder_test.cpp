// The tty -> netdev match through a fake sysfs tree, one per driver kind, and the IP method rules.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "net/netdev_finder.hpp"
#include "unit/net/fake_sysfs.hpp"

namespace fs = std::filesystem;

namespace cellgate::net {
namespace {

using testing::FakeSysfs;

// Quectel EC25 layout: DM, GNSS, AT, modem on if0..3 (option), the netdev on if4.
std::string add_ec25(FakeSysfs& s, const std::string& port, const char* net_driver, const char* ifname,
                     int ifindex, int type, const char* raw_ip = nullptr) {
    const auto usb = s.usb_device(port, "2c7c", "0125");
    for (int i = 0; i < 4; ++i) s.usb_serial_tty(s.interface(usb, i, "option"), "ttyUSB" + std::to_string(i));
    if (net_driver) s.netdev(s.interface(usb, 4, net_driver), ifname, ifindex, type, raw_ip);
    return usb;
}

struct DriverCase {
    const char* driver;
    const char* ifname;
    int type;
    LinkKind kind;
    IpMethod method;
};

class NetdevByDriver : public ::testing::TestWithParam<DriverCase> {};

TEST_P(NetdevByDriver, FindsTheModulesNetdevAndClassifiesIt) {
    const auto& c = GetParam();
    FakeSysfs s;
    const auto usb = add_ec25(s, "1-1.3", c.driver, c.ifname, 5, c.type, c.kind == LinkKind::qmi ? "Y" : nullptr);
    // Ethernet on the board (smsc95xx-like) and a second module must not be taken.
    const auto eth = s.usb_device("1-1.1", "0424", "ec00");
    s.netdev(s.interface(eth, 0, "smsc95xx"), "eth0", 2, 1);
    const auto other = s.usb_device("1-1.4", "1e0e", "9001");
    s.netdev(s.interface(other, 5, "qmi_wwan"), "wwan9", 9, 65534);

    const auto r = find_module_netdev(s.dev("ttyUSB2"), s.root());
    ASSERT_EQ(r.outcome, FindOutcome::found) << r.message;
    ASSERT_TRUE(r.netdev.has_value());
    EXPECT_EQ(r.netdev->name, c.ifname);
    EXPECT_EQ(r.netdev->ifindex, 5);
    EXPECT_EQ(r.netdev->driver, c.driver);
    EXPECT_EQ(r.netdev->kind, c.kind);
    EXPECT_EQ(r.netdev->usb_interface, 4);
    EXPECT_EQ(r.netdev->usb_device, fs::canonical(usb).string());
    EXPECT_EQ(r.vid, 0x2c7c);
    EXPECT_EQ(r.pid, 0x0125);
    EXPECT_EQ(default_ip_method(r.netdev->kind), c.method);
    EXPECT_EQ(r.netdev->point_to_point(), c.type == 65534);
    if (c.kind == LinkKind::qmi) EXPECT_EQ(r.netdev->qmi_raw_ip, true);
    else EXPECT_FALSE(r.netdev->qmi_raw_ip.has_value());
    EXPECT_NE(r.message.find(c.ifname), std::string::npos) << r.message;
}

INSTANTIATE_TEST_SUITE_P(Drivers, NetdevByDriver,
                         ::testing::Values(DriverCase{"cdc_ether", "usb0", 1, LinkKind::ecm, IpMethod::dhcp},
                                           DriverCase{"rndis_host", "eth1", 1, LinkKind::ecm, IpMethod::dhcp},
                                           DriverCase{"cdc_ncm", "usb0", 1, LinkKind::ecm, IpMethod::dhcp},
                                           DriverCase{"qmi_wwan", "wwan0", 65534, LinkKind::qmi, IpMethod::fixed},
                                           DriverCase{"cdc_mbim", "wwan0", 65534, LinkKind::mbim, IpMethod::fixed}));

TEST(NetdevFinder, FollowsByIdLinksAndAcmTtys) {
    FakeSysfs s;
    // Air780E: RNDIS on if0/1, AT on a cdc-acm tty whose device is the interface itself.
    const auto usb = s.usb_device("1-1.2", "19d1", "0001");
    s.netdev(s.interface(usb, 0, "rndis_host"), "usb0", 7, 1);
    s.acm_tty(s.interface(usb, 2, "cdc_acm"), "ttyACM0");
    s.by_id("usb-Luat_Air780E-if02", "ttyACM0");
    const auto r = find_module_netdev(s.root() + "/dev/serial/by-id/usb-Luat_Air780E-if02", s.root());
    ASSERT_EQ(r.outcome, FindOutcome::found) << r.message;
    EXPECT_EQ(r.netdev->name, "usb0");
    EXPECT_EQ(r.netdev->kind, LinkKind::ecm);
}

TEST(NetdevFinder, PrefersTheLowestUsbInterfaceAndSaysSo) {
    FakeSysfs s;
    const auto usb = s.usb_device("1-1.3", "2c7c", "0125");
    s.usb_serial_tty(s.interface(usb, 2, "option"), "ttyUSB2");
    s.netdev(s.interface(usb, 6, "cdc_ether"), "usb1", 8, 1);
    s.netdev(s.interface(usb, 4, "cdc_ether"), "usb0", 7, 1);
    const auto r = find_module_netdev(s.dev("ttyUSB2"), s.root());
    ASSERT_EQ(r.outcome, FindOutcome::found);
    EXPECT_EQ(r.netdev->name, "usb0");
    EXPECT_NE(r.message.find("also usb1"), std::string::npos) << r.message;
}

struct ModeCase {
    const char* vid;
    const char* pid;
    const char* command;
};

class NoNetdev : public ::testing::TestWithParam<ModeCase> {};

TEST_P(NoNetdev, NamesTheVendorCommandThatSwitchesTheMode) {
    const auto& c = GetParam();
    FakeSysfs s;
    const auto usb = s.usb_device("1-1.3", c.vid, c.pid);
    for (int i = 0; i < 4; ++i) s.usb_serial_tty(s.interface(usb, i, "option"), "ttyUSB" + std::to_string(i));
    s.interface(usb, 4);  // the net function exists but no driver bound a netdev to it
    const auto r = find_module_netdev(s.dev("ttyUSB2"), s.root());
    EXPECT_EQ(r.outcome, FindOutcome::no_netdev);
    EXPECT_FALSE(r.netdev.has_value());
    EXPECT_NE(r.message.find("no network interface"), std::string::npos) << r.message;
    EXPECT_NE(r.message.find(c.command), std::string::npos) << r.message;
    EXPECT_NE(r.message.find(std::string(c.vid) + ":" + c.pid), std::string::npos) << r.message;
}

INSTANTIATE_TEST_SUITE_P(Vendors, NoNetdev,
                         ::testing::Values(ModeCase{"2c7c", "0125", "AT+QCFG=\"usbnet\",1"},
                                           ModeCase{"1e0e", "9001", "AT+CUSBPIDSWITCH=9011,1,1"},
                                           ModeCase{"19d1", "0001", "AT+RNDISCALL=1"},
                                           ModeCase{"12d1", "15c1", "AT^SETPORT"}));

TEST(NetdevFinder, AnUnknownVendorWithoutNetdevGetsNoHint) {
    FakeSysfs s;
    const auto usb = s.usb_device("1-1.3", "abcd", "1234");
    s.acm_tty(s.interface(usb, 0, "cdc_acm"), "ttyACM0");
    const auto r = find_module_netdev(s.dev("ttyACM0"), s.root());
    EXPECT_EQ(r.outcome, FindOutcome::no_netdev);
    EXPECT_EQ(r.message.find("switch it"), std::string::npos) << r.message;
}

TEST(NetdevFinder, AUartHasNoNetdevByDesign) {
    FakeSysfs s;
    s.uart_tty("ttyAMA0");
    add_ec25(s, "1-1.3", "qmi_wwan", "wwan0", 5, 65534);  // a USB module elsewhere is not it
    const auto r = find_module_netdev(s.dev("ttyAMA0"), s.root());
    EXPECT_EQ(r.outcome, FindOutcome::not_usb) << r.message;
    EXPECT_FALSE(r.netdev.has_value());
}

TEST(NetdevFinder, ATtyUnknownToSysfsIsNotUsb) {
    FakeSysfs s;
    std::ofstream(s.dev("pts7")) << "";  // a pty has no class/tty entry
    EXPECT_EQ(find_module_netdev(s.dev("pts7"), s.root()).outcome, FindOutcome::not_usb);
}

TEST(NetdevFinder, AMissingTtyIsAnError) {
    FakeSysfs s;
    const auto r = find_module_netdev(s.dev("ttyUSB9"), s.root());
    EXPECT_EQ(r.outcome, FindOutcome::error);
    EXPECT_NE(r.message.find("ttyUSB9"), std::string::npos);
}

TEST(NetdevFinder, ExplicitInterfaceWithADriverIsClassified) {
    FakeSysfs s;
    const auto usb = add_ec25(s, "1-1.3", "qmi_wwan", "wwan0", 5, 65534, "N");
    std::string error;
    const auto n = inspect_interface("wwan0", s.root(), error);
    ASSERT_TRUE(n.has_value()) << error;
    EXPECT_EQ(n->kind, LinkKind::qmi);
    EXPECT_EQ(n->qmi_raw_ip, false);
    EXPECT_EQ(n->usb_device, fs::canonical(usb).string());
}

TEST(NetdevFinder, ExplicitVirtualInterfaceNeedsTheMethodSaid) {
    FakeSysfs s;
    s.virtual_netdev("veth-mod", 12, 1);
    s.virtual_netdev("tun0", 13, 65534);
    std::string error;
    const auto veth = inspect_interface("veth-mod", s.root(), error);
    ASSERT_TRUE(veth.has_value()) << error;
    EXPECT_EQ(veth->kind, LinkKind::unknown);
    EXPECT_EQ(veth->driver, "");
    EXPECT_EQ(veth->ifindex, 12);
    EXPECT_TRUE(veth->usb_device.empty());
    EXPECT_FALSE(choose_ip_method(veth->kind, std::nullopt, error).has_value());
    EXPECT_NE(error.find("modem.ip_method"), std::string::npos);
    EXPECT_EQ(choose_ip_method(veth->kind, IpMethod::dhcp, error), IpMethod::dhcp);

    const auto tun = inspect_interface("tun0", s.root(), error);
    ASSERT_TRUE(tun.has_value());
    EXPECT_TRUE(tun->point_to_point());
    EXPECT_FALSE(veth->point_to_point());
}

TEST(NetdevFinder, ExplicitInterfaceMustExistAndBeAName) {
    FakeSysfs s;
    std::string error;
    EXPECT_FALSE(inspect_interface("usb7", s.root(), error).has_value());
    EXPECT_NE(error.find("usb7"), std::string::npos);
    EXPECT_FALSE(inspect_interface("../../etc", s.root(), error).has_value());
    EXPECT_FALSE(inspect_interface("", s.root(), error).has_value());
}

TEST(IpMethod, DefaultsByKindAndConfigWins) {
    EXPECT_EQ(default_ip_method(LinkKind::ecm), IpMethod::dhcp);
    EXPECT_EQ(default_ip_method(LinkKind::qmi), IpMethod::fixed);
    EXPECT_EQ(default_ip_method(LinkKind::mbim), IpMethod::fixed);
    EXPECT_EQ(default_ip_method(LinkKind::unknown), std::nullopt);
    std::string error;
    EXPECT_EQ(choose_ip_method(LinkKind::qmi, IpMethod::dhcp, error), IpMethod::dhcp);
    EXPECT_EQ(choose_ip_method(LinkKind::ecm, std::nullopt, error), IpMethod::dhcp);
    for (auto m : {IpMethod::dhcp, IpMethod::fixed, IpMethod::none}) EXPECT_EQ(ip_method_from_string(to_string(m)), m);
    EXPECT_EQ(ip_method_from_string("auto"), std::nullopt);
    EXPECT_STREQ(to_string(IpMethod::fixed), "static");
}

TEST(IpMethod, KindFromDriver) {
    EXPECT_EQ(kind_from_driver("huawei_cdc_ncm"), LinkKind::ecm);
    EXPECT_EQ(kind_from_driver("qmi_wwan_q"), LinkKind::qmi);
    EXPECT_EQ(kind_from_driver("veth"), LinkKind::unknown);
    EXPECT_EQ(kind_from_driver(""), LinkKind::unknown);
}

}  // namespace
}  // namespace cellgate::net
