// The data call as the controller makes it for the module in hand: the dial fits the model and
// its network interface, a vendor command the firmware does not know falls back to AT+CGACT
// (never up the recovery ladder), and the context's settings (AT+CGCONTRDP) reach the status.
#include <gtest/gtest.h>

#include "modem/modem_controller.hpp"
#include "unit/support/fake_at.hpp"
#include "unit/support/fake_scheduler.hpp"

namespace cellgate::modem {
namespace {

using namespace std::chrono_literals;
using testing::FakeAt;
using testing::FakeScheduler;
using testing::ok;

ModemConfig quectel_config() {
    ModemConfig c;
    c.port = "/dev/ttyUSB2";
    c.vendor = Vendor::quectel;
    c.apn.name = "cmnet";
    return c;
}

// A Quectel module on the fake: QICSGP and QCCID answered, everything vendor-specific that is
// not scripted answers ERROR (as a firmware that lacks it does).
class ModemDialTest : public ::testing::Test {
protected:
    void bring_up(const std::string& model, NetdevKind netdev = NetdevKind::unknown) {
        at.answer_lines("AT+CGMM", {model});
        at.answer("AT+QICSGP=1,1,\"cmnet\",\"\",\"\",0", ok());
        at.answer_lines("AT+QCCID", {"+QCCID: 89860025128306012474"});
        controller = std::make_unique<ModemController>(sched, at, quectel_config(), nullptr);
        controller->set_netdev_kind([netdev](const std::string& port) {
            EXPECT_EQ(port, "/dev/ttyUSB2");
            return netdev;
        });
        controller->start();
        at.open();
        sched.advance(5s);
    }
    const ModemStatus& status() const { return controller->status(); }

    FakeScheduler sched;
    FakeAt at{sched};
    std::unique_ptr<ModemController> controller;
};

TEST_F(ModemDialTest, Ec25InEcmModeDialsWithCgact) {
    bring_up("EC25", NetdevKind::ecm);
    EXPECT_EQ(status().state, ModemState::connected);
    EXPECT_TRUE(at.sent("AT+CGACT=1,1"));
    EXPECT_FALSE(at.sent("AT+QNETDEVCTL=1,1,1"));
    EXPECT_EQ(status().recoveries, 0U);
}

TEST_F(ModemDialTest, Ec25InQmiModeDialsWithQcrmcall) {
    bool up = false;
    at.table["AT$QCRMCALL=1,1"] = [&] {
        up = at.data_up = true;
        return std::optional<AtResult>(ok({"$QCRMCALL: 1,V4"}));
    };
    at.table["AT$QCRMCALL?"] = [&] { return std::optional<AtResult>(ok(up ? std::vector<std::string>{"$QCRMCALL: 1,V4"} : std::vector<std::string>{})); };
    bring_up("EC25", NetdevKind::qmi);
    EXPECT_EQ(status().state, ModemState::connected);
    EXPECT_TRUE(at.sent("AT$QCRMCALL=1,1"));
    EXPECT_FALSE(at.sent("AT+CGACT=1,1"));
}

// A module whose model we cannot place tries the EC200's QNETDEVCTL; this firmware answers
// ERROR to it. It must connect through AT+CGACT, not climb the ladder to a module reset.
TEST_F(ModemDialTest, AnUnknownVendorDialFallsBackToCgact) {
    bring_up("");
    EXPECT_TRUE(at.sent("AT+QNETDEVCTL=1,1,1"));
    EXPECT_TRUE(at.sent("AT+CGACT=1,1"));
    EXPECT_EQ(status().state, ModemState::connected);
    EXPECT_EQ(status().recoveries, 0U);
    EXPECT_EQ(status().resets, 0U);
    EXPECT_EQ(status().failed_reason, FailedReason::none);
    // From now on the call is watched with the command that made it.
    const auto polls = at.count("AT+CGACT?");
    const auto vendor_polls = at.count("AT+QNETDEVCTL?");
    sched.advance(31s);
    EXPECT_GT(at.count("AT+CGACT?"), polls);
    EXPECT_EQ(at.count("AT+QNETDEVCTL?"), vendor_polls);
    EXPECT_EQ(status().state, ModemState::connected);
}

TEST_F(ModemDialTest, ANetworkRefusalIsNotAFallback) {
    at.answer("AT+QNETDEVCTL=1,1,1", testing::cme(33));  // requested service option not subscribed
    bring_up("EC200A");
    EXPECT_FALSE(at.sent("AT+CGACT=1,1"));
    EXPECT_EQ(status().failed_reason, FailedReason::pdp_rejected);
}

TEST_F(ModemDialTest, TheContextSettingsReachTheStatus) {
    at.answer_lines("AT+CGCONTRDP=1", {"+CGCONTRDP: 1,5,\"cmnet\",\"10.64.12.34.255.255.255.0\",\"10.64.12.1\","
                                       "\"211.136.17.107\",\"211.136.20.203\",\"\",\"\",0,0,1400"});
    bring_up("EC25");
    ASSERT_EQ(status().state, ModemState::connected);
    EXPECT_EQ(status().context.address, "10.64.12.34");
    EXPECT_EQ(status().context.prefix, 24);
    EXPECT_EQ(status().context.gateway, "10.64.12.1");
    EXPECT_EQ(status().context.dns, (std::vector<std::string>{"211.136.17.107", "211.136.20.203"}));
    EXPECT_EQ(status().context.mtu, 1400U);
    // The settings go with the address.
    at.urc("+CGEV: NW PDN DEACT 1");
    sched.advance(1s);
    EXPECT_TRUE(status().context.empty());
}

TEST_F(ModemDialTest, AModuleWithoutCgcontrdpStillConnects) {
    bring_up("EC25");
    EXPECT_TRUE(at.sent("AT+CGCONTRDP=1"));
    EXPECT_EQ(status().state, ModemState::connected);
    EXPECT_TRUE(status().context.empty());
}

TEST_F(ModemDialTest, ALinkWithoutANetdevHaltsWithTheReason) {
    bring_up("EC25");
    controller->data_link_failed("no network interface; switch it with AT+QCFG=\"usbnet\",1", true);
    EXPECT_EQ(status().state, ModemState::failed);
    EXPECT_EQ(status().failed_reason, FailedReason::no_netdev);
    EXPECT_NE(status().last_error.find("QCFG"), std::string::npos);
}

TEST_F(ModemDialTest, ABrokenLinkIsARungOnTheLadder) {
    bring_up("EC25");
    controller->data_link_failed("carrier lost on usb0", false);
    EXPECT_EQ(status().recoveries, 1U);
    EXPECT_EQ(status().recovery_step, "retry");
    sched.advance(10s);
    EXPECT_EQ(status().state, ModemState::connected);
}

}  // namespace
}  // namespace cellgate::modem
