// Serial backends against real pseudo-terminals, and libserialport's behaviour on this machine.
#include <gtest/gtest.h>

#include <cerrno>
#include <fcntl.h>
#include <libserialport.h>
#include <poll.h>
#include <string>
#include <termios.h>
#include <unistd.h>

#include "modem/serial_port.hpp"
#include "modem/sp_port.hpp"
#include "modem/termios_port.hpp"
#include "unit/support/pty.hpp"

namespace cellgate::modem {
namespace {

using testing::Pty;

// Reads from `port` until `want` bytes arrived or one second passed.
std::string read_some(SerialPort& port, size_t want) {
    std::string got;
    for (int i = 0; i < 100 && got.size() < want; ++i) {
        pollfd p{port.fd(), POLLIN, 0};
        ::poll(&p, 1, 10);
        char buf[256];
        const ssize_t n = port.read(buf, sizeof buf);
        if (n > 0) got.append(buf, static_cast<size_t>(n));
    }
    return got;
}

std::string read_master(int fd, size_t want) {
    std::string got;
    for (int i = 0; i < 100 && got.size() < want; ++i) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 10) <= 0) continue;
        char buf[256];
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0) got.append(buf, static_cast<size_t>(n));
    }
    return got;
}

// ---------------------------------------------------------------------------------------------
// termios backend

TEST(SerialTermios, ReadWriteRawOverPty) {
    Pty pty;
    ASSERT_TRUE(pty.ok());
    std::string error;
    auto port = open_termios_port(pty.slave_path(), 115200, error);
    ASSERT_NE(port, nullptr) << error;
    EXPECT_EQ(port->path(), pty.slave_path());

    // Raw: CR LF arrive untranslated, nothing is echoed back.
    const std::string reply = "\r\nOK\r\n";
    ASSERT_EQ(::write(pty.master(), reply.data(), reply.size()), static_cast<ssize_t>(reply.size()));
    EXPECT_EQ(read_some(*port, reply.size()), reply);

    const std::string cmd = "AT+CSQ\r";
    EXPECT_EQ(port->write(cmd.data(), cmd.size()), static_cast<ssize_t>(cmd.size()));
    EXPECT_EQ(read_master(pty.master(), cmd.size()), cmd);
}

TEST(SerialTermios, EmptyReadIsEagainAndFdIsNonBlockingCloexec) {
    Pty pty;
    ASSERT_TRUE(pty.ok());
    std::string error;
    auto port = open_termios_port(pty.slave_path(), 115200, error);
    ASSERT_NE(port, nullptr) << error;
    char buf[16];
    EXPECT_EQ(port->read(buf, sizeof buf), -EAGAIN);
    EXPECT_NE(::fcntl(port->fd(), F_GETFL) & O_NONBLOCK, 0);
    EXPECT_NE(::fcntl(port->fd(), F_GETFD) & FD_CLOEXEC, 0);
}

TEST(SerialTermios, LineSettings) {
    Pty pty;
    ASSERT_TRUE(pty.ok());
    std::string error;
    auto port = open_termios_port(pty.slave_path(), 9600, error);
    ASSERT_NE(port, nullptr) << error;
    termios tio{};
    ASSERT_EQ(tcgetattr(port->fd(), &tio), 0);
    EXPECT_EQ(cfgetospeed(&tio), B9600);
    EXPECT_EQ(tio.c_cflag & CSIZE, static_cast<tcflag_t>(CS8));
    EXPECT_EQ(tio.c_cflag & (PARENB | CSTOPB | CRTSCTS), 0u);
    EXPECT_NE(tio.c_cflag & CLOCAL, 0u);
    EXPECT_EQ(tio.c_iflag & (IXON | IXOFF | ICRNL), 0u);
    EXPECT_EQ(tio.c_lflag & (ICANON | ECHO), 0u);
    EXPECT_EQ(tio.c_cc[VMIN], 1);  // 0 would make an empty read look like EOF
}

