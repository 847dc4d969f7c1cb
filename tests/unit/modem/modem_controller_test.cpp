// Every transition of the bring-up state machine and the recovery ladder, against a scripted
// module and a clock that only moves when the test says so.
#include "modem/modem_controller.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>

#include "unit/support/fake_at.hpp"
#include "unit/support/fake_scheduler.hpp"

namespace cellgate::modem {
namespace {

using namespace std::chrono_literals;
using testing::FakeAt;
using testing::FakeScheduler;
using testing::cme;
using testing::ok;

ModemConfig test_config() {
    ModemConfig c;
    c.port = "/dev/ttyUSB2";
    c.vendor = Vendor::generic;
    c.apn.name = "cmnet";
    c.signal_interval = 60s;
    c.registration_grace = 30s;
    c.registration_timeout = 120s;
    c.status_poll = 30s;
    c.recovery_backoff = 5s;
    c.recovery_backoff_max = 300s;
    c.port_return_timeout = 60s;
    return c;
}

class ModemControllerTest : public ::testing::Test {
protected:
    void make(ModemConfig cfg = test_config()) {
        controller = std::make_unique<ModemController>(sched, at, std::move(cfg), [this](const std::string& why) {
            drops.push_back(why);
            at.lose("dropped: " + why);
        });
        controller->on_change = [this](const ModemStatus& s) { states.push_back(s.state); };
    }
    void bring_up(ModemConfig cfg = test_config()) {
        make(std::move(cfg));
        controller->start();
        at.open();
        sched.advance(1s);
    }
    const ModemStatus& status() const { return controller->status(); }
    bool went_through(ModemState s) const { return std::find(states.begin(), states.end(), s) != states.end(); }

