#include "daemon/gateway_state.hpp"

namespace cellgate {

using cloud::SessionState;
using modem::ModemState;

const char* to_string(GatewayState s) {
    switch (s) {
        case GatewayState::starting: return "starting";
        case GatewayState::offline: return "offline";
        case GatewayState::degraded: return "degraded";
        case GatewayState::online: return "online";
    }
    return "unknown";
}

namespace {

struct CloudTally {
    size_t connected = 0;
    size_t total = 0;
    std::string down;  // "ali backoff, lab waiting-link"
};

CloudTally tally(const std::vector<SessionInput>& sessions) {
    CloudTally t;
    t.total = sessions.size();
    for (const auto& s : sessions) {
        if (s.state == SessionState::connected) {
            ++t.connected;
            continue;
        }
        if (!t.down.empty()) t.down += ", ";
        t.down += s.name + " " + to_string(s.state);
    }
    return t;
}

// "cloud 1/2 connected (ali backoff)"
std::string cloud_summary(const CloudTally& t) {
    std::string out = "cloud " + std::to_string(t.connected) + "/" + std::to_string(t.total) + " connected";
    if (!t.down.empty()) out += " (" + t.down + ")";
    return out;
}

}  // namespace

GatewayVerdict evaluate_gateway(const GatewayInputs& in) {
    if (!in.name_acquired) return {GatewayState::starting, "waiting for the bus name"};
    if (in.modem_configured && !in.modem_known) return {GatewayState::starting, "waiting for the modem"};

    // The links: the modem's data call (when there is a modem) and every cloud session.
    size_t links = 0, up = 0;
    std::string reason;
    if (in.modem_configured) {
        ++links;
        if (in.modem.state == ModemState::connected) ++up;
        reason = std::string("modem ") + modem::to_string(in.modem.state);
        if (in.modem.state == ModemState::failed && in.modem.failed_reason != modem::FailedReason::none)
            reason += std::string(": ") + modem::to_string(in.modem.failed_reason);
    }
    const CloudTally cloud = tally(in.sessions);
    links += cloud.total;
    up += cloud.connected;
    if (cloud.total > 0) reason += (reason.empty() ? "" : ", ") + cloud_summary(cloud);

    if (links == 0) return {GatewayState::online, "no modem configured, host network is the uplink"};
    if (up == links) return {GatewayState::online, reason};
    if (up == 0) return {GatewayState::offline, reason};
    return {GatewayState::degraded, reason};
}

std::string status_line(GatewayState state, const GatewayInputs& in) {
    std::string line = to_string(state);
    if (!in.modem_configured) {
        line += "; no modem configured";
    } else if (!in.modem_known) {
        line += "; modem starting";
    } else {
        const auto& m = in.modem;
        line += "; modem ";
        line += modem::to_string(m.state);
        if (m.state == ModemState::failed && m.failed_reason != modem::FailedReason::none)
            line += std::string(" (") + modem::to_string(m.failed_reason) + ")";
        if (m.access_tech != modem::AccessTech::none) line += std::string(" ") + modem::to_string(m.access_tech);
        if (!m.operator_name.empty()) line += " '" + m.operator_name + "'";
        if (!m.ip_address.empty()) line += " " + m.ip_address;
        if (!m.data_path.interface.empty() && !m.data_path.ipv4_address.empty())
            line += " on " + m.data_path.interface + " " + m.data_path.ipv4_address;
        if (m.signal_quality > 0) line += " signal " + std::to_string(m.signal_quality) + "%";
        if (!m.recovery_step.empty()) line += ", recovering: " + m.recovery_step;
    }
    if (!in.sessions.empty()) line += "; " + cloud_summary(tally(in.sessions));
    return line;
}

LinkTracker::Edge LinkTracker::update(const modem::ModemStatus& status) {
    const bool up = status.state == ModemState::connected;
    Edge edge = Edge::none;
    if (up != up_)
        edge = up ? Edge::up : Edge::down;
    else if (up && !address_.empty() && !status.ip_address.empty() && status.ip_address != address_)
        edge = Edge::bounce;
    up_ = up;
    // An address that is only filled in after the state says connected is not a change.
    if (!up) address_.clear();
    else if (!status.ip_address.empty()) address_ = status.ip_address;
    return edge;
}

}  // namespace cellgate
