// Turns the configured `modem.port` into a device path the backends can open.
#pragma once

#include <optional>
#include <string>

#include "modem/vendor.hpp"

namespace cellgate::modem {

struct PortChoice {
    std::string path;               // resolved (symlinks followed), e.g. /dev/ttyUSB2 or /dev/pts/3
    std::optional<Vendor> vendor;   // known from USB VID:PID, if any
    std::string description;        // for logs: "Quectel EC25 (2c7c:0125) interface 2"
};

// "auto": scan sysfs for USB serial ports, keep those whose VID:PID belongs to a known module and
// whose interface is that module's AT interface. Otherwise: resolve the path with realpath()
// (a /dev/serial/by-id link or a simulator's pty link). Returns nullopt with `error` set when
// nothing suitable exists right now (callers retry; USB devices come and go).
std::optional<PortChoice> locate_port(const std::string& configured, std::string& error);

// True when `path` (resolved) is a pseudo-terminal slave (/dev/pts/N, major 136..143).
bool is_pty(const std::string& resolved_path);

}  // namespace cellgate::modem
