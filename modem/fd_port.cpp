#include "modem/fd_port.hpp"

#include <cerrno>
#include <sys/ioctl.h>
#include <unistd.h>

namespace cellgate::modem {

ssize_t FdPort::read(char* buf, size_t len) {
    for (;;) {
        const ssize_t n = ::read(fd_, buf, len);
        if (n >= 0) return n;
        if (errno != EINTR) return -errno;
    }
}

ssize_t FdPort::write(const char* buf, size_t len) {
    for (;;) {
        const ssize_t n = ::write(fd_, buf, len);
        if (n >= 0) return n;
        if (errno != EINTR) return -errno;
    }
}

void FdPort::release_exclusive() const { ::ioctl(fd_, TIOCNXCL); }

}  // namespace cellgate::modem
