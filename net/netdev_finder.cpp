#include "net/netdev_finder.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unistd.h>
#include <vector>

namespace cellgate::net {
namespace {

namespace fs = std::filesystem;

std::optional<std::string> read_line(const std::string& file) {
    std::ifstream in(file);
    std::string line;
    if (!in || !std::getline(in, line)) return std::nullopt;
    return line;
}

std::optional<long> read_number(const std::string& file, int base) {
    const auto line = read_line(file);
    if (!line || line->empty()) return std::nullopt;
    char* end = nullptr;
    errno = 0;
    const long v = std::strtol(line->c_str(), &end, base);
    if (errno != 0 || end == line->c_str()) return std::nullopt;
    return v;
}

std::optional<std::string> real_path(const std::string& path) {
    char buf[PATH_MAX];
    if (::realpath(path.c_str(), buf) == nullptr) return std::nullopt;
    return std::string(buf);
}

std::string base_name(const std::string& path) {
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// The USB device above a sysfs device directory: the first ancestor (or itself) with idVendor,
// as ModemManager finds a port's physdev. "" when the device is not on USB.
std::string usb_device_of(const std::string& device_link, const std::string& root_real) {
    auto dir = real_path(device_link);
    if (!dir) return {};
    std::string d = *dir;
    while (d.size() > root_real.size() && d.starts_with(root_real)) {
        if (exists(d + "/idVendor")) return d;
        const auto slash = d.rfind('/');
        if (slash == std::string::npos || slash == 0) break;
        d.erase(slash);
    }
    return {};
}

std::optional<uint16_t> read_id(const std::string& file) {
    const auto v = read_number(file, 16);
    if (!v || *v < 0 || *v > 0xffff) return std::nullopt;
    return static_cast<uint16_t>(*v);
}

std::string hex4(uint16_t v) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04x", static_cast<unsigned>(v));
    return buf;
}

Netdev describe(const std::string& sysfs_root, const std::string& name) {
    const std::string dir = sysfs_root + "/class/net/" + name;
    Netdev n;
    n.name = name;
    n.ifindex = static_cast<int>(read_number(dir + "/ifindex", 10).value_or(0));
    n.arp_type = static_cast<int>(read_number(dir + "/type", 10).value_or(-1));
    if (const auto driver = real_path(dir + "/device/driver")) n.driver = base_name(*driver);
    n.kind = kind_from_driver(n.driver);
    if (const auto raw = read_line(dir + "/qmi/raw_ip"); raw && !raw->empty()) n.qmi_raw_ip = (*raw)[0] == 'Y';
    n.usb_interface = static_cast<int>(read_number(dir + "/device/bInterfaceNumber", 16).value_or(-1));
    return n;
}

}  // namespace

const char* to_string(LinkKind k) {
    switch (k) {
        case LinkKind::ecm: return "ecm";
        case LinkKind::qmi: return "qmi";
        case LinkKind::mbim: return "mbim";
        case LinkKind::unknown: return "unknown";
    }
    return "unknown";
}

LinkKind kind_from_driver(std::string_view driver) {
    // Drivers whose module acts as a router with a DHCP server on the USB link.
    static constexpr std::string_view kEcm[] = {"cdc_ether", "rndis_host", "cdc_ncm", "huawei_cdc_ncm"};
    if (std::find(std::begin(kEcm), std::end(kEcm), driver) != std::end(kEcm)) return LinkKind::ecm;
    // qmi_wwan_q is Quectel's out-of-tree variant of qmi_wwan.
    if (driver == "qmi_wwan" || driver == "qmi_wwan_q") return LinkKind::qmi;
    if (driver == "cdc_mbim") return LinkKind::mbim;
    return LinkKind::unknown;
}

const char* to_string(IpMethod m) {
    switch (m) {
        case IpMethod::dhcp: return "dhcp";
        case IpMethod::fixed: return "static";
        case IpMethod::none: return "none";
    }
    return "none";
}

std::optional<IpMethod> ip_method_from_string(std::string_view s) {
    if (s == "dhcp") return IpMethod::dhcp;
    if (s == "static") return IpMethod::fixed;
    if (s == "none") return IpMethod::none;
    return std::nullopt;
}

std::optional<IpMethod> default_ip_method(LinkKind k) {
    switch (k) {
        case LinkKind::ecm: return IpMethod::dhcp;
        // Raw-ip framing: many DHCP clients cannot run on it, and the modem has the settings
        // (ModemManager forces static here for the same reason).
        case LinkKind::qmi:
        case LinkKind::mbim: return IpMethod::fixed;
        case LinkKind::unknown: return std::nullopt;
    }
    return std::nullopt;
}

std::optional<IpMethod> choose_ip_method(LinkKind k, std::optional<IpMethod> configured, std::string& error) {
    if (configured) return configured;
    if (auto m = default_ip_method(k)) return m;
    error = "the interface's driver does not tell how it gets its address: set modem.ip_method to dhcp or static";
    return std::nullopt;
}

const char* to_string(FindOutcome o) {
    switch (o) {
        case FindOutcome::found: return "found";
        case FindOutcome::no_netdev: return "no-netdev";
        case FindOutcome::not_usb: return "not-usb";
        case FindOutcome::error: return "error";
    }
    return "error";
}

std::string mode_switch_hint(uint16_t vid) {
    switch (vid) {
        case 0x2c7c:
            return "Quectel: AT+QCFG=\"usbnet\",1 (ECM; 3 = RNDIS, 0 = QMI), then AT+CFUN=1,1";
        case 0x1e0e:
            return "SIMCom: AT+CUSBPIDSWITCH=9011,1,1 (SIM7600, RNDIS), or AT$MYCONFIG=\"usbnetmode\",0 "
                   "then AT+CRESET (A76xx)";
        case 0x19d1:
        case 0x1782:
            return "Luat: AT+RNDISCALL=1 (AT+SETUSB=1 selects RNDIS, 2 ECM), then AT+RESET";
        case 0x12d1:
            return "Huawei: AT^SETPORT with the NCM port (16) in the list (AT^SETPORT=? shows the choices)";
        default:
            return {};
    }
}

FindResult find_module_netdev(const std::string& tty_path, const std::string& sysfs_root) {
    FindResult r;
    const auto tty = real_path(tty_path);
    if (!tty) {
        r.message = tty_path + ": " + std::strerror(errno);
        return r;
    }
    const auto root_real = real_path(sysfs_root);
    if (!root_real) {
        r.message = sysfs_root + ": " + std::strerror(errno);
        return r;
    }
    const std::string tty_name = base_name(*tty);
    const std::string usb = usb_device_of(sysfs_root + "/class/tty/" + tty_name + "/device", *root_real);
    if (usb.empty()) {
        r.outcome = FindOutcome::not_usb;
        r.message = *tty + " is not on USB: no network interface, data goes through the module's own stack";
        return r;
    }
    r.vid = read_id(usb + "/idVendor");
    r.pid = read_id(usb + "/idProduct");
    const std::string ids = r.vid && r.pid ? hex4(*r.vid) + ":" + hex4(*r.pid) : std::string("unknown id");

    std::vector<Netdev> found;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(sysfs_root + "/class/net", ec)) {
        const std::string name = entry.path().filename().string();
        if (usb_device_of(entry.path().string() + "/device", *root_real) != usb) continue;
        Netdev n = describe(sysfs_root, name);
        n.usb_device = usb;
        found.push_back(std::move(n));
    }
    if (found.empty()) {
        r.outcome = FindOutcome::no_netdev;
        r.message = "USB module " + ids + " (" + tty_name + ") has no network interface in its current USB mode";
        if (const auto hint = r.vid ? mode_switch_hint(*r.vid) : std::string(); !hint.empty())
            r.message += "; switch it with " + hint;
        return r;
    }
    // A module may expose several (QMI multiplexing, a second ECM function): the lowest USB
    // interface is the one the vendors' own tools use.
    std::sort(found.begin(), found.end(), [](const Netdev& a, const Netdev& b) {
        return a.usb_interface != b.usb_interface ? a.usb_interface < b.usb_interface : a.name < b.name;
    });
    r.outcome = FindOutcome::found;
    r.message = tty_name + " -> " + found.front().name + " (" + (found.front().driver.empty() ? "no driver" : found.front().driver) +
                ", " + to_string(found.front().kind) + ", USB " + ids + ")";
    for (std::size_t i = 1; i < found.size(); ++i) r.message += "; also " + found[i].name + ", not used";
    r.netdev = std::move(found.front());
    return r;
}

std::optional<Netdev> inspect_interface(const std::string& name, const std::string& sysfs_root, std::string& error) {
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
        error = "invalid interface name \"" + name + "\"";
        return std::nullopt;
    }
    if (!exists(sysfs_root + "/class/net/" + name)) {
        error = "no network interface " + name;
        return std::nullopt;
    }
    Netdev n = describe(sysfs_root, name);
    if (const auto root_real = real_path(sysfs_root))
        n.usb_device = usb_device_of(sysfs_root + "/class/net/" + name + "/device", *root_real);
    return n;
}

}  // namespace cellgate::net
