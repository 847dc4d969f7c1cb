// The port locator: the AT interface chosen from a fake sysfs tree in a temporary directory, and
// configured paths resolved to the device behind them.
#include "modem/port_locator.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <vector>

#include "modem/port_scan.hpp"
#include "unit/support/pty.hpp"

namespace fs = std::filesystem;

namespace cellgate::modem {
namespace {

using testing::Pty;

class FakeSysfs {
public:
    FakeSysfs() {
        char tmpl[] = "/tmp/cellgate-sysfs-XXXXXX";
        const char* dir = ::mkdtemp(tmpl);
        if (dir) root_ = dir;
    }
    ~FakeSysfs() {
        std::error_code ec;
        if (!root_.empty()) fs::remove_all(root_, ec);
    }
    FakeSysfs(const FakeSysfs&) = delete;
    FakeSysfs& operator=(const FakeSysfs&) = delete;

    const std::string& root() const { return root_; }

    // A USB device "1-<bus>" with VID:PID.
    std::string device(int bus, const char* vid, const char* pid) {
        const std::string dir = root_ + "/devices/usb1/1-" + std::to_string(bus);
        fs::create_directories(dir);
        write(dir + "/idVendor", vid);
        write(dir + "/idProduct", pid);
        return dir;
    }

    // An interface "<dev>:1.<n>" with class triple (hex strings as sysfs prints them).
    std::string interface(const std::string& dev, int n, const char* cls, const char* sub, const char* proto) {
        const std::string dir = dev + "/" + fs::path(dev).filename().string() + ":1." + std::to_string(n);
        fs::create_directories(dir);
        char num[8];
        std::snprintf(num, sizeof num, "%02x", n);
        write(dir + "/bInterfaceNumber", num);
        write(dir + "/bInterfaceClass", cls);
        write(dir + "/bInterfaceSubClass", sub);
        write(dir + "/bInterfaceProtocol", proto);
        return dir;
    }

    // usb-serial (option driver): class/tty/<tty>/device -> <iface>/<tty>.
    void usb_serial_tty(const std::string& iface, const std::string& tty) {
        const std::string port = iface + "/" + tty;
        fs::create_directories(port);
        link_tty(tty, port);
    }

    // cdc-acm: class/tty/<tty>/device -> <iface>.
    void acm_tty(const std::string& iface, const std::string& tty) { link_tty(tty, iface); }

    // The interface string the firmware gives (sysfs "interface").
    void label(const std::string& iface, const char* text) { write(iface + "/interface", text); }

private:
    static void write(const std::string& file, const char* text) { std::ofstream(file) << text << "\n"; }
    void link_tty(const std::string& tty, const std::string& target) {
        const std::string cls = root_ + "/class/tty/" + tty;
        fs::create_directories(cls);
        fs::create_symlink(target, cls + "/device");
    }

    std::string root_;
};

// Quectel EC25 in ECM mode: DM, GNSS, AT, modem on if0..3, ECM on if4/5.
void add_ec25_ecm(FakeSysfs& s, int bus, int first_tty) {
    const auto dev = s.device(bus, "2c7c", "0125");
    for (int i = 0; i < 4; ++i)
        s.usb_serial_tty(s.interface(dev, i, "ff", "ff", "ff"), "ttyUSB" + std::to_string(first_tty + i));
    s.interface(dev, 4, "02", "06", "00");
    s.interface(dev, 5, "0a", "00", "00");
}

std::vector<UsbSerialCandidate> ttys(int first, int count, uint16_t vid, uint16_t pid, const char* prefix = "ttyUSB") {
    std::vector<UsbSerialCandidate> out;
    for (int i = first; i < first + count; ++i) out.push_back({std::string("/dev/") + prefix + std::to_string(i), vid, pid});
    return out;
}

TEST(PortLocatorSysfs, ReadsUsbSerialInterface) {
    FakeSysfs s;
    ASSERT_FALSE(s.root().empty());
    add_ec25_ecm(s, 1, 0);
    const auto info = read_usb_interface(s.root(), "ttyUSB2");
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->number, 2);
    EXPECT_EQ(info->if_class, 0xff);
    EXPECT_EQ(info->vid, 0x2c7c);
    EXPECT_EQ(info->pid, 0x0125);
    EXPECT_FALSE(info->rndis_device);
    EXPECT_EQ(read_usb_interface(s.root(), "ttyUSB9"), std::nullopt);
}

TEST(PortLocatorSysfs, ReadsAcmInterfaceWithHexNumber) {
    FakeSysfs s;
    ASSERT_FALSE(s.root().empty());
    const auto dev = s.device(1, "1e0e", "9001");
    s.acm_tty(s.interface(dev, 10, "02", "02", "01"), "ttyACM0");
    const auto info = read_usb_interface(s.root(), "ttyACM0");
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->number, 10);  // sysfs prints "0a"
    EXPECT_EQ(info->if_class, 0x02);
    EXPECT_EQ(info->pid, 0x9001);
}

