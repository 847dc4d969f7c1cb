// The names the modem's status goes out with over D-Bus (the README and cellgated(8) list them):
// changing one breaks every client, so each is pinned here.
#include "modem/modem_status.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace cellgate::modem {
namespace {

template <class E>
void expect_names(const std::vector<std::pair<E, const char*>>& table) {
    for (const auto& [value, name] : table) EXPECT_STREQ(to_string(value), name);
}

TEST(ModemStatusNames, States) {
    expect_names<ModemState>({{ModemState::disabled, "disabled"},
                              {ModemState::absent, "absent"},
                              {ModemState::initializing, "initializing"},
                              {ModemState::locked, "locked"},
                              {ModemState::searching, "searching"},
                              {ModemState::registered, "registered"},
                              {ModemState::connecting, "connecting"},
                              {ModemState::connected, "connected"},
                              {ModemState::resetting, "resetting"},
                              {ModemState::failed, "failed"}});
}

TEST(ModemStatusNames, FailedReasonsWithEmptyForNone) {
    expect_names<FailedReason>({{FailedReason::none, ""},
                                {FailedReason::sim_missing, "sim-missing"},
                                {FailedReason::sim_pin_required, "sim-pin-required"},
                                {FailedReason::sim_puk_required, "sim-puk-required"},
                                {FailedReason::registration_denied, "registration-denied"},
                                {FailedReason::pdp_rejected, "pdp-rejected"},
                                {FailedReason::no_response, "no-response"},
                                {FailedReason::port_missing, "port-missing"}});
}

TEST(ModemStatusNames, Registration) {
    expect_names<Registration>({{Registration::idle, "idle"},
                                {Registration::home, "home"},
                                {Registration::searching, "searching"},
                                {Registration::denied, "denied"},
                                {Registration::unknown, "unknown"},
                                {Registration::roaming, "roaming"}});
}

TEST(ModemStatusNames, AccessTechWithEmptyForNone) {
    expect_names<AccessTech>({{AccessTech::none, ""},
                              {AccessTech::gsm, "gsm"},
                              {AccessTech::umts, "umts"},
                              {AccessTech::lte, "lte"},
                              {AccessTech::nr5g, "nr5g"}});
}

TEST(ModemStatus, SnapshotsCompareByEveryField) {
    ModemStatus a;
    ModemStatus b;
    EXPECT_EQ(a, b);
    EXPECT_EQ(a.state, ModemState::disabled);
    EXPECT_EQ(a.registration, Registration::unknown);
    b.signal_quality = 67;
    EXPECT_NE(a, b);
    b = a;
    b.last_error = "port lost: hang-up";
    EXPECT_NE(a, b);
}

}  // namespace
}  // namespace cellgate::modem
