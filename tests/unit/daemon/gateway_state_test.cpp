// The gateway verdict (modem and cloud sessions), the systemd STATUS= line and the data-link
// edges fed to the sessions.
#include "daemon/gateway_state.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

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

// ---- with cloud sessions ----

using cloud::SessionState;

GatewayInputs with_sessions(GatewayInputs in, std::initializer_list<std::pair<const char*, SessionState>> sessions) {
    for (const auto& [name, state] : sessions) in.sessions.push_back({name, state});
    return in;
}

GatewayInputs no_modem() {
    GatewayInputs in;
    in.name_acquired = true;
    return in;
}

TEST(GatewayVerdict, WithoutAModemTheSessionsDecide) {
    auto all = evaluate_gateway(
        with_sessions(no_modem(), {{"ali", SessionState::connected}, {"lab", SessionState::connected}}));
    EXPECT_EQ(all.state, GatewayState::online);
    EXPECT_EQ(all.reason, "cloud 2/2 connected");

    auto some = evaluate_gateway(
        with_sessions(no_modem(), {{"ali", SessionState::connected}, {"lab", SessionState::backoff}}));
    EXPECT_EQ(some.state, GatewayState::degraded);
    EXPECT_EQ(some.reason, "cloud 1/2 connected (lab backoff)");

    auto none = evaluate_gateway(
        with_sessions(no_modem(), {{"ali", SessionState::auth_failed}, {"lab", SessionState::connecting}}));
    EXPECT_EQ(none.state, GatewayState::offline);
    EXPECT_EQ(none.reason, "cloud 0/2 connected (ali auth-failed, lab connecting)");
}

TEST(GatewayVerdict, EverySessionStateOfALoneSession) {
    // With the uplink up, a lone session is the whole cloud: connected or offline, nothing between.
    const std::pair<SessionState, GatewayState> cases[] = {
        {SessionState::idle, GatewayState::offline},         {SessionState::waiting_link, GatewayState::offline},
        {SessionState::connecting, GatewayState::offline},   {SessionState::connected, GatewayState::online},
        {SessionState::backoff, GatewayState::offline},      {SessionState::auth_failed, GatewayState::offline},
    };
    for (const auto& [session, gateway] : cases) {
        EXPECT_EQ(evaluate_gateway(with_sessions(with_modem(ModemState::connected), {{"lab", session}})).state, gateway)
            << cloud::to_string(session);
        // A second, connected session turns every "offline" into "degraded".
        auto two = with_sessions(with_modem(ModemState::connected),
                                 {{"lab", session}, {"ali", SessionState::connected}});
        EXPECT_EQ(evaluate_gateway(two).state,
                  gateway == GatewayState::online ? GatewayState::online : GatewayState::degraded)
            << cloud::to_string(session);
    }
}

TEST(GatewayVerdict, ModemAndSessionsTogether) {
    struct Case {
        ModemState modem;
        std::vector<SessionState> sessions;
        GatewayState expected;
        const char* reason;
    };
    const Case cases[] = {
        {ModemState::connected, {SessionState::connected, SessionState::connected}, GatewayState::online,
         "modem connected, cloud 2/2 connected"},
        {ModemState::connected, {SessionState::connected, SessionState::backoff}, GatewayState::degraded,
         "modem connected, cloud 1/2 connected (s1 backoff)"},
        {ModemState::connected, {SessionState::connecting, SessionState::connecting}, GatewayState::offline,
         "modem connected, cloud 0/2 connected (s0 connecting, s1 connecting)"},
        // The link is being rebuilt: the sessions wait for it, nothing reaches the cloud.
        {ModemState::searching, {SessionState::waiting_link}, GatewayState::offline,
         "modem searching, cloud 0/1 connected (s0 waiting-link)"},
        // The modem says it is reconnecting while a session still holds (its socket has not noticed yet).
        {ModemState::connecting, {SessionState::connected}, GatewayState::degraded,
         "modem connecting, cloud 1/1 connected"},
        {ModemState::failed, {SessionState::connected}, GatewayState::offline, "modem failed, cloud 1/1 connected"},
        {ModemState::absent, {SessionState::waiting_link}, GatewayState::offline,
         "modem absent, cloud 0/1 connected (s0 waiting-link)"},
    };
    for (const auto& c : cases) {
        auto in = with_modem(c.modem);
        for (size_t i = 0; i < c.sessions.size(); ++i) in.sessions.push_back({"s" + std::to_string(i), c.sessions[i]});
        const auto v = evaluate_gateway(in);
        EXPECT_EQ(v.state, c.expected) << c.reason;
        EXPECT_EQ(v.reason, c.reason);
    }
}

