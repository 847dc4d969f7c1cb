#include "modem/port_locator.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "modem/port_scan.hpp"
#include "modem/vendor_detail.hpp"

namespace cellgate::modem {
namespace {

std::optional<std::string> read_line(const std::string& file) {
    std::ifstream in(file);
    std::string line;
    if (!in || !std::getline(in, line)) return std::nullopt;
    return line;
}

// sysfs prints these attributes in hex ("02", "ff", "2c7c").
std::optional<int> read_hex(const std::string& file) {
    const auto line = read_line(file);
    if (!line) return std::nullopt;
    char* end = nullptr;
    errno = 0;
    const long v = std::strtol(line->c_str(), &end, 16);
    if (errno != 0 || end == line->c_str() || v < 0 || v > 0xffff) return std::nullopt;
    return static_cast<int>(v);
}

std::optional<std::string> real_path(const std::string& path) {
    char buf[PATH_MAX];
    if (::realpath(path.c_str(), buf) == nullptr) return std::nullopt;
    return std::string(buf);
}

std::string hex4(uint16_t v) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04x", static_cast<unsigned>(v));
    return buf;
}

std::string base_name(const std::string& path) {
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

const std::pair<Vendor, UsbId>* find_usb(uint16_t vid, uint16_t pid) {
    for (const auto& entry : detail::usb_table())
        if (entry.second.vid == vid && entry.second.pid == pid) return &entry;
    return nullptr;
}

// The interface that carries AT for this module in its current USB configuration, or -1.
int expected_at_interface(const UsbId& id, const UsbInterfaceInfo& info) {
    // Qualcomm-based Quectel parts move AT from if2 to if4 in RNDIS mode (Quectel forum, usbnet).
    if (id.at_moves_with_rndis && info.rndis_device) return id.at_interface + 2;
    return id.at_interface;
}

// "AT", "LUAT USB Device 1 AT": firmware that names its interfaces names the AT one so.
bool label_names_at(const std::string& label) {
    std::string u;
    for (const char c : label) u.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    return u == "AT" || u.ends_with(" AT");
}

// 2: the interface names itself AT; 1: the module table says it is AT; 0: not AT.
int at_evidence(const UsbId& id, const UsbInterfaceInfo& info) {
    if (label_names_at(info.label)) return 2;
    if (id.at_interface == detail::kAtInterfaceByClass) {
        // Huawei marks its AT ("PCUI") port ff/01/02 or ff/02/02 (ModemManager's Huawei port rules).
        return info.if_class == 0xff && info.if_protocol == 0x02 &&
                       (info.if_subclass == 0x01 || info.if_subclass == 0x02)
                   ? 1
                   : 0;
    }
    const int want = expected_at_interface(id, info);
    return want >= 0 && info.number == want ? 1 : 0;
}

std::string describe(const UsbId& id, int interface_number) {
    return std::string(id.model) + " (" + hex4(id.vid) + ":" + hex4(id.pid) + ") interface " +
           std::to_string(interface_number);
}

bool is_usb_tty_name(const std::string& name) {
    return name.starts_with("ttyUSB") || name.starts_with("ttyACM");
}

}  // namespace

std::optional<UsbInterfaceInfo> read_usb_interface(const std::string& sysfs_root, std::string_view tty_name) {
    const std::string device = sysfs_root + "/class/tty/" + std::string(tty_name) + "/device";
    std::string iface;
    if (::access((device + "/bInterfaceNumber").c_str(), R_OK) == 0) {
        iface = device;  // cdc-acm: the tty's device is the interface
    } else if (::access((device + "/../bInterfaceNumber").c_str(), R_OK) == 0) {
        iface = device + "/..";  // usb-serial: the tty's device is a port below the interface
    } else {
        return std::nullopt;
    }
    UsbInterfaceInfo info;
    const auto number = read_hex(iface + "/bInterfaceNumber");
    if (!number) return std::nullopt;
    info.number = *number;
    info.if_class = read_hex(iface + "/bInterfaceClass").value_or(-1);
    info.if_subclass = read_hex(iface + "/bInterfaceSubClass").value_or(-1);
    info.if_protocol = read_hex(iface + "/bInterfaceProtocol").value_or(-1);
    info.label = read_line(iface + "/interface").value_or("");
    if (auto vid = read_hex(iface + "/../idVendor")) info.vid = static_cast<uint16_t>(*vid);
    if (auto pid = read_hex(iface + "/../idProduct")) info.pid = static_cast<uint16_t>(*pid);

    // Interface directories are named "<device>:<config>.<n>"; interface 0 is the sibling ".0".
    if (const auto real = real_path(iface)) {
        const auto dot = real->rfind('.');
        const auto slash = real->rfind('/');
        if (dot != std::string::npos && slash != std::string::npos && dot > slash) {
            const std::string if0 = real->substr(0, dot) + ".0";
            const int cls = read_hex(if0 + "/bInterfaceClass").value_or(-1);
            const int sub = read_hex(if0 + "/bInterfaceSubClass").value_or(-1);
            info.rndis_device = cls == 0xe0 || (cls == 0xef && sub == 0x04);
        }
    }
    return info;
}

std::vector<UsbSerialCandidate> scan_usb_serial(const std::string& sysfs_root, const std::string& dev_dir) {
    std::vector<UsbSerialCandidate> out;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(sysfs_root + "/class/tty", ec)) {
        const std::string name = entry.path().filename().string();
        if (!is_usb_tty_name(name)) continue;
        const auto info = read_usb_interface(sysfs_root, name);
        if (!info || !info->vid || !info->pid) continue;
        out.push_back({dev_dir + "/" + name, *info->vid, *info->pid});
    }
    return out;
}

