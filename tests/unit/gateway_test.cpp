// The gateway verdict and the systemd STATUS= line, plus the Modem property table the D-Bus
// adapter is built from.
#include "daemon/gateway.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "daemon/bus_modem.hpp"

namespace cellgate {
namespace {

using modem::AccessTech;
using modem::FailedReason;
using modem::ModemState;
using modem::ModemStatus;

GatewayInputs with_modem(ModemState state, FailedReason reason = FailedReason::none) {
    GatewayInputs in;
    in.name_acquired = true;
    in.modem_configured = true;
    in.modem_known = true;
    in.modem.state = state;
    in.modem.failed_reason = reason;
    return in;
}

TEST(GatewayVerdict, StartingUntilTheBusNameIsOurs) {
    GatewayInputs in = with_modem(ModemState::connected);
    in.name_acquired = false;
    EXPECT_EQ(evaluate_gateway(in).state, GatewayState::starting);
    in.modem_configured = false;
    EXPECT_EQ(evaluate_gateway(in).state, GatewayState::starting);
}

TEST(GatewayVerdict, StartingUntilTheModemReportedOnce) {
    GatewayInputs in = with_modem(ModemState::connected);
    in.modem_known = false;
    EXPECT_EQ(evaluate_gateway(in).state, GatewayState::starting);
}

TEST(GatewayVerdict, WithoutAModemTheHostNetworkMakesItOnline) {
    GatewayInputs in;
    in.name_acquired = true;
    auto v = evaluate_gateway(in);
    EXPECT_EQ(v.state, GatewayState::online);
    EXPECT_NE(v.reason.find("no modem"), std::string::npos) << v.reason;
}

TEST(GatewayVerdict, EveryModemStateMapsToOneGatewayState) {
    struct Case {
        ModemState modem;
        GatewayState gateway;
    };
    const Case cases[] = {
        {ModemState::connected, GatewayState::online},
        {ModemState::failed, GatewayState::offline},
        {ModemState::absent, GatewayState::offline},
        {ModemState::disabled, GatewayState::offline},
        {ModemState::initializing, GatewayState::degraded},
        {ModemState::locked, GatewayState::degraded},
        {ModemState::searching, GatewayState::degraded},
        {ModemState::registered, GatewayState::degraded},
        {ModemState::connecting, GatewayState::degraded},
        {ModemState::resetting, GatewayState::degraded},
    };
    for (const auto& c : cases)
        EXPECT_EQ(evaluate_gateway(with_modem(c.modem)).state, c.gateway) << modem::to_string(c.modem);
}

TEST(GatewayVerdict, FailureReasonIsInTheLogReason) {
    auto v = evaluate_gateway(with_modem(ModemState::failed, FailedReason::sim_missing));
    EXPECT_EQ(v.reason, "modem failed: sim-missing");
}

TEST(GatewayStatusLine, ConnectedModemShowsTechOperatorAddressAndSignal) {
    auto in = with_modem(ModemState::connected);
    in.modem.access_tech = AccessTech::lte;
    in.modem.operator_name = "CMCC";
    in.modem.ip_address = "10.64.1.2";
    in.modem.signal_quality = 67;
    EXPECT_EQ(status_line(GatewayState::online, in), "online; modem connected lte 'CMCC' 10.64.1.2 signal 67%");
}

TEST(GatewayStatusLine, FailedModemShowsTheReason) {
    auto in = with_modem(ModemState::failed, FailedReason::sim_pin_required);
    EXPECT_EQ(status_line(GatewayState::offline, in), "offline; modem failed (sim-pin-required)");
}

TEST(GatewayStatusLine, RecoveryStepIsShown) {
    auto in = with_modem(ModemState::searching);
    in.modem.signal_quality = 12;
    in.modem.recovery_step = "cfun-cycle";
    EXPECT_EQ(status_line(GatewayState::degraded, in), "degraded; modem searching signal 12%, recovering: cfun-cycle");
}

TEST(GatewayStatusLine, NoModemAndNotYetKnown) {
    GatewayInputs none;
    EXPECT_EQ(status_line(GatewayState::online, none), "online; no modem configured");
    auto unknown = with_modem(ModemState::absent);
    unknown.modem_known = false;
    EXPECT_EQ(status_line(GatewayState::starting, unknown), "starting; modem starting");
}

TEST(ModemPropertyTable, ExportsEveryDocumentedPropertyOnceWithItsSignature) {
    const std::pair<std::string, std::string> expected[] = {
        {"State", "s"}, {"FailedReason", "s"}, {"Port", "s"}, {"Vendor", "s"},
        {"Manufacturer", "s"}, {"Model", "s"}, {"Revision", "s"}, {"Imei", "s"},
        {"Imsi", "s"}, {"Iccid", "s"}, {"Registration", "s"}, {"AccessTechnology", "s"},
        {"Operator", "s"}, {"OperatorCode", "s"}, {"SignalQuality", "u"}, {"Rssi", "i"},
        {"Apn", "s"}, {"IpAddress", "s"}, {"Resets", "u"}, {"Recoveries", "u"},
        {"RecoveryStep", "s"}, {"LastError", "s"},
    };
    auto props = modem_properties();
    ASSERT_EQ(props.size(), std::size(expected));
    ModemStatus s;
    for (size_t i = 0; i < props.size(); ++i) {
        EXPECT_EQ(props[i].name, expected[i].first);
        EXPECT_EQ(props[i].signature, expected[i].second) << props[i].name;
        // The value's C++ type must match the D-Bus signature the vtable announces.
        const char sig = std::visit(
            [](const auto& v) {
                using T = std::decay_t<decltype(v)>;
                return std::is_same_v<T, std::string> ? 's' : std::is_same_v<T, uint32_t> ? 'u' : 'i';
            },
            props[i].get(s));
        EXPECT_EQ(std::string(1, sig), expected[i].second) << props[i].name;
        EXPECT_EQ(find_modem_property(expected[i].first), &props[i]);
    }
    EXPECT_EQ(find_modem_property("Nope"), nullptr);
}

TEST(ModemPropertyDiff, EqualSnapshotsChangeNothing) {
    ModemStatus a;
    a.state = ModemState::connected;
    EXPECT_TRUE(changed_modem_properties(a, a).empty());
}

TEST(ModemPropertyDiff, NamesExactlyTheChangedPropertiesInTableOrder) {
    ModemStatus before;
    before.state = ModemState::registered;
    before.signal_quality = 40;
    ModemStatus after = before;
    after.state = ModemState::connected;
    after.ip_address = "10.64.1.2";
    after.rssi_dbm = -83;
    after.signal_quality = 40;  // unchanged
    auto names = changed_modem_properties(before, after);
    std::vector<std::string> got(names.begin(), names.end());
    EXPECT_EQ(got, (std::vector<std::string>{"State", "Rssi", "IpAddress"}));
}

TEST(ModemPropertyDiff, EveryFieldIsCoveredByAProperty) {
    // Changing any one field must produce a non-empty diff; a field added to ModemStatus but
    // missing from the table would be published never.
    std::vector<void (*)(ModemStatus&)> mutations = {
        [](ModemStatus& s) { s.state = ModemState::failed; },
        [](ModemStatus& s) { s.failed_reason = FailedReason::no_response; },
        [](ModemStatus& s) { s.port = "/dev/ttyUSB2"; },
        [](ModemStatus& s) { s.vendor = "quectel"; },
        [](ModemStatus& s) { s.manufacturer = "Quectel"; },
        [](ModemStatus& s) { s.model = "EC20F"; },
        [](ModemStatus& s) { s.revision = "EC20FAR06A06M4G"; },
        [](ModemStatus& s) { s.imei = "867223040000000"; },
        [](ModemStatus& s) { s.imsi = "460001234567890"; },
        [](ModemStatus& s) { s.iccid = "89860000000000000000"; },
        [](ModemStatus& s) { s.registration = modem::Registration::home; },
        [](ModemStatus& s) { s.access_tech = AccessTech::lte; },
        [](ModemStatus& s) { s.operator_name = "CMCC"; },
        [](ModemStatus& s) { s.operator_code = "46000"; },
        [](ModemStatus& s) { s.signal_quality = 1; },
        [](ModemStatus& s) { s.rssi_dbm = -113; },
        [](ModemStatus& s) { s.apn = "cmnet"; },
        [](ModemStatus& s) { s.ip_address = "10.0.0.1"; },
        [](ModemStatus& s) { s.resets = 1; },
        [](ModemStatus& s) { s.recoveries = 1; },
        [](ModemStatus& s) { s.recovery_step = "reattach"; },
        [](ModemStatus& s) { s.last_error = "timeout"; },
    };
    std::set<std::string> seen;
    for (auto mutate : mutations) {
        ModemStatus a, b;
        mutate(b);
        auto names = changed_modem_properties(a, b);
        ASSERT_EQ(names.size(), 1u);
        seen.insert(names[0]);
    }
    EXPECT_EQ(seen.size(), modem_properties().size());
}

}  // namespace
}  // namespace cellgate
