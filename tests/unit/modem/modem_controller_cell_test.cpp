// The controller's use of what modules say about their radio: the serving cell polled at
// signal_interval (+CESQ and the vendor's report), +C5GREG asked where the module has it, and why
// no port could be opened.
#include <gtest/gtest.h>

#include <string>

#include "modem/modem_controller.hpp"
#include "unit/support/fake_at.hpp"
#include "unit/support/fake_scheduler.hpp"

namespace cellgate::modem {
namespace {

using namespace std::chrono_literals;
using testing::FakeAt;
using testing::FakeScheduler;
using testing::ok;

ModemConfig cell_config(Vendor v) {
    ModemConfig c;
    c.port = "/dev/ttyUSB2";
    c.vendor = v;
    c.apn.name = "cmnet";
    c.signal_interval = 60s;
    return c;
}

class ModemControllerCellTest : public ::testing::Test {
protected:
    void bring_up(ModemConfig cfg) {
        controller = std::make_unique<ModemController>(sched, at, std::move(cfg), [this](const std::string& why) {
            at.lose("dropped: " + why);
        });
        controller->start();
        at.open();
        sched.advance(1s);
    }
    // A SIM7600 on LTE: its dialect's data call and ICCID, and +CPSI.
    void simcom_module() {
        at.answer_lines("AT+CICCID", {"+ICCID: 89860318760220133897"});
        at.table["AT$QCRMCALL=1,1"] = [this] {
            at.data_up = true;
            return std::optional<AtResult>(ok({"$QCRMCALL: 1,V4"}));
        };
        at.table["AT$QCRMCALL?"] = [this] {
            return std::optional<AtResult>(at.data_up ? ok({"$QCRMCALL: 1,V4"}) : ok());
        };
        at.answer_lines("AT+CPSI?", {"+CPSI: LTE,Online,404-45,0x21F9,322642,453,EUTRAN-BAND40,39275,4,4,-168,-1126,-773,7"});
    }
    const ModemStatus& status() const { return controller->status(); }