std::optional<PortChoice> choose_at_port(std::vector<UsbSerialCandidate> candidates,
                                         const std::string& sysfs_root, std::string& error) {
    std::sort(candidates.begin(), candidates.end(),
              [](const auto& a, const auto& b) { return a.device < b.device; });
    std::optional<PortChoice> best;
    int best_evidence = 0;
    std::string seen;
    for (const auto& c : candidates) {
        seen += (seen.empty() ? "" : ", ") + c.device + " " + hex4(c.vid) + ":" + hex4(c.pid);
        const auto* entry = find_usb(c.vid, c.pid);
        if (!entry) continue;
        const auto info = read_usb_interface(sysfs_root, base_name(c.device));
        if (!info) {
            seen += " (" + std::string(entry->second.model) + ", no USB interface in sysfs)";
            continue;
        }
        const int evidence = at_evidence(entry->second, *info);
        if (evidence <= best_evidence) continue;
        best_evidence = evidence;
        best = PortChoice{c.device, entry->first, describe(entry->second, info->number)};
    }
    if (best) return best;
    error = "no known modem AT port among " + std::to_string(candidates.size()) + " USB serial port(s)" +
            (seen.empty() ? "" : ": " + seen);
    return std::nullopt;
}

std::optional<PortChoice> resolve_port_path(const std::string& configured, const std::string& sysfs_root,
                                            std::string& error) {
    const auto resolved = real_path(configured);
    if (!resolved) {
        error = configured + ": " + std::strerror(errno);
        return std::nullopt;
    }
    struct stat st{};
    if (::stat(resolved->c_str(), &st) != 0) {
        error = *resolved + ": " + std::strerror(errno);
        return std::nullopt;
    }
    if (!S_ISCHR(st.st_mode)) {
        error = *resolved + ": not a character device";
        return std::nullopt;
    }
    PortChoice choice{*resolved, std::nullopt, *resolved};
    if (is_pty(*resolved)) {
        choice.description = "pty " + *resolved;
        return choice;
    }
    const std::string name = base_name(*resolved);
    if (is_usb_tty_name(name)) {
        if (const auto info = read_usb_interface(sysfs_root, name); info && info->vid && info->pid) {
            choice.vendor = detect_vendor_usb(*info->vid, *info->pid);
            if (const auto* entry = find_usb(*info->vid, *info->pid))
                choice.description = *resolved + ": " + describe(entry->second, info->number);
            else
                choice.description = *resolved + ": USB " + hex4(*info->vid) + ":" + hex4(*info->pid) +
                                      " interface " + std::to_string(info->number);
        }
    }
    return choice;
}

std::optional<PortChoice> locate_port(const std::string& configured, std::string& error) {
    // Test-only: the integration tests point the scan at a fake sysfs tree and a directory of pty
    // links standing in for /dev (CELLGATE_SYSFS_ROOT, CELLGATE_DEV_DIR); unset on real systems.
    const char* sysfs_env = std::getenv("CELLGATE_SYSFS_ROOT");
    const char* dev_env = std::getenv("CELLGATE_DEV_DIR");
    const std::string sysfs_root = sysfs_env && *sysfs_env ? sysfs_env : "/sys";
    const std::string dev_dir = dev_env && *dev_env ? dev_env : "/dev";
    if (configured != "auto") return resolve_port_path(configured, sysfs_root, error);

    auto choice = choose_at_port(scan_usb_serial(sysfs_root, dev_dir), sysfs_root, error);
    if (!choice) error = "scanned " + sysfs_root + "/class/tty: " + error;
    return choice;
}

bool is_pty(const std::string& resolved_path) {
    if (resolved_path.starts_with("/dev/pts/")) return true;
    struct stat st{};
    if (::stat(resolved_path.c_str(), &st) != 0 || !S_ISCHR(st.st_mode)) return false;
    // Unix98 pty slaves use majors 136..143 (Documentation/admin-guide/devices.txt).
    const unsigned maj = major(st.st_rdev);
    return maj >= 136 && maj <= 143;
}

}  // namespace cellgate::modem