TEST(PortLocatorSysfs, QuectelEc25EcmPicksInterface2) {
    FakeSysfs s;
    ASSERT_FALSE(s.root().empty());
    add_ec25_ecm(s, 1, 0);
    std::string error;
    const auto choice = choose_at_port(ttys(0, 4, 0x2c7c, 0x0125), s.root(), error);
    ASSERT_TRUE(choice.has_value()) << error;
    EXPECT_EQ(choice->path, "/dev/ttyUSB2");
    EXPECT_EQ(choice->vendor, Vendor::quectel);
    EXPECT_EQ(choice->description, "Quectel EC25/EG25 (2c7c:0125) interface 2");
}

TEST(PortLocatorSysfs, QuectelEc25RndisPicksInterface4) {
    FakeSysfs s;
    ASSERT_FALSE(s.root().empty());
    const auto dev = s.device(1, "2c7c", "0125");
    s.interface(dev, 0, "e0", "01", "03");  // RNDIS control
    s.interface(dev, 1, "0a", "00", "00");
    for (int i = 2; i < 6; ++i) s.usb_serial_tty(s.interface(dev, i, "ff", "ff", "ff"), "ttyUSB" + std::to_string(i - 2));
    std::string error;
    const auto choice = choose_at_port(ttys(0, 4, 0x2c7c, 0x0125), s.root(), error);
    ASSERT_TRUE(choice.has_value()) << error;
    EXPECT_EQ(choice->path, "/dev/ttyUSB2");  // if4: DM, GNSS, AT, modem after the RNDIS pair
    EXPECT_NE(choice->description.find("interface 4"), std::string::npos);
}

TEST(PortLocatorSysfs, SimcomSim7600AndA7600) {
    FakeSysfs s;
    ASSERT_FALSE(s.root().empty());
    const auto sim7600 = s.device(1, "1e0e", "9001");
    for (int i = 0; i < 5; ++i) s.usb_serial_tty(s.interface(sim7600, i, "ff", "00", "00"), "ttyUSB" + std::to_string(i));
    std::string error;
    auto choice = choose_at_port(ttys(0, 5, 0x1e0e, 0x9001), s.root(), error);
    ASSERT_TRUE(choice.has_value()) << error;
    EXPECT_EQ(choice->path, "/dev/ttyUSB2");
    EXPECT_EQ(choice->vendor, Vendor::simcom);

    FakeSysfs s2;
    const auto a7600 = s2.device(2, "1e0e", "9011");
    s2.interface(a7600, 0, "e0", "01", "03");
    s2.interface(a7600, 1, "0a", "00", "00");
    for (int i = 2; i < 7; ++i) s2.usb_serial_tty(s2.interface(a7600, i, "ff", "00", "00"), "ttyUSB" + std::to_string(i - 2));
    choice = choose_at_port(ttys(0, 5, 0x1e0e, 0x9011), s2.root(), error);
    ASSERT_TRUE(choice.has_value()) << error;
    EXPECT_EQ(choice->path, "/dev/ttyUSB2");  // if4
    EXPECT_NE(choice->description.find("A7600"), std::string::npos);
}

TEST(PortLocatorSysfs, SimcomOverCdcAcm) {
    FakeSysfs s;
    ASSERT_FALSE(s.root().empty());
    const auto dev = s.device(1, "1e0e", "9001");
    for (int i = 0; i < 4; ++i) s.acm_tty(s.interface(dev, i, "02", "02", "01"), "ttyACM" + std::to_string(i));
    std::string error;
    const auto choice = choose_at_port(ttys(0, 4, 0x1e0e, 0x9001, "ttyACM"), s.root(), error);
    ASSERT_TRUE(choice.has_value()) << error;
    EXPECT_EQ(choice->path, "/dev/ttyACM2");
}

