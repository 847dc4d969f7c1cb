#include "modem/sp_port.hpp"

#include "modem/fd_port.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <libserialport.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

namespace cellgate::modem {
namespace {

struct PortFree {
    void operator()(sp_port* p) const { sp_free_port(p); }
};
using PortPtr = std::unique_ptr<sp_port, PortFree>;

// libserialport's last error as text; its buffer must go back through sp_free_error_message.
std::string last_sp_error() {
    char* msg = sp_last_error_message();
    std::string out = msg ? msg : "unknown error";
    sp_free_error_message(msg);
    return out;
}

// libserialport configures and closes the port; reads and writes go straight to its fd because
// sp_nonblocking_read() cannot tell "nothing to read" from end of file.
class SpPort final : public FdPort {
public:
    SpPort(PortPtr port, int fd, std::string path) : FdPort(fd, std::move(path)), port_(std::move(port)) {}
    ~SpPort() override {
        release_exclusive();
        sp_close(port_.get());
    }
    SpPort(const SpPort&) = delete;
    SpPort& operator=(const SpPort&) = delete;

private:
    PortPtr port_;
};

}  // namespace

std::unique_ptr<SerialPort> open_sp_port(const std::string& path, int baud, SpOpenFailure& failure) {
    sp_port* raw = nullptr;
    if (sp_get_port_by_name(path.c_str(), &raw) != SP_OK) {
        // SP_ERR_ARG: no /sys/class/tty/<name> (ptys, odd drivers) — termios can still cope.
        failure = {true, path + ": libserialport: " + last_sp_error()};
        return nullptr;
    }
    PortPtr port(raw);
    if (sp_open(port.get(), SP_MODE_READ_WRITE) != SP_OK) {
        const int err = sp_last_error_code();
        failure = {err == ENOTTY, path + ": libserialport: " + last_sp_error()};
        return nullptr;
    }
    // From here on the port is open: close it on every failure path.
    struct Closer {
        sp_port* p;
        bool armed = true;
        ~Closer() {
            if (armed) sp_close(p);
        }
    } closer{port.get()};

    if (sp_set_baudrate(port.get(), baud) != SP_OK || sp_set_bits(port.get(), 8) != SP_OK ||
        sp_set_parity(port.get(), SP_PARITY_NONE) != SP_OK || sp_set_stopbits(port.get(), 1) != SP_OK ||
        sp_set_flowcontrol(port.get(), SP_FLOWCONTROL_NONE) != SP_OK) {
        failure = {false, path + ": cannot configure: " + last_sp_error()};
        return nullptr;
    }
    int fd = -1;
    if (sp_get_port_handle(port.get(), &fd) != SP_OK || fd < 0) {
        failure = {false, path + ": no file descriptor: " + last_sp_error()};
        return nullptr;
    }
    // The event loop needs a non-blocking fd; no fd may leak into children.
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 || ::fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
        failure = {false, path + ": fcntl: " + std::strerror(errno)};
        return nullptr;
    }
    // libserialport leaves VMIN at 0, where an empty read returns 0 and looks like end of file.
    termios tio{};
    if (::tcgetattr(fd, &tio) == 0) {
        tio.c_cc[VMIN] = 1;
        tio.c_cc[VTIME] = 0;
        if (::tcsetattr(fd, TCSANOW, &tio) != 0) {
            failure = {false, path + ": tcsetattr: " + std::strerror(errno)};
            return nullptr;
        }
    }
    ::ioctl(fd, TIOCEXCL);  // best effort, as in the termios backend
    closer.armed = false;
    return std::make_unique<SpPort>(std::move(port), fd, path);
}

}  // namespace cellgate::modem
