#include "modem/termios_port.hpp"

#include "modem/fd_port.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace cellgate::modem {

std::optional<speed_t> termios_speed(int baud) {
    switch (baud) {
        case 1200: return B1200;
        case 2400: return B2400;
        case 4800: return B4800;
        case 9600: return B9600;
        case 19200: return B19200;
        case 38400: return B38400;
        case 57600: return B57600;
        case 115200: return B115200;
        case 230400: return B230400;
        case 460800: return B460800;
        case 921600: return B921600;
        case 1000000: return B1000000;
        case 2000000: return B2000000;
        case 3000000: return B3000000;
        case 4000000: return B4000000;
        default: return std::nullopt;
    }
}

int configure_raw_tty(int fd, int baud) {
    const auto speed = termios_speed(baud);
    if (!speed) return -EINVAL;
    termios tio{};
    if (tcgetattr(fd, &tio) < 0) return -errno;
    cfmakeraw(&tio);
    // CLOCAL: USB modems do not drive DCD, and a pty has no modem lines at all.
    tio.c_cflag |= CLOCAL | CREAD | CS8;
    tio.c_cflag &= ~static_cast<tcflag_t>(PARENB | CSTOPB | CRTSCTS);
    tio.c_iflag &= ~static_cast<tcflag_t>(IXON | IXOFF | IXANY);
    // VMIN 1: with VMIN 0 an empty non-blocking read returns 0, which looks like end of file;
    // with VMIN 1 it fails with EAGAIN and 0 is left for a hangup.
    tio.c_cc[VMIN] = 1;
    tio.c_cc[VTIME] = 0;
    if (cfsetispeed(&tio, *speed) < 0 || cfsetospeed(&tio, *speed) < 0) return -errno;
    if (tcsetattr(fd, TCSANOW, &tio) < 0) return -errno;
    // No tcflush: whatever the module (or simulator) sent before we opened, e.g. RDY, is kept.
    return 0;
}

namespace {

class TermiosPort final : public FdPort {
public:
    TermiosPort(int fd, std::string path) : FdPort(fd, std::move(path)) {}
    ~TermiosPort() override {
        release_exclusive();
        ::close(fd());
    }
    TermiosPort(const TermiosPort&) = delete;
    TermiosPort& operator=(const TermiosPort&) = delete;
};

}  // namespace

std::unique_ptr<SerialPort> open_termios_port(const std::string& path, int baud, std::string& error) {
    if (!termios_speed(baud)) {
        error = path + ": unsupported baud rate " + std::to_string(baud);
        return nullptr;
    }
    const int fd = ::open(path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        error = path + ": " + std::strerror(errno);
        return nullptr;
    }
    auto port = std::make_unique<TermiosPort>(fd, path);
    if (::isatty(fd) == 0) {
        error = path + ": not a terminal";
        return nullptr;
    }
    // Exclusive use where supported; a second opener (e.g. ModemManager) would garble the dialogue.
    // Failure is not fatal: not every driver implements it.
    ::ioctl(fd, TIOCEXCL);
    if (int rc = configure_raw_tty(fd, baud); rc < 0) {
        error = path + ": cannot configure: " + std::strerror(-rc);
        return nullptr;
    }
    return port;
}

}  // namespace cellgate::modem