    FakeScheduler sched;
    FakeAt at{sched};
    std::unique_ptr<ModemController> controller;
};

TEST_F(ModemControllerCellTest, GenericModuleGetsRsrpAndRsrqFromCesq) {
    bring_up(cell_config(Vendor::generic));
    ASSERT_EQ(status().state, ModemState::connected);
    EXPECT_EQ(status().cell.rsrp_dbm, -91);
    EXPECT_EQ(status().cell.rsrq_db, -10);
    EXPECT_EQ(status().cell.pci, std::nullopt);
    EXPECT_EQ(status().access_tech, AccessTech::lte);  // from +CEREG, not from +CESQ
}

TEST_F(ModemControllerCellTest, VendorReportIsPolledAtSignalIntervalAndFollowsTheNetwork) {
    simcom_module();
    bring_up(cell_config(Vendor::simcom));
    ASSERT_EQ(status().state, ModemState::connected);
    EXPECT_EQ(status().cell.rat, AccessTech::lte);
    EXPECT_EQ(status().cell.band, "B40");
    EXPECT_EQ(status().cell.arfcn, 39275u);
    EXPECT_EQ(status().cell.pci, 453u);
    EXPECT_EQ(status().cell.cell_id, "4EC52");
    EXPECT_EQ(status().cell.tac, "21F9");
    EXPECT_EQ(status().cell.rsrp_dbm, -113);  // +CPSI's tenths over +CESQ's -91
    EXPECT_EQ(status().cell.sinr_db, 7);

    at.answer_lines("AT+CPSI?", {"+CPSI: LTE,Online,404-45,0x21FA,322650,17,EUTRAN-BAND3,1650,4,4,-90,-870,-600,18"});
    const auto polls = at.count("AT+CPSI?");
    sched.advance(58s);
    EXPECT_EQ(at.count("AT+CPSI?"), polls) << "not before signal_interval";
    sched.advance(2s);
    EXPECT_EQ(at.count("AT+CPSI?"), polls + 1);
    EXPECT_EQ(status().cell.pci, 17u);
    EXPECT_EQ(status().cell.band, "B3");
    EXPECT_EQ(status().cell.rsrp_dbm, -87);
    EXPECT_EQ(status().cell.sinr_db, 18);

    // Out of coverage the module says so; the cell is then empty.
    at.answer_lines("AT+CPSI?", {"+CPSI: NO SERVICE,Online"});
    at.answer_lines("AT+CESQ", {"+CESQ: 99,99,255,255,255,255"});
    sched.advance(61s);
    EXPECT_EQ(status().cell, ServingCell{});
}

TEST_F(ModemControllerCellTest, FirmwareWithoutTheQueryIsNotAskedAgain) {
    simcom_module();
    at.answer("AT+CPSI?", testing::plain_error());
    bring_up(cell_config(Vendor::simcom));
    ASSERT_EQ(status().state, ModemState::connected);
    sched.advance(200s);
    EXPECT_EQ(at.count("AT+CPSI?"), 1u);
    EXPECT_EQ(status().cell.rsrp_dbm, -91) << "+CESQ still speaks";
}

TEST_F(ModemControllerCellTest, AFiveGModuleIsAskedC5gregAndRegistersOnIt) {
    at.answer("AT+C5GREG=2", ok());
    at.answer_lines("AT+C5GREG?", {"+C5GREG: 2,1,1F00,79D903,11,6,ABCDEF"});
    at.answer_lines("AT+CEREG?", {"+CEREG: 2,0"});
    at.answer_lines("AT+CREG?", {"+CREG: 2,0"});
    bring_up(cell_config(Vendor::generic));
    EXPECT_EQ(status().state, ModemState::connected);
    EXPECT_EQ(status().registration, Registration::home);
    EXPECT_EQ(status().access_tech, AccessTech::nr5g);
    // Its URCs are routed: losing the 5G-core registration is losing registration.
    at.urc("+C5GREG: 2");
    EXPECT_EQ(status().registration, Registration::searching);
    at.urc("+C5GREG: 1,1F00,79D903,11,6,ABCDEF");
    EXPECT_EQ(status().registration, Registration::home);
}

TEST_F(ModemControllerCellTest, ModuleWithoutC5gregIsNotAskedForIt) {
    bring_up(cell_config(Vendor::generic));
    EXPECT_TRUE(at.sent("AT+C5GREG=2"));
    EXPECT_FALSE(at.sent("AT+C5GREG?"));
    EXPECT_EQ(status().state, ModemState::connected);
}

TEST_F(ModemControllerCellTest, NoModuleFoundIsPortMissingWithWhatWasScanned) {
    controller = std::make_unique<ModemController>(sched, at, cell_config(Vendor::generic), nullptr);
    controller->start();
    const std::string why = "scanned /sys/class/tty: no known modem AT port among 1 USB serial port(s): "
                            "/dev/ttyUSB0 0403:6001";
    controller->port_unavailable(why, true);
    EXPECT_EQ(status().state, ModemState::failed);
    EXPECT_EQ(status().failed_reason, FailedReason::port_missing);
    EXPECT_EQ(status().last_error, why);
    at.open();
    sched.advance(1s);
    EXPECT_EQ(status().state, ModemState::connected);
    EXPECT_EQ(status().failed_reason, FailedReason::none);
    EXPECT_EQ(status().last_error, "");
}

TEST_F(ModemControllerCellTest, AConfiguredPathNotThereYetOnlySaysWhy) {
    controller = std::make_unique<ModemController>(sched, at, cell_config(Vendor::generic), nullptr);
    controller->start();
    controller->port_unavailable("/dev/ttyUSB2: No such file or directory", false);
    EXPECT_EQ(status().state, ModemState::absent);
    EXPECT_EQ(status().failed_reason, FailedReason::none);
    EXPECT_EQ(status().last_error, "/dev/ttyUSB2: No such file or directory");
}

}  // namespace
}  // namespace cellgate::modem