TEST(GatewayVerdict, SessionsDoNotHideStarting) {
    auto in = with_sessions(with_modem(ModemState::connected), {{"lab", SessionState::connected}});
    in.modem_known = false;
    EXPECT_EQ(evaluate_gateway(in).state, GatewayState::starting);
    in.modem_known = true;
    in.name_acquired = false;
    EXPECT_EQ(evaluate_gateway(in).state, GatewayState::starting);
}

TEST(GatewayStatusLine, SessionsAreSummarized) {
    auto in = with_modem(ModemState::connected);
    in.modem.access_tech = AccessTech::lte;
    in.modem.ip_address = "10.64.1.2";
    in = with_sessions(in, {{"ali", SessionState::connected}, {"lab", SessionState::connected}});
    EXPECT_EQ(status_line(GatewayState::online, in), "online; modem connected lte 10.64.1.2; cloud 2/2 connected");
    in.sessions[0].state = SessionState::auth_failed;
    EXPECT_EQ(status_line(GatewayState::degraded, in),
              "degraded; modem connected lte 10.64.1.2; cloud 1/2 connected (ali auth-failed)");
    EXPECT_EQ(status_line(GatewayState::online, with_sessions(no_modem(), {{"lab", SessionState::connected}})),
              "online; no modem configured; cloud 1/1 connected");
}

// ---- the data link as the sessions see it ----

ModemStatus modem_at(ModemState state, const char* ip = "") {
    ModemStatus s;
    s.state = state;
    s.ip_address = ip;
    return s;
}

TEST(LinkTracker, ReportsEachEdgeOnce) {
    using Edge = LinkTracker::Edge;
    LinkTracker link;
    EXPECT_FALSE(link.up());
    EXPECT_EQ(link.update(modem_at(ModemState::initializing)), Edge::none);
    EXPECT_EQ(link.update(modem_at(ModemState::searching)), Edge::none);
    EXPECT_EQ(link.update(modem_at(ModemState::connected)), Edge::up);
    EXPECT_TRUE(link.up());
    // The address arrives after the state: not a change.
    EXPECT_EQ(link.update(modem_at(ModemState::connected, "10.64.1.2")), Edge::none);
    EXPECT_EQ(link.update(modem_at(ModemState::connected, "10.64.1.2")), Edge::none);
    EXPECT_EQ(link.update(modem_at(ModemState::connecting)), Edge::down);
    EXPECT_FALSE(link.up());
    EXPECT_EQ(link.update(modem_at(ModemState::resetting)), Edge::none);
    EXPECT_EQ(link.update(modem_at(ModemState::failed)), Edge::none);
    // Back with another address after a real drop: a plain up.
    EXPECT_EQ(link.update(modem_at(ModemState::connected, "10.64.9.9")), Edge::up);
}

TEST(LinkTracker, NewAddressWhileConnectedIsABounce) {
    using Edge = LinkTracker::Edge;
    LinkTracker link;
    EXPECT_EQ(link.update(modem_at(ModemState::connected, "10.64.1.2")), Edge::up);
    EXPECT_EQ(link.update(modem_at(ModemState::connected, "10.64.7.7")), Edge::bounce);
    EXPECT_TRUE(link.up());
    EXPECT_EQ(link.update(modem_at(ModemState::connected, "10.64.7.7")), Edge::none);
    // An address that goes blank for a moment is not a new data call.
    EXPECT_EQ(link.update(modem_at(ModemState::connected, "")), Edge::none);
    EXPECT_EQ(link.update(modem_at(ModemState::connected, "10.64.7.7")), Edge::none);
}

}  // namespace
}  // namespace cellgate