TEST(SerialTermios, EofAfterMasterCloses) {
    Pty pty;
    ASSERT_TRUE(pty.ok());
    std::string error;
    auto port = open_termios_port(pty.slave_path(), 115200, error);
    ASSERT_NE(port, nullptr) << error;
    pty.close_master();
    pollfd p{port->fd(), POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 1000), 1);
    EXPECT_NE(p.revents & POLLHUP, 0);
    char buf[16];
    EXPECT_EQ(port->read(buf, sizeof buf), 0);
    EXPECT_LT(port->write("AT\r", 3), 0);
}

TEST(SerialTermios, ReopenAfterCloseDespiteExclusiveMode) {
    Pty pty;
    ASSERT_TRUE(pty.ok());
    std::string error;
    auto first = open_termios_port(pty.slave_path(), 115200, error);
    ASSERT_NE(first, nullptr) << error;
    first.reset();
    auto second = open_termios_port(pty.slave_path(), 115200, error);
    EXPECT_NE(second, nullptr) << error;
}

TEST(SerialTermios, Errors) {
    std::string error;
    EXPECT_EQ(open_termios_port("/nonexistent/ttyX", 115200, error), nullptr);
    EXPECT_NE(error.find("/nonexistent/ttyX"), std::string::npos);
    error.clear();
    EXPECT_EQ(open_termios_port("/dev/null", 115200, error), nullptr);
    EXPECT_NE(error.find("not a terminal"), std::string::npos) << error;
    Pty pty;
    ASSERT_TRUE(pty.ok());
    error.clear();
    EXPECT_EQ(open_termios_port(pty.slave_path(), 12345, error), nullptr);
    EXPECT_NE(error.find("baud"), std::string::npos) << error;
    EXPECT_EQ(termios_speed(115200), B115200);
    EXPECT_EQ(termios_speed(0), std::nullopt);
}

TEST(SerialTermios, ConfigureRawTtyOnExistingFd) {
    Pty pty;
    ASSERT_TRUE(pty.ok());
    const int fd = ::open(pty.slave_path().c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    EXPECT_EQ(configure_raw_tty(fd, 460800), 0);
    termios tio{};
    ASSERT_EQ(tcgetattr(fd, &tio), 0);
    EXPECT_EQ(cfgetispeed(&tio), B460800);
    EXPECT_EQ(configure_raw_tty(fd, 7), -EINVAL);
    ::close(fd);
}

// ---------------------------------------------------------------------------------------------
// libserialport backend and the fallback

TEST(SerialLibserialport, RefusesPtyAndAsksForTermios) {
    Pty pty;
    ASSERT_TRUE(pty.ok());
    SpOpenFailure failure;
    EXPECT_EQ(open_sp_port(pty.slave_path(), 115200, failure), nullptr);
    EXPECT_TRUE(failure.use_termios);
    EXPECT_FALSE(failure.message.empty());
}

TEST(SerialLibserialport, OpenSerialPortFallsBackToTermiosForPty) {
    Pty pty;
    ASSERT_TRUE(pty.ok());
    std::string error;
    auto port = open_serial_port(pty.slave_path(), 115200, error);
    ASSERT_NE(port, nullptr) << error;
    const std::string urc = "\r\nRDY\r\n";
    ASSERT_EQ(::write(pty.master(), urc.data(), urc.size()), static_cast<ssize_t>(urc.size()));
    EXPECT_EQ(read_some(*port, urc.size()), urc);
}

TEST(SerialLibserialport, OpenSerialPortReportsFailures) {
    std::string error;
    EXPECT_EQ(open_serial_port("/nonexistent/ttyUSB9", 115200, error), nullptr);
    EXPECT_FALSE(error.empty());
    error.clear();
    EXPECT_EQ(open_serial_port("/dev/null", 115200, error), nullptr);
    EXPECT_NE(error.find("not a terminal"), std::string::npos) << error;
}

TEST(SerialLibserialport, EnumerationWorksOnThisMachine) {
    sp_port** list = nullptr;
    ASSERT_EQ(sp_list_ports(&list), SP_OK);
    ASSERT_NE(list, nullptr);
    size_t n = 0;
    for (sp_port** p = list; *p != nullptr; ++p) {
        EXPECT_NE(sp_get_port_name(*p), nullptr);
        ++n;
    }
    sp_free_port_list(list);
    RecordProperty("serial_ports", static_cast<int>(n));
}

}  // namespace
}  // namespace cellgate::modem
