// The testable half of port_locator: sysfs reading and the choice of the AT interface, with the
// sysfs root as a parameter so tests can build a fake tree in a temporary directory.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modem/port_locator.hpp"

namespace cellgate::modem {

// A USB serial port as the enumerator reports it.
struct UsbSerialCandidate {
    std::string device;  // e.g. /dev/ttyUSB2
    uint16_t vid = 0;
    uint16_t pid = 0;
};

// What sysfs says about the USB interface behind a tty.
struct UsbInterfaceInfo {
    int number = -1;  // bInterfaceNumber
    int if_class = -1;
    int if_subclass = -1;
    int if_protocol = -1;
    // Interface 0 of the same device is RNDIS (class e0, or ef/04): Quectel's Qualcomm modules
    // then carry AT on interface 4 instead of 2.
    bool rndis_device = false;
    std::optional<uint16_t> vid;  // idVendor/idProduct of the USB device, when readable
    std::optional<uint16_t> pid;
    std::string label;            // the interface's own name (sysfs "interface"), often ""
};

// Reads /class/tty/<tty_name>/device[/..]/bInterfaceNumber and friends under `sysfs_root`
// ("/sys" in production). Works for ttyUSB (usb-serial: device/.. is the interface) and ttyACM
// (device is the interface). nullopt when the tty is not on USB or sysfs lacks the files.
std::optional<UsbInterfaceInfo> read_usb_interface(const std::string& sysfs_root, std::string_view tty_name);

// Every ttyUSB*/ttyACM* under `sysfs_root`/class/tty that sits on a USB device, as
// `dev_dir`/<name> ("/sys" and "/dev" in production).
std::vector<UsbSerialCandidate> scan_usb_serial(const std::string& sysfs_root, const std::string& dev_dir);

// The AT port among `candidates`: known VID:PID and the module's AT interface, preferring an
// interface that names itself "AT". Candidates are considered in device-path order so the choice is
// stable. nullopt + `error` (which lists what was seen, VID:PID each) when none fits.
std::optional<PortChoice> choose_at_port(std::vector<UsbSerialCandidate> candidates,
                                         const std::string& sysfs_root, std::string& error);

// The non-"auto" half of locate_port: realpath(), must be a character device; vendor from sysfs
// when the resolved tty sits on a known USB module.
std::optional<PortChoice> resolve_port_path(const std::string& configured, const std::string& sysfs_root,
                                            std::string& error);

}  // namespace cellgate::modem