TEST(PortLocatorSysfs, HuaweiMe909sByInterfaceClass) {
    FakeSysfs s;
    ASSERT_FALSE(s.root().empty());
    const auto dev = s.device(1, "12d1", "15c1");
    s.usb_serial_tty(s.interface(dev, 0, "ff", "02", "01"), "ttyUSB0");  // modem (PPP)
    s.usb_serial_tty(s.interface(dev, 1, "ff", "02", "12"), "ttyUSB1");
    s.usb_serial_tty(s.interface(dev, 2, "ff", "02", "02"), "ttyUSB2");  // PCUI = AT
    std::string error;
    const auto choice = choose_at_port(ttys(0, 3, 0x12d1, 0x15c1), s.root(), error);
    ASSERT_TRUE(choice.has_value()) << error;
    EXPECT_EQ(choice->path, "/dev/ttyUSB2");
    EXPECT_EQ(choice->vendor, Vendor::huawei);
}

// Air780E: three CDC-ACM functions on interfaces 2, 4 and 6; AT on 6.
TEST(PortLocatorSysfs, LuatAir780EOverCdcAcm) {
    FakeSysfs s;
    ASSERT_FALSE(s.root().empty());
    const auto dev = s.device(1, "19d1", "0001");
    for (int i = 0; i < 3; ++i) s.acm_tty(s.interface(dev, 2 + 2 * i, "02", "02", "01"), "ttyACM" + std::to_string(i));
    std::string error;
    const auto choice = choose_at_port(ttys(0, 3, 0x19d1, 0x0001, "ttyACM"), s.root(), error);
    ASSERT_TRUE(choice.has_value()) << error;
    EXPECT_EQ(choice->path, "/dev/ttyACM2");
    EXPECT_EQ(choice->vendor, Vendor::luat);
    EXPECT_EQ(choice->description, "AirM2M Air780E (19d1:0001) interface 6");
}

// An interface that names itself "AT" wins over the table's interface number.
TEST(PortLocatorSysfs, InterfaceNamedAtWins) {
    FakeSysfs s;
    ASSERT_FALSE(s.root().empty());
    const auto dev = s.device(1, "19d1", "0001");
    const char* labels[] = {"AT", "Modem", "Debug"};
    for (int i = 0; i < 3; ++i) {
        const auto iface = s.interface(dev, 2 + 2 * i, "02", "02", "01");
        s.label(iface, labels[i]);
        s.acm_tty(iface, "ttyACM" + std::to_string(i));
    }
    std::string error;
    const auto choice = choose_at_port(ttys(0, 3, 0x19d1, 0x0001, "ttyACM"), s.root(), error);
    ASSERT_TRUE(choice.has_value()) << error;
    EXPECT_EQ(choice->path, "/dev/ttyACM0");
}

// Air72xU (UIS8910): RNDIS on 0/1, then AT, PPP+AT, debug.
TEST(PortLocatorSysfs, LuatAir72xU) {
    FakeSysfs s;
    ASSERT_FALSE(s.root().empty());
    const auto dev = s.device(1, "1782", "4e00");
    s.interface(dev, 0, "e0", "01", "03");
    s.interface(dev, 1, "0a", "00", "00");
    for (int i = 2; i < 5; ++i) s.usb_serial_tty(s.interface(dev, i, "ff", "00", "00"), "ttyUSB" + std::to_string(i - 2));
    std::string error;
    const auto choice = choose_at_port(ttys(0, 3, 0x1782, 0x4e00), s.root(), error);
    ASSERT_TRUE(choice.has_value()) << error;
    EXPECT_EQ(choice->path, "/dev/ttyUSB0");
    EXPECT_EQ(choice->vendor, Vendor::luat);
}

struct Ec200Case {
    const char* name;
    const char* pid;
    int at_tty;  // ttyUSB index of the AT port; the serial functions start at interface 2
};
class PortLocatorEc200 : public ::testing::TestWithParam<Ec200Case> {};

