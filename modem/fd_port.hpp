// The part both serial backends share: non-blocking reads and writes on the tty's fd. The
// backends differ only in how they open, configure and close it.
#pragma once

#include <string>

#include "modem/serial_port.hpp"

namespace cellgate::modem {

class FdPort : public SerialPort {
public:
    int fd() const override { return fd_; }
    ssize_t read(char* buf, size_t len) override;
    ssize_t write(const char* buf, size_t len) override;
    const std::string& path() const override { return path_; }

protected:
    FdPort(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
    // Gives up exclusive use: TIOCEXCL belongs to the tty, not to our descriptor, and a pty whose
    // slave the simulator keeps open would otherwise refuse our own reopen with EBUSY.
    void release_exclusive() const;

private:
    int fd_;
    std::string path_;
};

}  // namespace cellgate::modem
