// Which network interface carries the module's data, and how it gets its addresses.
//
// The AT tty and the netdev hang under the same USB device at different interfaces, so the match
// is made through sysfs (walk up from each to the directory with idVendor), never by name: usbnet
// names the same module usb0, eth1 or wwan0 depending on its driver, and udev may rename it.
// The sysfs root is a parameter so tests build a fake tree.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cellgate::net {

// The framing the driver speaks, which decides how the host gets its IPv4 configuration.
enum class LinkKind {
    ecm,      // cdc_ether, rndis_host, cdc_ncm, huawei_cdc_ncm: the module routes and runs DHCP
    qmi,      // qmi_wwan: raw IP, point-to-point, configured from the modem
    mbim,     // cdc_mbim: raw IP, point-to-point, configured from the modem
    unknown,  // a driver that says nothing about it (veth, tun, ...): the config must say
};
const char* to_string(LinkKind k);
LinkKind kind_from_driver(std::string_view driver);

enum class IpMethod {
    dhcp,   // a DHCP client on the interface
    fixed,  // "static": address, gateway, DNS and MTU come from the modem (static is a keyword)
    none,   // no netdev by design (a UART or pty module): the module's own stack carries data
};
const char* to_string(IpMethod m);  // "dhcp", "static", "none"
std::optional<IpMethod> ip_method_from_string(std::string_view s);

// What the driver implies; nullopt for LinkKind::unknown.
std::optional<IpMethod> default_ip_method(LinkKind k);
// `configured` nullopt means "auto". An interface whose kind is unknown needs the method said;
// then nullopt with `error` set.
std::optional<IpMethod> choose_ip_method(LinkKind k, std::optional<IpMethod> configured, std::string& error);

struct Netdev {
    std::string name;
    int ifindex = 0;
    LinkKind kind = LinkKind::unknown;
    std::string driver;            // "" when sysfs names none
    int arp_type = -1;             // 1 ether, 65534 none (QMI raw-ip, TUN), 512 ppp
    std::optional<bool> qmi_raw_ip;  // qmi_wwan only: /sys/class/net/<if>/qmi/raw_ip
    int usb_interface = -1;        // bInterfaceNumber of the netdev's USB interface
    std::string usb_device;        // resolved sysfs directory of the USB device, "" if not on USB

    // Point-to-point links have no ARP and need no gateway for their routes.
    bool point_to_point() const { return arp_type == 65534 || arp_type == 512; }
};

enum class FindOutcome {
    found,
    no_netdev,  // a USB module whose current USB mode offers no netdev: `message` names the switch
    not_usb,    // a UART or pty: no netdev by design
    error,      // the tty itself cannot be resolved
};
const char* to_string(FindOutcome o);

struct FindResult {
    FindOutcome outcome = FindOutcome::error;
    std::optional<Netdev> netdev;
    std::optional<uint16_t> vid, pid;  // the USB device, when on USB
    std::string message;               // for logs and LastError
};

// `tty_path` may be /dev/ttyUSB2, a /dev/serial/by-id link or any symlink to the tty.
FindResult find_module_netdev(const std::string& tty_path, const std::string& sysfs_root = "/sys");

// The explicit `modem.interface: <name>` case: what sysfs tells about that interface.
std::optional<Netdev> inspect_interface(const std::string& name, const std::string& sysfs_root,
                                        std::string& error);

// The vendor command that switches a module without a netdev into a mode with one, by USB vendor;
// "" when the vendor is not known.
std::string mode_switch_hint(uint16_t vid);

}  // namespace cellgate::net
