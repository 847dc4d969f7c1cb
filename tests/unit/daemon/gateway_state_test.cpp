// The gateway verdict (modem and cloud sessions), the systemd STATUS= line and the data-link
// edges fed to the sessions.
#include "daemon/gateway_state.hpp"

#include <gtest/gtest.h>

#include <optional>
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

TEST(GatewayVerdict, AModemAloneIsOnlineOnlyWithItsDataCall) {
    // The modem is the only link: anything short of a data call means nothing reaches out.
    const ModemState states[] = {ModemState::connected, ModemState::failed,     ModemState::absent,
                                 ModemState::disabled,  ModemState::initializing, ModemState::locked,
                                 ModemState::searching, ModemState::registered, ModemState::connecting,
                                 ModemState::resetting};
    for (const auto state : states)
        EXPECT_EQ(evaluate_gateway(with_modem(state)).state,
                  state == ModemState::connected ? GatewayState::online : GatewayState::offline)
            << modem::to_string(state);
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

// The rule as the README states it: the links are the modem's data call (when a modem is
// configured) and every cloud session; online when all are up, offline when none is, degraded
// in between.
TEST(GatewayVerdict, TheLinksCountedAsTheReadmeSays) {
    using enum SessionState;
    constexpr auto no = std::optional<ModemState>{};
    struct Case {
        std::optional<ModemState> modem;  // nullopt: no modem section
        std::vector<SessionState> sessions;
        GatewayState expected;
        const char* reason;
    };
    const Case cases[] = {
        // modem        sessions                  state                   StateReason
        {no, {}, GatewayState::online, "no modem configured, host network is the uplink"},
        {no, {connected, connected}, GatewayState::online, "cloud 2/2 connected"},
        {no, {connected, backoff}, GatewayState::degraded, "cloud 1/2 connected (s1 backoff)"},
        {no, {auth_failed, connecting}, GatewayState::offline,
         "cloud 0/2 connected (s0 auth-failed, s1 connecting)"},
        {ModemState::connected, {}, GatewayState::online, "modem connected"},
        {ModemState::searching, {}, GatewayState::offline, "modem searching"},
        {ModemState::connected, {connected, connected}, GatewayState::online,
         "modem connected, cloud 2/2 connected"},
        {ModemState::connected, {connected, backoff}, GatewayState::degraded,
         "modem connected, cloud 1/2 connected (s1 backoff)"},
        // The uplink is there, the cloud is not: some links are up.
        {ModemState::connected, {backoff}, GatewayState::degraded, "modem connected, cloud 0/1 connected (s0 backoff)"},
        {ModemState::connected, {connecting, connecting}, GatewayState::degraded,
         "modem connected, cloud 0/2 connected (s0 connecting, s1 connecting)"},
        // The link is being rebuilt: the sessions wait for it, nothing reaches the cloud.
        {ModemState::searching, {waiting_link}, GatewayState::offline,
         "modem searching, cloud 0/1 connected (s0 waiting-link)"},
        // The modem says it is reconnecting while a session still holds (its socket has not noticed yet).
        {ModemState::connecting, {connected}, GatewayState::degraded, "modem connecting, cloud 1/1 connected"},
        {ModemState::failed, {waiting_link}, GatewayState::offline, "modem failed, cloud 0/1 connected (s0 waiting-link)"},
        {ModemState::absent, {waiting_link, waiting_link}, GatewayState::offline,
         "modem absent, cloud 0/2 connected (s0 waiting-link, s1 waiting-link)"},
    };
    for (const auto& c : cases) {
        GatewayInputs in = c.modem ? with_modem(*c.modem) : no_modem();
        for (size_t i = 0; i < c.sessions.size(); ++i) in.sessions.push_back({"s" + std::to_string(i), c.sessions[i]});
        const auto v = evaluate_gateway(in);
        EXPECT_EQ(v.state, c.expected) << c.reason;
        EXPECT_EQ(v.reason, c.reason);
    }
}

TEST(GatewayVerdict, EverySessionStateOfALoneSession) {
    for (const auto session : {SessionState::idle, SessionState::waiting_link, SessionState::connecting,
                               SessionState::connected, SessionState::backoff, SessionState::auth_failed}) {
        const bool up = session == SessionState::connected;
        // Without a modem the session is the only link.
        EXPECT_EQ(evaluate_gateway(with_sessions(no_modem(), {{"lab", session}})).state,
                  up ? GatewayState::online : GatewayState::offline)
            << cloud::to_string(session);
        // Beside a connected modem it can only take the gateway down to degraded.
        EXPECT_EQ(evaluate_gateway(with_sessions(with_modem(ModemState::connected), {{"lab", session}})).state,
                  up ? GatewayState::online : GatewayState::degraded)
            << cloud::to_string(session);
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