    FakeScheduler sched;
    FakeAt at{sched};
    std::unique_ptr<ModemController> controller;
    std::vector<ModemState> states;
    std::vector<std::string> drops;
};

TEST_F(ModemControllerTest, WaitsForThePortAsAbsent) {
    make();
    controller->start();
    sched.advance(10s);
    EXPECT_EQ(status().state, ModemState::absent);
    EXPECT_TRUE(at.history.empty());
}

TEST_F(ModemControllerTest, NormalBringUpReachesConnectedWithIdentityAndSignal) {
    bring_up();
    EXPECT_EQ(controller->phase(), Phase::connected);
    EXPECT_EQ(status().state, ModemState::connected);
    EXPECT_EQ(status().failed_reason, FailedReason::none);
    EXPECT_EQ(status().ip_address, "10.64.12.34");
    EXPECT_EQ(status().manufacturer, "Generic Modem Inc");
    EXPECT_EQ(status().model, "GM-1");
    EXPECT_EQ(status().revision, "GM1.0.7");
    EXPECT_EQ(status().imei, "867962040123456");
    EXPECT_EQ(status().imsi, "460001234567890");
    EXPECT_EQ(status().iccid, "89860113890138204233");
    EXPECT_EQ(status().registration, Registration::home);
    EXPECT_EQ(status().access_tech, AccessTech::lte);
    EXPECT_EQ(status().operator_name, "CHINA MOBILE");
    EXPECT_EQ(status().operator_code, "46000");
    EXPECT_EQ(status().rssi_dbm, -71);
    EXPECT_GT(status().signal_quality, 0u);
    EXPECT_EQ(status().apn, "cmnet");
    EXPECT_EQ(status().vendor, "generic");
    // The public states in bring-up order.
    for (auto s : {ModemState::initializing, ModemState::searching, ModemState::registered, ModemState::connecting})
        EXPECT_TRUE(went_through(s)) << to_string(s);
    EXPECT_TRUE(at.sent("AT+CGDCONT=1,\"IP\",\"cmnet\""));
    EXPECT_TRUE(at.sent("AT+CGACT=1,1"));
    EXPECT_FALSE(at.sent("AT+CFUN=1")) << "radio already on";
    EXPECT_EQ(status().recoveries, 0u);
}

TEST_F(ModemControllerTest, SkipsTheDataCallWhenItIsAlreadyUp) {
    at.data_up = true;
    bring_up();
    EXPECT_EQ(status().state, ModemState::connected);
    EXPECT_FALSE(at.sent("AT+CGACT=1,1"));
}

TEST_F(ModemControllerTest, TurnsTheRadioOnWhenItIsOff) {
    at.answer_lines("AT+CFUN?", {"+CFUN: 4"});
    bring_up();
    EXPECT_TRUE(at.sent("AT+CFUN=1"));
    EXPECT_EQ(status().state, ModemState::connected);
}

TEST_F(ModemControllerTest, AttachesWhenDetached) {
    at.answer_lines("AT+CGATT?", {"+CGATT: 0"});
    bring_up();
    EXPECT_TRUE(at.sent("AT+CGATT=1"));
    EXPECT_EQ(status().state, ModemState::connected);
}

TEST_F(ModemControllerTest, NoSimIsReportedAndNotHammered) {
    at.answer("AT+CPIN?", cme(10));
    bring_up();
    EXPECT_EQ(status().state, ModemState::failed);
    EXPECT_EQ(status().failed_reason, FailedReason::sim_missing);
    EXPECT_EQ(controller->phase(), Phase::halted);
    const auto before = at.history.size();
    sched.advance(290s);
    EXPECT_EQ(at.history.size(), before) << "no command while halted";
    sched.advance(20s);
    EXPECT_GT(at.history.size(), before) << "slow re-check after recovery_backoff_max";
    EXPECT_EQ(status().failed_reason, FailedReason::sim_missing);
}

TEST_F(ModemControllerTest, SimInsertedLaterRecoversThroughTheCpinUrc) {
    at.answer("AT+CPIN?", cme(10));
    bring_up();
    ASSERT_EQ(status().failed_reason, FailedReason::sim_missing);
    at.answer_lines("AT+CPIN?", {"+CPIN: READY"});
    at.urc("+CPIN: READY");
    sched.advance(1s);
    EXPECT_EQ(status().state, ModemState::connected);
    EXPECT_EQ(status().failed_reason, FailedReason::none);
}

TEST_F(ModemControllerTest, EntersTheConfiguredPin) {
    bool unlocked = false;
    at.table["AT+CPIN?"] = [&] { return std::optional(ok({unlocked ? "+CPIN: READY" : "+CPIN: SIM PIN"})); };
    at.table["AT+CPIN=\"4321\""] = [&] {
        unlocked = true;
        return std::optional(ok());
    };
    auto cfg = test_config();
    cfg.pin = "4321";
    ::testing::internal::CaptureStderr();
    bring_up(cfg);
    sched.advance(2s);
    const std::string log = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(status().state, ModemState::connected);
    EXPECT_EQ(at.count("AT+CPIN=\"4321\""), 1u);
    EXPECT_EQ(log.find("4321"), std::string::npos) << "the PIN must never reach the log";
}

TEST_F(ModemControllerTest, PinRequiredWithoutPinIsLocked) {
    at.answer_lines("AT+CPIN?", {"+CPIN: SIM PIN"});
    bring_up();
    EXPECT_EQ(status().state, ModemState::locked);
    EXPECT_EQ(status().failed_reason, FailedReason::sim_pin_required);
}

TEST_F(ModemControllerTest, RejectedPinIsNeverSentTwice) {
    at.answer_lines("AT+CPIN?", {"+CPIN: SIM PIN"});
    at.answer("AT+CPIN=\"0000\"", cme(16));
    auto cfg = test_config();
    cfg.pin = "0000";
    bring_up(cfg);
    EXPECT_EQ(status().state, ModemState::locked);
    EXPECT_EQ(status().failed_reason, FailedReason::sim_pin_required);
    // Re-checks and even a module reboot must not burn another attempt.
    sched.advance(700s);
    at.lose("reboot");
    at.open();
    sched.advance(5s);
    EXPECT_EQ(at.count("AT+CPIN=\"0000\""), 1u);
    EXPECT_EQ(status().failed_reason, FailedReason::sim_pin_required);
}

TEST_F(ModemControllerTest, PukLockedSimIsLocked) {
    at.answer_lines("AT+CPIN?", {"+CPIN: SIM PUK"});
    bring_up();
    EXPECT_EQ(status().state, ModemState::locked);
    EXPECT_EQ(status().failed_reason, FailedReason::sim_puk_required);
}

TEST_F(ModemControllerTest, SimBusyIsRetried) {
    int asked = 0;
    at.table["AT+CPIN?"] = [&] { return ++asked < 3 ? std::optional(cme(14)) : std::optional(ok({"+CPIN: READY"})); };
    bring_up();
    sched.advance(10s);
    EXPECT_EQ(asked, 3);
    EXPECT_EQ(status().state, ModemState::connected);
}

TEST_F(ModemControllerTest, RegistrationDeniedIsReportedAndHealsOnUrc) {
    at.answer_lines("AT+CEREG?", {"+CEREG: 2,3"});
    at.answer_lines("AT+CREG?", {"+CREG: 2,3"});
    bring_up();
    EXPECT_EQ(status().state, ModemState::failed);
    EXPECT_EQ(status().failed_reason, FailedReason::registration_denied);
    EXPECT_EQ(status().registration, Registration::denied);
    at.answer_lines("AT+CEREG?", {"+CEREG: 2,1,\"1A2B\",\"01ABCDEF\",7"});
    at.urc("+CEREG: 1,\"1A2B\",\"01ABCDEF\",7");
    sched.advance(1s);
    EXPECT_EQ(status().state, ModemState::connected);
    EXPECT_EQ(status().failed_reason, FailedReason::none);
}

TEST_F(ModemControllerTest, SlowRegistrationWaitsForTheUrc) {
    at.answer_lines("AT+CEREG?", {"+CEREG: 2,2"});
    at.answer_lines("AT+CREG?", {"+CREG: 2,2"});
    bring_up();
    sched.advance(20s);
    EXPECT_EQ(status().state, ModemState::searching);
    EXPECT_EQ(status().registration, Registration::searching);
    at.answer_lines("AT+CEREG?", {"+CEREG: 2,5,\"1A2B\",\"01ABCDEF\",7"});
    at.urc("+CEREG: 5,\"1A2B\",\"01ABCDEF\",7");
    sched.advance(1s);
    EXPECT_EQ(status().state, ModemState::connected);
    EXPECT_EQ(status().registration, Registration::roaming);
}

TEST_F(ModemControllerTest, RegistrationTimeoutStartsRecovery) {
    at.answer_lines("AT+CEREG?", {"+CEREG: 2,2"});
    at.answer_lines("AT+CREG?", {"+CREG: 2,2"});
    bring_up();
    sched.advance(121s);
    EXPECT_EQ(status().recoveries, 1u);
    EXPECT_EQ(status().recovery_step, "retry");
}

TEST_F(ModemControllerTest, PdpFailureClimbsTheLadderWithDoublingBackoff) {
    at.answer("AT+CGACT=1,1", cme(33));
    bring_up();
    EXPECT_EQ(status().state, ModemState::failed);
    EXPECT_EQ(status().failed_reason, FailedReason::pdp_rejected);
    EXPECT_EQ(status().recovery_step, "retry");

    // Attempt n waits 5 s * 2^(n-1): 5, 10, 20, 40, 80, 160 s; a radio cycle adds 2 s of radio off.
    sched.advance(5s);   // retry #1 runs, fails again -> #2 scheduled in 10 s
    EXPECT_EQ(status().recoveries, 2u);
    EXPECT_EQ(status().recovery_step, "retry");
    sched.advance(10s);  // retry #2 -> reattach in 20 s
    EXPECT_EQ(status().recovery_step, "reattach");
    sched.advance(20s);
    EXPECT_TRUE(at.sent("AT+CGATT=0"));
    EXPECT_EQ(status().recovery_step, "radio-cycle");
    EXPECT_FALSE(at.sent("AT+CFUN=0"));
    sched.advance(40s);
    EXPECT_TRUE(at.sent("AT+CFUN=0"));
    sched.advance(2s);  // radio off for 2 s
    EXPECT_EQ(status().recovery_step, "radio-cycle");
    sched.advance(80s);
    sched.advance(2s);
    EXPECT_EQ(at.count("AT+CFUN=0"), 2u);
    EXPECT_EQ(status().recovery_step, "module-reset");
    EXPECT_EQ(status().resets, 0u);
    sched.advance(160s);
    EXPECT_EQ(status().resets, 1u);
    EXPECT_TRUE(at.sent("AT+CFUN=1,1"));
    ASSERT_EQ(drops.size(), 1u);
    EXPECT_EQ(status().state, ModemState::resetting);

    // The module comes back and still refuses: the ladder continues at the capped backoff.
    at.open();
    sched.advance(1s);
    EXPECT_EQ(status().failed_reason, FailedReason::pdp_rejected);
    const auto count = at.history.size();
    sched.advance(290s);
    EXPECT_EQ(at.history.size(), count) << "capped at recovery_backoff_max, no tight loop";
}

TEST_F(ModemControllerTest, NetworkDeactivationRecoversTheLink) {
    bring_up();
    ASSERT_EQ(status().state, ModemState::connected);
    at.data_up = false;
    at.urc("+CGEV: NW PDN DEACT 1");
    EXPECT_EQ(status().ip_address, "");
    EXPECT_NE(status().state, ModemState::connected);
    EXPECT_EQ(status().last_error.find("data link lost"), 0u);
    sched.advance(6s);
    EXPECT_EQ(status().state, ModemState::connected);
    EXPECT_EQ(status().recoveries, 1u);
}

TEST_F(ModemControllerTest, OtherContextDeactivationIsIgnored) {
    bring_up();
    at.urc("+CGEV: NW PDN DEACT 3");
    EXPECT_EQ(status().state, ModemState::connected);
}

TEST_F(ModemControllerTest, StatusPollFindsADeadBearer) {
    bring_up();
    at.data_up = false;
    sched.advance(31s);
    EXPECT_EQ(status().recoveries, 1u);
    sched.advance(6s);
    EXPECT_EQ(status().state, ModemState::connected);
}

TEST_F(ModemControllerTest, ShortRegistrationLossIsRiddenOut) {
    bring_up();
    at.urc("+CEREG: 2");
    sched.advance(10s);
    at.urc("+CEREG: 1,\"1A2B\",\"01ABCDEF\",7");
    sched.advance(60s);
    EXPECT_EQ(status().state, ModemState::connected);
    EXPECT_EQ(status().recoveries, 0u);
}

TEST_F(ModemControllerTest, LastingRegistrationLossStartsRecovery) {
    bring_up();
    at.answer_lines("AT+CEREG?", {"+CEREG: 2,2"});
    at.answer_lines("AT+CREG?", {"+CREG: 2,2"});
    at.urc("+CEREG: 2");
    at.urc("+CREG: 2");
    sched.advance(29s);
    EXPECT_EQ(status().recoveries, 0u);
    sched.advance(2s);
    EXPECT_EQ(status().recoveries, 1u);
    EXPECT_NE(status().last_error.find("registration lost"), std::string::npos);
}

TEST_F(ModemControllerTest, VanishedPortIsAbsentThenPortMissingThenRecovers) {
    bring_up();
    at.lose("read: EIO");
    EXPECT_EQ(status().state, ModemState::absent);
    EXPECT_EQ(status().ip_address, "");
    sched.advance(61s);
    EXPECT_EQ(status().state, ModemState::failed);
    EXPECT_EQ(status().failed_reason, FailedReason::port_missing);
    at.open();
    sched.advance(1s);
    EXPECT_EQ(status().state, ModemState::connected);
    EXPECT_EQ(status().failed_reason, FailedReason::none);
}

TEST_F(ModemControllerTest, SilentModuleIsNoResponse) {
    at.silent = true;
    bring_up();
    sched.advance(9s);
    EXPECT_EQ(at.count("AT"), 3u) << "three tries, a second apart after each 3 s timeout";
    sched.advance(1s);
    EXPECT_EQ(status().state, ModemState::failed);
    EXPECT_EQ(status().failed_reason, FailedReason::no_response);
    // From now on one probe at a time (2 s timeout, 1 s apart) and the ladder's bring-ups: no flood.
    const auto probes = at.count("AT");
    sched.advance(60s);
    EXPECT_LE(at.count("AT") - probes, 20u);
}

// Configured backoffs long enough that only the probe can explain a quick return.
ModemConfig long_backoff_config() {
    auto cfg = test_config();
    cfg.recovery_backoff = 60s;
    cfg.recovery_backoff_max = 300s;
    return cfg;
}

TEST_F(ModemControllerTest, SilentModuleAnsweringAgainIsSeenByTheProbeDuringBackoff) {
    bring_up(long_backoff_config());
    at.silent = true;
    sched.advance(61s);  // the status poll's three queries time out
    ASSERT_EQ(status().failed_reason, FailedReason::no_response);
    ASSERT_EQ(controller->phase(), Phase::backoff);
    const auto recoveries = status().recoveries;
    sched.advance(20s);  // still silent: probes go unanswered, the backoff goes on
    EXPECT_EQ(controller->phase(), Phase::backoff);
    at.silent = false;
    sched.advance(3s);  // the probe in flight times out (it went into the silence), the next one answers
    EXPECT_EQ(status().state, ModemState::connected);
    EXPECT_EQ(status().failed_reason, FailedReason::none);
    EXPECT_EQ(status().recoveries, recoveries) << "no recovery step ran: the module was back first";
}

TEST_F(ModemControllerTest, AnyLineFromASilentModuleEndsTheBackoffAtOnce) {
    bring_up(long_backoff_config());
    at.silent = true;
    sched.advance(61s);
    ASSERT_EQ(controller->phase(), Phase::backoff);
    sched.advance(5s);
    at.silent = false;
    at.urc("+CEREG: 1");
    sched.advance(100ms);
    EXPECT_EQ(status().state, ModemState::connected);
}

TEST_F(ModemControllerTest, ALineWhileConnectedDoesNotRestartTheBringUp) {
    bring_up();
    const auto commands = at.history.size();
    at.urc("+CEREG: 1");
    sched.advance(100ms);
    EXPECT_EQ(at.history.size(), commands);
    EXPECT_EQ(status().state, ModemState::connected);
}

// A recovery step for a module that has said nothing since it went silent waits seconds per
// command, not the command's nominal timeout (120 s to stop a data call, 140 s to detach).
TEST_F(ModemControllerTest, RecoveryCommandsIntoSilenceUseShortTimeouts) {
    at.silent = true;
    bring_up();
    for (int i = 0; i < 1200 && !at.sent("AT+CGACT=0,1"); ++i) sched.advance(100ms);
    ASSERT_TRUE(at.sent("AT+CGACT=0,1")) << "the ladder reached its reattach step";
    ASSERT_EQ(status().recovery_step, "reattach");
    sched.advance(5s);
    EXPECT_TRUE(at.sent("AT+CGATT=0"));
    sched.advance(5s);
    EXPECT_EQ(controller->phase(), Phase::probing) << "the step is over: bring-up again";
}

TEST_F(ModemControllerTest, RecoveryCommandsToAnAnsweringModuleKeepTheirTimeouts) {
    at.answer("AT+CGACT=1,1", cme(33));
    at.never_answer("AT+CGATT=0");
    bring_up();
    sched.advance(5s + 10s + 20s);  // retry, retry, then the reattach step
    ASSERT_TRUE(at.sent("AT+CGATT=0"));
    sched.advance(100s);
    EXPECT_EQ(controller->phase(), Phase::recovering) << "a module that answers gets the full 140 s";
}

TEST_F(ModemControllerTest, WedgedWhileConnectedIsNoResponse) {
    bring_up();
    at.silent = true;
    sched.advance(61s);  // signal poll: CSQ and CESQ time out; status poll times out
    sched.advance(60s);
    EXPECT_EQ(status().failed_reason, FailedReason::no_response);
}

TEST_F(ModemControllerTest, ResetRequestRebootsTheModule) {
    bring_up();
    controller->reset();
    sched.advance(1s);
    EXPECT_EQ(status().resets, 1u);
    EXPECT_EQ(status().state, ModemState::resetting);
    EXPECT_TRUE(at.sent("AT+CFUN=1,1"));
    ASSERT_EQ(drops.size(), 1u);
    at.open();
    sched.advance(1s);
    EXPECT_EQ(status().state, ModemState::connected);
}

TEST_F(ModemControllerTest, ResetWhileAResetRunsJoinsIt) {
    bring_up();
    for (int i = 0; i < 100; ++i) controller->reset();
    sched.advance(1s);
    EXPECT_EQ(at.count("AT+CFUN=1,1"), 1u);
    EXPECT_EQ(drops.size(), 1u);
    for (int i = 0; i < 100; ++i) controller->reset();  // the port is away
    sched.advance(1s);
    at.open();
    controller->reset();  // the module is back, its bring-up runs
    sched.advance(1s);
    EXPECT_EQ(status().state, ModemState::connected);
    EXPECT_EQ(status().resets, 1u);
    EXPECT_EQ(at.count("AT+CFUN=1,1"), 1u);
    // Once the bring-up after it has ended, a request is a new reset.
    controller->reset();
    sched.advance(1s);
    EXPECT_EQ(status().resets, 2u);
    EXPECT_EQ(at.count("AT+CFUN=1,1"), 2u);
}

// The module takes its time over the reset command; the ladder's reset is a reset all the same.
TEST_F(ModemControllerTest, ResetJoinsTheLaddersOwnReset) {
    at.answer("AT+CGACT=1,1", cme(33));
    at.never_answer("AT+CFUN=1,1");
    bring_up();
    sched.advance(5s + 10s + 20s + 40s + 2s + 80s + 2s + 160s);
    ASSERT_EQ(status().resets, 1u);
    ASSERT_TRUE(at.is_open()) << "the reset command is still waiting for its answer";
    controller->reset();
    sched.advance(1s);
    EXPECT_EQ(status().resets, 1u);
    EXPECT_EQ(at.count("AT+CFUN=1,1"), 1u);
}

TEST_F(ModemControllerTest, BootBannerRightAfterOpeningIsNotARestart) {
    bring_up();
    const auto count = at.count("AT");
    at.urc("RDY");
    sched.advance(1s);
    EXPECT_EQ(at.count("AT"), count);
}

TEST_F(ModemControllerTest, RdyUrcRestartsBringUp) {
    bring_up();
    sched.advance(20s);
    const auto count = at.count("AT");
    at.urc("RDY");
    sched.advance(1s);
    EXPECT_EQ(at.count("AT"), count + 1);
    EXPECT_EQ(status().state, ModemState::connected);
}

// An exception in a continuation must not reach the event loop (sd-event would disable the serial
// port's watch): it is logged, the bring-up starts over, and the AT channel keeps serving.
TEST_F(ModemControllerTest, AThrowingContinuationIsContainedAndBringUpStartsOver) {
    int throws = 0;
    at.table["AT+CGSN"] = [&]() -> std::optional<AtResult> {
        if (throws++ == 0) throw std::runtime_error("parser bug");
        return ok({"867962040123456"});
    };
    EXPECT_NO_THROW(bring_up());
    EXPECT_EQ(controller->phase(), Phase::backoff);
    EXPECT_EQ(status().last_error, "AT reply failed");
    EXPECT_NO_THROW(sched.advance(6s));
    EXPECT_EQ(status().state, ModemState::connected);
    EXPECT_EQ(status().imei, "867962040123456");
}

TEST_F(ModemControllerTest, AThrowingUrcHandlerLeavesTheNextUrcWorking) {
    bring_up();
    sched.advance(20s);
    // The restart the banner asks for throws on its first command.
    int throws = 0;
    at.table["AT"] = [&]() -> std::optional<AtResult> {
        if (throws++ == 0) throw std::runtime_error("transport bug");
        return ok();
    };
    EXPECT_NO_THROW(at.urc("RDY"));
    EXPECT_EQ(status().last_error, "URC handler failed");
    EXPECT_NO_THROW(sched.advance(6s));
    ASSERT_EQ(status().state, ModemState::connected);

    at.data_up = false;
    at.urc("+CGEV: NW DETACH");
    EXPECT_NE(status().last_error.find("network detached"), std::string::npos) << status().last_error;
    sched.advance(11s);
    EXPECT_EQ(status().state, ModemState::connected);
}

TEST_F(ModemControllerTest, AThrowingStatusListenerDoesNotStopTheBringUp) {
    make();
    controller->on_change = [](const ModemStatus&) { throw std::runtime_error("listener bug"); };
    controller->start();
    at.open();
    EXPECT_NO_THROW(sched.advance(1s));
    EXPECT_EQ(status().state, ModemState::connected);
    EXPECT_EQ(status().recoveries, 0u);
}

TEST_F(ModemControllerTest, StableLinkResetsTheLadder) {
    bring_up();
    at.data_up = false;
    at.urc("+CGEV: NW PDN DEACT 1");
    sched.advance(6s);
    ASSERT_EQ(status().state, ModemState::connected);
    sched.advance(61s);  // stable for max(2 * status_poll, 60 s)
    at.data_up = false;
    at.urc("+CGEV: NW DETACH");
    EXPECT_EQ(status().recovery_step, "retry");
    sched.advance(6s);
    EXPECT_EQ(status().state, ModemState::connected) << "first rung again, 5 s backoff";
}

TEST_F(ModemControllerTest, SignalIsPolledEverySignalInterval) {
    bring_up();
    const auto before = at.count("AT+CSQ");
    at.answer_lines("AT+CSQ", {"+CSQ: 31,99"});
    sched.advance(61s);
    EXPECT_EQ(at.count("AT+CSQ"), before + 1);
    EXPECT_EQ(status().rssi_dbm, -51);
}

TEST_F(ModemControllerTest, UsbVendorIsUsedWhenNotConfigured) {
    auto cfg = test_config();
    cfg.vendor.reset();
    make(cfg);
    controller->set_usb_vendor(Vendor::quectel);
    controller->start();
    at.open();
    sched.advance(1s);
    EXPECT_EQ(status().vendor, "quectel");
}

TEST_F(ModemControllerTest, VendorIsDetectedFromCgmi) {
    auto cfg = test_config();
    cfg.vendor.reset();
    at.answer_lines("AT+CGMI", {"SIMCOM INCORPORATED"});
    make(cfg);
    controller->start();
    at.open();
    sched.advance(1s);
    EXPECT_EQ(status().vendor, "simcom");
}

}  // namespace
}  // namespace cellgate::modem
