// SerialPort over libserialport, for real USB serial devices.
#pragma once

#include <memory>
#include <string>

#include "modem/serial_port.hpp"

namespace cellgate::modem {

struct SpOpenFailure {
    // True when libserialport cannot handle this kind of device at all (no sysfs entry, ENOTTY from
    // its modem-line ioctls, as on ptys): the termios backend should try instead.
    bool use_termios = false;
    std::string message;
};

// nullptr + `failure` when libserialport cannot open or configure the port.
std::unique_ptr<SerialPort> open_sp_port(const std::string& path, int baud, SpOpenFailure& failure);

}  // namespace cellgate::modem
