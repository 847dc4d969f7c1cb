#include "daemon/gateway.hpp"

#include <systemd/sd-daemon.h>

#include <random>

#include "cloud/mosquitto_client.hpp"
#include "cloud/session.hpp"
#include "daemon/bus.hpp"
#include "daemon/log.hpp"
#include "daemon/sd_loop.hpp"
#include "modem/modem.hpp"

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

enum class Uplink { up, coming, down };

Uplink modem_uplink(const modem::ModemStatus& m) {
    switch (m.state) {
        case ModemState::connected: return Uplink::up;
        case ModemState::failed:
        case ModemState::absent:
        case ModemState::disabled: return Uplink::down;
        case ModemState::initializing:
        case ModemState::locked:
        case ModemState::searching:
        case ModemState::registered:
        case ModemState::connecting:
        case ModemState::resetting: break;
    }
    return Uplink::coming;
}

}  // namespace

GatewayVerdict evaluate_gateway(const GatewayInputs& in) {
    if (!in.name_acquired) return {GatewayState::starting, "waiting for the bus name"};
    if (in.modem_configured && !in.modem_known) return {GatewayState::starting, "waiting for the modem"};

    Uplink uplink = Uplink::up;
    std::string reason;
    if (in.modem_configured) {
        uplink = modem_uplink(in.modem);
        reason = std::string("modem ") + modem::to_string(in.modem.state);
        if (in.modem.state == ModemState::failed && in.modem.failed_reason != modem::FailedReason::none)
            reason += std::string(": ") + modem::to_string(in.modem.failed_reason);
    }
    const CloudTally cloud = tally(in.sessions);
    if (cloud.total > 0) reason += (reason.empty() ? "" : ", ") + cloud_summary(cloud);

    if (uplink == Uplink::down) return {GatewayState::offline, reason};
    if (cloud.total > 0 && cloud.connected == 0) return {GatewayState::offline, reason};
    if (uplink == Uplink::coming || cloud.connected < cloud.total) return {GatewayState::degraded, reason};
    if (reason.empty()) reason = "no modem configured, host network is the uplink";
    return {GatewayState::online, reason};
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

Gateway::Gateway(const Config& config) : loop_(std::make_unique<SdEventLoop>()) {
    inputs_.modem_configured = config.modem.has_value();

    Bus::Handlers handlers;
    handlers.name_acquired = [this] {
        inputs_.name_acquired = true;
        update();
    };
    handlers.failed = [this](const std::string& reason) {
        log::error("bus: ", reason, "; exiting");
        loop_->exit(1);
    };
    if (config.modem) {
        modem_ = std::make_unique<modem::Modem>(*loop_, *config.modem);
        handlers.reset_modem = [this] { modem_->reset(); };
        modem_->on_change = [this](const modem::ModemStatus& s) { on_modem_change(s); };
    }
    bus_ = std::make_unique<Bus>(*loop_, std::move(handlers));
    // No modem section: the Modem object exists and says "disabled" (the default status).
    bus_->set_modem_status(inputs_.modem);

    // Jitter must differ between gateways that lost the same cell at the same moment.
    std::random_device entropy;
    for (const auto& c : config.cloud) {
        const size_t index = sessions_.size();
        auto session = std::make_unique<cloud::Session>(*loop_, c, config.backoff,
                                                        cloud::make_mosquitto_client(*loop_, c.name),
                                                        config.modem.has_value(), entropy());
        session->on_change = [this, index](const cloud::SessionStatus& s) { on_session_change(index, s); };
        bus_->add_session(c.name, [this, index] { sessions_[index]->reconnect(); });
        bus_->set_session_status(index, session->status());
        inputs_.sessions.push_back({c.name, session->status().state});
        sessions_.push_back(std::move(session));
    }
}

Gateway::~Gateway() {
    // The modem's and sessions' callbacks point into bus_; drop them first whatever the member order.
    modem_.reset();
    sessions_.clear();
    bus_.reset();
}

int Gateway::run() {
    // Sessions first: with a modem they wait for the link, which the modem's first status gives.
    for (auto& s : sessions_) s->start();
    if (modem_) {
        modem_->start();
        // start() publishes the first status through on_change; if it did not, take it now.
        if (!inputs_.modem_known) on_modem_change(modem_->status());
    }
    int r = loop_->run();
    (void)sd_notify(0, "STOPPING=1");
    if (r < 0) {
        log::error("loop: failed: ", -r);
        return 1;
    }
    return r;
}

void Gateway::on_modem_change(const modem::ModemStatus& status) {
    inputs_.modem_known = true;
    inputs_.modem = status;
    bus_->set_modem_status(status);

    switch (link_.update(status)) {
        case LinkTracker::Edge::none: break;
        case LinkTracker::Edge::up:
            for (auto& s : sessions_) s->link_changed(true);
            break;
        case LinkTracker::Edge::down:
            for (auto& s : sessions_) s->link_changed(false);
            break;
        case LinkTracker::Edge::bounce:
            if (!sessions_.empty()) log::info("gateway: data link address changed, reconnecting cloud sessions");
            for (auto& s : sessions_) {
                s->link_changed(false);
                s->link_changed(true);
            }
            break;
    }
    update();
}

void Gateway::on_session_change(size_t index, const cloud::SessionStatus& status) {
    inputs_.sessions[index].state = status.state;
    bus_->set_session_status(index, status);
    update();
}

void Gateway::update() {
    auto verdict = evaluate_gateway(inputs_);
    if (verdict.state != state_) {
        log::notice("gateway: ", to_string(state_), " -> ", to_string(verdict.state), " (", verdict.reason, ")");
        state_ = verdict.state;
        bus_->set_gateway_state(to_string(state_));
    }

    std::string status = status_line(state_, inputs_);
    std::string message;
    if (!ready_sent_ && inputs_.name_acquired) {
        // READY=1 only once the name is ours: systemd's BusName= ordering and our clients both
        // assume the service is reachable when the unit is "started".
        message = "READY=1\n";
        ready_sent_ = true;
    }
    if (status != last_status_ || !message.empty()) {
        message += "STATUS=" + status;
        last_status_ = status;
        int r = sd_notify(0, message.c_str());
        if (r < 0) log::debug("sd_notify failed: ", -r);
    }
}

}  // namespace cellgate