// The EC200 family with its netdev in front (ECM here, RNDIS alike): the AT interface does not move.
TEST_P(PortLocatorEc200, PicksTheAtInterface) {
    for (const char* netdev : {"02", "e0"}) {
        FakeSysfs s;
        ASSERT_FALSE(s.root().empty());
        const auto dev = s.device(1, "2c7c", GetParam().pid);
        s.interface(dev, 0, netdev, netdev[0] == '0' ? "06" : "01", netdev[0] == '0' ? "00" : "03");
        s.interface(dev, 1, "0a", "00", "00");
        for (int i = 2; i < 5; ++i) s.usb_serial_tty(s.interface(dev, i, "ff", "00", "00"), "ttyUSB" + std::to_string(i - 2));
        std::string error;
        const auto pid = static_cast<uint16_t>(std::stoul(GetParam().pid, nullptr, 16));
        const auto choice = choose_at_port(ttys(0, 3, 0x2c7c, pid), s.root(), error);
        ASSERT_TRUE(choice.has_value()) << error;
        EXPECT_EQ(choice->path, "/dev/ttyUSB" + std::to_string(GetParam().at_tty)) << netdev;
        EXPECT_EQ(choice->vendor, Vendor::quectel);
    }
}
INSTANTIATE_TEST_SUITE_P(Modules, PortLocatorEc200,
                         ::testing::Values(Ec200Case{"EC200S", "6002", 1}, Ec200Case{"EC200A", "6005", 1},
                                           Ec200Case{"EC200T", "6026", 1}, Ec200Case{"EG912Y", "6001", 1},
                                           Ec200Case{"EC200U", "0901", 0}),
                         [](const auto& p) { return std::string(p.param.name); });

// Every module the vendor table names has a way to find its AT port.
TEST(PortLocatorSysfs, EveryKnownModuleHasAnAtInterface) {
    for (Vendor v : {Vendor::quectel, Vendor::simcom, Vendor::luat, Vendor::huawei})
        for (const auto& id : make_vendor_profile(v)->usb_ids()) EXPECT_NE(id.at_interface, -1) << id.model;
}

TEST(PortLocatorSysfs, NothingKnown) {
    FakeSysfs s;
    ASSERT_FALSE(s.root().empty());
    std::string error;
    EXPECT_EQ(choose_at_port(ttys(0, 2, 0x0403, 0x6001), s.root(), error), std::nullopt);  // FTDI
    EXPECT_NE(error.find("2 USB serial port(s)"), std::string::npos) << error;
    EXPECT_NE(error.find("/dev/ttyUSB0 0403:6001, /dev/ttyUSB1 0403:6001"), std::string::npos) << error;
    EXPECT_EQ(choose_at_port({}, s.root(), error), std::nullopt);
    EXPECT_EQ(error, "no known modem AT port among 0 USB serial port(s)");
    // Known VID:PID but sysfs has nothing for it.
    EXPECT_EQ(choose_at_port(ttys(0, 1, 0x2c7c, 0x0125), s.root(), error), std::nullopt);
    EXPECT_NE(error.find("no USB interface"), std::string::npos) << error;
}

// The scan itself: USB ttys under class/tty, with their VID:PID, as <dev dir>/<name>.
TEST(PortLocatorSysfs, ScanListsUsbSerialPorts) {
    FakeSysfs s;
    ASSERT_FALSE(s.root().empty());
    add_ec25_ecm(s, 1, 0);
    const auto dev = s.device(2, "19d1", "0001");
    s.acm_tty(s.interface(dev, 6, "02", "02", "01"), "ttyACM0");
    fs::create_directories(s.root() + "/class/tty/ttyS0");  // a UART: not on USB
    auto found = scan_usb_serial(s.root(), "/devdir");
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.device < b.device; });
    ASSERT_EQ(found.size(), 5u);
    EXPECT_EQ(found[0].device, "/devdir/ttyACM0");
    EXPECT_EQ(found[0].vid, 0x19d1);
    EXPECT_EQ(found[1].device, "/devdir/ttyUSB0");
    EXPECT_EQ(found[1].pid, 0x0125);
    EXPECT_TRUE(scan_usb_serial(s.root() + "/nowhere", "/dev").empty());
}

