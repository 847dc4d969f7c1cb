// The module MQTT clients' view of the modem: which ports are UARTs, one client index per
// session, and commands without a modem failing rather than hanging.
#include <gtest/gtest.h>

#include <optional>

#include "daemon/module_link.hpp"
#include "unit/support/fake_scheduler.hpp"

namespace cellgate {
namespace {

using namespace std::chrono_literals;

TEST(ModuleLink, UartPortsAreTheSocsSerialLines) {
    for (const char* p : {"/dev/ttyAMA0", "/dev/ttyS0", "/dev/serial0", "/dev/serial1", "/dev/ttyTHS1"})
        EXPECT_TRUE(is_uart_port(p)) << p;
    for (const char* p : {"auto", "/dev/ttyUSB2", "/dev/ttyACM0", "/dev/serial/by-id/usb-Quectel-if02-port0",
                          "/dev/pts/3", "/tmp/ttyMODEM"})
        EXPECT_FALSE(is_uart_port(p)) << p;
}

TEST(ModuleLink, EachPortTakesTheLowestFreeClientIndex) {
    testing::FakeScheduler sched;
    ModuleLink link(sched);
    auto a = link.make_port();
    auto b = link.make_port();
    EXPECT_EQ(a.index, 0);
    EXPECT_EQ(b.index, 1);
    a.at.reset();
    EXPECT_EQ(link.make_port().index, 0);  // a session replaced by a reload reuses the index
}

TEST(ModuleLink, WithoutAModemCommandsFailClosedFromTheLoop) {
    testing::FakeScheduler sched;
    ModuleLink link(sched);
    auto port = link.make_port();
    EXPECT_EQ(port.at->vendor(), "");
    std::optional<mqtt::AtReply> reply;
    port.at->send("AT+QMTCONN?", 1s, [&](const mqtt::AtReply& r) { reply = r; });
    EXPECT_FALSE(reply);
    sched.run_deferred();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, mqtt::AtReply::Status::closed);
}

}  // namespace
}  // namespace cellgate
