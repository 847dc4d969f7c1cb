#include "modem/port_locator.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <libserialport.h>
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
int expected_at_interface(const std::pair<Vendor, UsbId>& entry, const UsbInterfaceInfo& info) {
    const int at = entry.second.at_interface;
    // Qualcomm-based Quectel parts move AT from if2 to if4 in RNDIS mode (Quectel forum, usbnet).
    if (entry.first == Vendor::quectel && at == 2 && info.rndis_device) return 4;
    return at;
}

bool is_at_interface(const std::pair<Vendor, UsbId>& entry, const UsbInterfaceInfo& info) {
    if (entry.second.at_interface == detail::kAtInterfaceByClass) {
        // Huawei marks its AT ("PCUI") port ff/01/02 or ff/02/02 (ModemManager's Huawei port rules).
        return info.if_class == 0xff && info.if_protocol == 0x02 &&
               (info.if_subclass == 0x01 || info.if_subclass == 0x02);
    }
    const int want = expected_at_interface(entry, info);
    return want >= 0 && info.number == want;
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

std::optional<PortChoice> choose_at_port(std::vector<UsbSerialCandidate> candidates,
                                         const std::string& sysfs_root, std::string& error) {
    std::sort(candidates.begin(), candidates.end(),
              [](const auto& a, const auto& b) { return a.device < b.device; });
    std::string skipped;
    for (const auto& c : candidates) {
        const auto* entry = find_usb(c.vid, c.pid);
        if (!entry) continue;
        const auto info = read_usb_interface(sysfs_root, base_name(c.device));
        if (!info) {
            skipped += "; " + c.device + ": no USB interface in sysfs";
            continue;
        }
        if (entry->second.at_interface == detail::kAtInterfaceUnknown) {
            skipped += "; " + c.device + ": " + entry->second.model + " found but its AT interface is unknown, set modem.port";
            continue;
        }
        if (!is_at_interface(*entry, *info)) continue;
        return PortChoice{c.device, entry->first, describe(entry->second, info->number)};
    }
    error = "no known modem AT port among " + std::to_string(candidates.size()) + " USB serial port(s)" + skipped;
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
    if (configured != "auto") return resolve_port_path(configured, "/sys", error);

    sp_port** list = nullptr;
    if (sp_list_ports(&list) != SP_OK) {
        char* msg = sp_last_error_message();
        error = std::string("cannot enumerate serial ports: ") + (msg ? msg : "unknown error");
        sp_free_error_message(msg);
        return std::nullopt;
    }
    std::vector<UsbSerialCandidate> candidates;
    for (sp_port** p = list; *p != nullptr; ++p) {
        if (sp_get_port_transport(*p) != SP_TRANSPORT_USB) continue;
        int vid = 0;
        int pid = 0;
        if (sp_get_port_usb_vid_pid(*p, &vid, &pid) != SP_OK) continue;
        const char* name = sp_get_port_name(*p);
        if (name == nullptr) continue;
        candidates.push_back({name, static_cast<uint16_t>(vid), static_cast<uint16_t>(pid)});
    }
    sp_free_port_list(list);
    return choose_at_port(std::move(candidates), "/sys", error);
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
