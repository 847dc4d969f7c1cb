// SerialPort over plain open()+termios: used for pseudo-terminals (simulators) and whenever
// libserialport refuses a device (it cannot open ptys).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <termios.h>

#include "modem/serial_port.hpp"

namespace cellgate::modem {

// The termios speed constant for `baud`, nullopt for rates termios cannot express.
std::optional<speed_t> termios_speed(int baud);

// Opens `path` O_RDWR|O_NOCTTY|O_NONBLOCK|O_CLOEXEC, raw 8N1, CLOCAL, no flow control, and asks
// for exclusive use (TIOCEXCL) where the driver allows it. nullptr + `error` on failure.
std::unique_ptr<SerialPort> open_termios_port(const std::string& path, int baud, std::string& error);

// Applies the same line settings to an already open tty fd (e.g. the slave of an openpty pair).
// Returns 0 or -errno.
int configure_raw_tty(int fd, int baud);

}  // namespace cellgate::modem
