#include "modem/serial_port.hpp"

#include "modem/port_locator.hpp"
#include "modem/sp_port.hpp"
#include "modem/termios_port.hpp"

namespace cellgate::modem {

std::unique_ptr<SerialPort> open_serial_port(const std::string& path, int baud, std::string& error) {
    // libserialport 0.1.1 fails on every pty (no /sys/class/tty entry, and TIOCMGET gives ENOTTY):
    // skip the detour.
    if (is_pty(path)) return open_termios_port(path, baud, error);

    SpOpenFailure failure;
    if (auto port = open_sp_port(path, baud, failure)) return port;
    if (!failure.use_termios) {
        error = failure.message;
        return nullptr;
    }
    std::string termios_error;
    if (auto port = open_termios_port(path, baud, termios_error)) return port;
    error = failure.message + "; termios: " + termios_error;
    return nullptr;
}

}  // namespace cellgate::modem
