// The public state a user sees, derived from the controller's phase and its sticky failure.
#include "modem/modem_phase.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace cellgate::modem {
namespace {

struct StateCase {
    const char* name;
    Phase phase;
    FailedReason failed;
    bool packet_registered;
    ModemState expected;
};

class ModemPhaseState : public ::testing::TestWithParam<StateCase> {};

TEST_P(ModemPhaseState, Derives) {
    const auto& c = GetParam();
    EXPECT_EQ(public_state(c.phase, c.failed, c.packet_registered), c.expected)
        << to_string(public_state(c.phase, c.failed, c.packet_registered));
}

constexpr auto kNone = FailedReason::none;

INSTANTIATE_TEST_SUITE_P(
    Phases, ModemPhaseState,
    ::testing::Values(
        StateCase{"WaitingPortIsAbsent", Phase::waiting_port, kNone, false, ModemState::absent},
        StateCase{"ProbingIsInitializing", Phase::probing, kNone, false, ModemState::initializing},
        StateCase{"SimIsInitializing", Phase::sim, kNone, false, ModemState::initializing},
        StateCase{"RegisteringIsSearching", Phase::registering, kNone, true, ModemState::searching},
        StateCase{"AttachingIsRegistered", Phase::attaching, kNone, false, ModemState::registered},
        StateCase{"PdpIsConnecting", Phase::pdp, kNone, false, ModemState::connecting},
        StateCase{"DialingIsConnecting", Phase::dialing, kNone, false, ModemState::connecting},
        StateCase{"Connected", Phase::connected, kNone, true, ModemState::connected},
        StateCase{"BackoffWhileRegistered", Phase::backoff, kNone, true, ModemState::registered},
        StateCase{"BackoffWhileNot", Phase::backoff, kNone, false, ModemState::searching},
        StateCase{"RecoveringWhileRegistered", Phase::recovering, kNone, true, ModemState::registered},
        StateCase{"Resetting", Phase::resetting, kNone, false, ModemState::resetting},
        StateCase{"HaltedIsFailed", Phase::halted, kNone, false, ModemState::failed},
        // A sticky failure outranks the phase...
        StateCase{"PinIsLocked", Phase::halted, FailedReason::sim_pin_required, false, ModemState::locked},
        StateCase{"PukIsLockedWhileProbing", Phase::probing, FailedReason::sim_puk_required, false,
                  ModemState::locked},
        StateCase{"NoSimIsFailed", Phase::halted, FailedReason::sim_missing, false, ModemState::failed},
        StateCase{"NoResponseWhileBackingOff", Phase::backoff, FailedReason::no_response, true, ModemState::failed},
        StateCase{"PdpRejectedWhileDialing", Phase::dialing, FailedReason::pdp_rejected, false, ModemState::failed},
        // ...except that a reset in progress shows, unless the port never came back from it.
        StateCase{"ResetAfterFailure", Phase::resetting, FailedReason::no_response, false, ModemState::resetting},
        StateCase{"ResetLockedSim", Phase::resetting, FailedReason::sim_pin_required, false, ModemState::resetting},
        StateCase{"PortMissingAfterReset", Phase::resetting, FailedReason::port_missing, false, ModemState::failed}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(ModemPhase, NamesAreDistinct) {
    std::set<std::string> names;
    for (auto p : {Phase::waiting_port, Phase::probing, Phase::sim, Phase::registering, Phase::attaching, Phase::pdp,
                   Phase::dialing, Phase::connected, Phase::backoff, Phase::recovering, Phase::resetting,
                   Phase::halted})
        EXPECT_TRUE(names.insert(to_string(p)).second) << to_string(p);
    EXPECT_STREQ(to_string(Phase::waiting_port), "waiting-port");
    EXPECT_STREQ(to_string(Phase::halted), "halted");
}

}  // namespace
}  // namespace cellgate::modem
