// The D-Bus adapter against a real, private dbus-daemon: name acquisition, one coalesced
// PropertiesChanged per burst of updates, and Reset() dispatch. A second connection on the same
// sd-event loop plays the client.
#include "daemon/bus.hpp"

#include <gtest/gtest.h>
#include <systemd/sd-bus.h>

#include <functional>
#include <set>
#include <string>

#include "unit/support/private_bus.hpp"
#include "version.hpp"

namespace cellgate {
namespace {

using namespace std::chrono_literals;
using modem::ModemState;
using modem::ModemStatus;

class BusTest : public testing::PrivateBusTest {
protected:
    void start_bus(std::function<void()> reset = {}) {
        Bus::Handlers h;
        h.reset_modem = std::move(reset);
        start_service(std::move(h));
    }

    // Reset() on the Modem object: the D-Bus error name it fails with, "" when it succeeds.
    std::string reset() {
        Reply r;
        call(r, kModemPath, kModemInterface, "Reset", "");
        return r.error;
    }
};

TEST_F(BusTest, AcquiresTheNameAndReportsIt) {
    start_bus();
    int has = 0;
    sd_bus_error err = SD_BUS_ERROR_NULL;
    sd_bus_message* reply = nullptr;
    // dbus-daemon answers this one, so a blocking call is fine.
    ASSERT_GE(sd_bus_call_method(client_, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                 "NameHasOwner", &err, &reply, "s", kBusName),
              0);
    ASSERT_GE(sd_bus_message_read(reply, "b", &has), 0);
    sd_bus_message_unref(reply);
    EXPECT_TRUE(has);
}

TEST_F(BusTest, ABurstOfModemUpdatesIsOnePropertiesChanged) {
    start_bus();
    settle();
    signals_.clear();

    ModemStatus s;
    s.state = ModemState::searching;
    s.signal_quality = 40;
    bus_->set_modem_status(s);
    s.state = ModemState::registered;
    s.operator_name = "CMCC";
    bus_->set_modem_status(s);
    s.signal_quality = 41;
    bus_->set_modem_status(s);
    settle();

    ASSERT_EQ(signals_.size(), 1u);
    EXPECT_EQ(signals_[0].path, kModemPath);
    EXPECT_EQ(signals_[0].interface, kModemInterface);
    EXPECT_EQ(signals_[0].changed, (std::set<std::string>{"State", "SignalQuality", "Operator"}));

    EXPECT_EQ(get_string(kModemPath, kModemInterface, "State"), "registered");
}

TEST_F(BusTest, AChangeThatIsUndoneBeforeTheLoopTurnsEmitsNothing) {
    start_bus();
    settle();
    signals_.clear();
    ModemStatus s;
    s.state = ModemState::searching;
    bus_->set_modem_status(s);
    bus_->set_modem_status(ModemStatus{});  // back to what was last published
    bus_->set_gateway_state("starting", "");  // unchanged
    settle();
    EXPECT_TRUE(signals_.empty());
}

TEST_F(BusTest, VersionAndInitialStateAreReadable) {
    start_bus();
    EXPECT_EQ(get_string(kGatewayPath, kGatewayInterface, "Version"), kVersion);
    EXPECT_EQ(get_string(kGatewayPath, kGatewayInterface, "State"), "starting");
    EXPECT_EQ(get_string(kGatewayPath, kGatewayInterface, "StateReason"), "");
    EXPECT_EQ(get_string(kModemPath, kModemInterface, "State"), "disabled");
    EXPECT_EQ(get_error(kModemPath, kModemInterface, "Nope"), "org.freedesktop.DBus.Error.UnknownProperty");
}

TEST_F(BusTest, GatewayStateChangeIsSignalledOnTheGatewayObject) {
    start_bus();
    settle();
    signals_.clear();
    bus_->set_gateway_state("degraded", "modem connected, cloud 0/1 connected (lab backoff)");
    bus_->set_gateway_state("online", "modem connected, cloud 1/1 connected");
    settle();
    ASSERT_EQ(signals_.size(), 1u);
    EXPECT_EQ(signals_[0].path, kGatewayPath);
    EXPECT_EQ(signals_[0].interface, kGatewayInterface);
    EXPECT_EQ(signals_[0].changed, (std::set<std::string>{"State", "StateReason"}));
    EXPECT_EQ(get_string(kGatewayPath, kGatewayInterface, "StateReason"), "modem connected, cloud 1/1 connected");

    // The reason moves on its own while the state holds.
    signals_.clear();
    bus_->set_gateway_state("online", "modem connected, cloud 2/2 connected");
    settle();
    ASSERT_EQ(signals_.size(), 1u);
    EXPECT_EQ(signals_[0].changed, (std::set<std::string>{"StateReason"}));
}

TEST_F(BusTest, ResetIsForwardedForRoot) {
    int resets = 0;
    start_bus([&] { ++resets; });
    // The client is root, like the test: both access checks pass.
    EXPECT_EQ(reset(), "");
    EXPECT_EQ(resets, 1);
}

TEST_F(BusTest, ResetWithoutAModemFailsWithNoModem) {
    start_bus();
    EXPECT_EQ(reset(), kErrorNoModem);
}

TEST_F(BusTest, ASecondOwnerIsRefused) {
    start_bus();
    Bus::Handlers h;
    std::string failure;
    bool acquired = false;
    h.failed = [&](const std::string& why) { failure = why; };
    h.name_acquired = [&] { acquired = true; };
    Bus second(loop_, std::move(h));
    ASSERT_TRUE(run_until([&] { return acquired || !failure.empty(); }));
    EXPECT_FALSE(acquired);
    EXPECT_NE(failure.find("already owned"), std::string::npos) << failure;
}

}  // namespace
}  // namespace cellgate
