// The byte pipe to a module's AT interface. Two backends: libserialport for real USB serial
// devices, and plain termios for pseudo-terminals (libserialport 0.1.1 cannot open a pty: it
// needs /sys/class/tty/<name> and its TIOCMGET fails with ENOTTY).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <sys/types.h>

namespace cellgate::modem {

class SerialPort {
public:
    virtual ~SerialPort() = default;
    // Non-blocking fd for the event loop to poll.
    virtual int fd() const = 0;
    // Returns bytes read, 0 on end of file (peer gone), -errno on error (-EAGAIN when empty).
    virtual ssize_t read(char* buf, size_t len) = 0;
    // Returns bytes written or -errno.
    virtual ssize_t write(const char* buf, size_t len) = 0;
    // The path it was opened with, for logs and D-Bus.
    virtual const std::string& path() const = 0;
};

// Opens `path` (already resolved, see port_locator.hpp) at `baud`, 8N1, raw, no flow control,
// non-blocking. Picks the termios backend for ptys and whenever libserialport refuses the device.
// Returns nullptr and sets `error` on failure.
std::unique_ptr<SerialPort> open_serial_port(const std::string& path, int baud, std::string& error);

}  // namespace cellgate::modem