TEST(PortLocatorSysfs, StableChoiceWithTwoModems) {
    FakeSysfs s;
    ASSERT_FALSE(s.root().empty());
    add_ec25_ecm(s, 2, 4);  // ttyUSB4..7
    add_ec25_ecm(s, 1, 0);  // ttyUSB0..3
    auto candidates = ttys(4, 4, 0x2c7c, 0x0125);
    for (auto& c : ttys(0, 4, 0x2c7c, 0x0125)) candidates.push_back(c);
    std::string error;
    const auto choice = choose_at_port(candidates, s.root(), error);
    ASSERT_TRUE(choice.has_value()) << error;
    EXPECT_EQ(choice->path, "/dev/ttyUSB2");
}

// ---------------------------------------------------------------------------------------------
// Configured paths

TEST(PortLocatorPath, SymlinkToPtyResolves) {
    Pty pty;
    ASSERT_TRUE(pty.ok());
    FakeSysfs tmp;
    ASSERT_FALSE(tmp.root().empty());
    const std::string link = tmp.root() + "/ttyMODEM";
    fs::create_symlink(pty.slave_path(), link);
    std::string error;
    const auto choice = locate_port(link, error);
    ASSERT_TRUE(choice.has_value()) << error;
    EXPECT_EQ(choice->path, pty.slave_path());
    EXPECT_EQ(choice->vendor, std::nullopt);
    EXPECT_NE(choice->description.find("pty"), std::string::npos);
    EXPECT_TRUE(is_pty(choice->path));
    EXPECT_TRUE(is_pty(link));  // stat follows the link to a pty major
}

TEST(PortLocatorPath, Errors) {
    std::string error;
    EXPECT_EQ(locate_port("/dev/serial/by-id/usb-Quectel-missing-if02-port0", error), std::nullopt);
    EXPECT_NE(error.find("No such file"), std::string::npos) << error;
    FakeSysfs tmp;
    ASSERT_FALSE(tmp.root().empty());
    const std::string file = tmp.root() + "/plain";
    std::ofstream(file) << "x";
    error.clear();
    EXPECT_EQ(locate_port(file, error), std::nullopt);
    EXPECT_NE(error.find("not a character device"), std::string::npos) << error;
    const std::string dangling = tmp.root() + "/dangling";
    fs::create_symlink(tmp.root() + "/gone", dangling);
    error.clear();
    EXPECT_EQ(locate_port(dangling, error), std::nullopt);
    EXPECT_FALSE(error.empty());
}

TEST(PortLocatorPath, UsbTtyGetsVendorFromSysfs) {
    FakeSysfs s;
    ASSERT_FALSE(s.root().empty());
    add_ec25_ecm(s, 1, 0);
    const std::string node = s.root() + "/dev/ttyUSB2";
    fs::create_directories(s.root() + "/dev");
    if (::mknod(node.c_str(), S_IFCHR | 0600, makedev(188, 2)) != 0) GTEST_SKIP() << "mknod not permitted";
    std::string error;
    const auto choice = resolve_port_path(node, s.root(), error);
    ASSERT_TRUE(choice.has_value()) << error;
    EXPECT_EQ(choice->vendor, Vendor::quectel);
    EXPECT_NE(choice->description.find("interface 2"), std::string::npos) << choice->description;
    EXPECT_FALSE(is_pty(node));
}

TEST(PortLocatorPath, IsPty) {
    Pty pty;
    ASSERT_TRUE(pty.ok());
    EXPECT_TRUE(is_pty(pty.slave_path()));
    EXPECT_TRUE(is_pty("/dev/pts/4242"));  // by path, even if it is gone
    EXPECT_FALSE(is_pty("/dev/null"));
    EXPECT_FALSE(is_pty("/tmp"));
    EXPECT_FALSE(is_pty("/nonexistent"));
}

TEST(PortLocatorAuto, AnswersOneWayOrTheOtherOnThisMachine) {
    // "auto" must never crash; with no module the error says why.
    std::string error;
    const auto choice = locate_port("auto", error);
    if (!choice) {
        EXPECT_NE(error.find("USB serial port"), std::string::npos) << error;
    } else {
        EXPECT_TRUE(choice->vendor.has_value());
    }
}

}  // namespace
}  // namespace cellgate::modem
