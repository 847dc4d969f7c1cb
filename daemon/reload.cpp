#include "daemon/reload.hpp"

#include <algorithm>

#include "daemon/status_publisher.hpp"

namespace cellgate {
namespace {

// config_line only says where an entry was; an edit above it must not look like a change.
template <class T>
T without_line(T entry) {
    entry.config_line = 0;
    return entry;
}

template <class T>
bool same_entries(const std::vector<T>& a, const std::vector<T>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                      [](const T& x, const T& y) { return without_line(x) == without_line(y); });
}

// The local broker settings the bridge's connection uses: the status topic is not one of them.
bridge::LocalBrokerConfig bridge_local(bridge::LocalBrokerConfig local) {
    local.status_topic.clear();
    return local;
}

const cloud::CloudConfig* find_session(const Config& c, const std::string& name) {
    for (const auto& s : c.cloud)
        if (s.name == name) return &s;
    return nullptr;
}

const char* session_word(Change c) {
    switch (c) {
        case Change::unchanged: return "kept";
        case Change::changed: return "replaced";
        case Change::added: return "added";
        case Change::removed: return "removed";
    }
    return "?";
}

}  // namespace

ReloadPlan plan_reload(const Config& running, const Config& next) {
    ReloadPlan plan;
    plan.has_modem = next.modem.has_value();
    if (running.modem && next.modem) plan.modem = *running.modem == *next.modem ? Change::unchanged : Change::changed;
    else if (next.modem) plan.modem = Change::added;
    else if (running.modem) plan.modem = Change::removed;

    const bool uplink_changed = plan.modem == Change::added || plan.modem == Change::removed;
    for (const auto& s : next.cloud) {
        const auto* old = find_session(running, s.name);
        Change c = Change::added;
        if (old) c = !uplink_changed && without_line(*old) == without_line(s) ? Change::unchanged : Change::changed;
        plan.sessions.push_back({s.name, c});
    }
    for (const auto& s : running.cloud)
        if (!find_session(next, s.name)) plan.sessions.push_back({s.name, Change::removed});

    plan.backoff_changed = running.backoff != next.backoff;
    const auto& rb = running.bridge;
    const auto& nb = next.bridge;
    plan.routes_changed = !same_entries(rb.routes, nb.routes);
    plan.downlink_changed = !same_entries(rb.downlink, nb.downlink);
    // Only for sessions in both: an added or removed session has its own word in the summary.
    for (const auto& s : next.cloud) {
        if (!find_session(running, s.name)) continue;
        const auto a = rb.rate_limits.find(s.name);
        const auto b = nb.rate_limits.find(s.name);
        const bool in_a = a != rb.rate_limits.end(), in_b = b != nb.rate_limits.end();
        if (in_a != in_b || (in_a && a->second != b->second)) plan.rate_limits_changed = true;
    }
    plan.local_changed =
        rb.needs_local() != nb.needs_local() || (nb.needs_local() && bridge_local(rb.local) != bridge_local(nb.local));
    plan.status_changed =
        publishes_status(rb) != publishes_status(nb) || (publishes_status(nb) && rb.local != nb.local);
    plan.outbox_changed = rb.outbox_enabled != nb.outbox_enabled || (nb.outbox_enabled && rb.outbox != nb.outbox);
    plan.log_level_changed = running.log_level != next.log_level;
    return plan;
}

Change ReloadPlan::session(const std::string& name) const {
    for (const auto& s : sessions)
        if (s.name == name) return s.change;
    return Change::removed;
}

bool ReloadPlan::sessions_changed() const {
    return std::any_of(sessions.begin(), sessions.end(),
                       [](const SessionChange& s) { return s.change != Change::unchanged; });
}

bool ReloadPlan::rebuild_bridge() const {
    return sessions_changed() || routes_changed || downlink_changed || rate_limits_changed || local_changed;
}

bool ReloadPlan::empty() const {
    return modem == Change::unchanged && !rebuild_bridge() && !status_changed && !backoff_changed &&
           !outbox_changed && !log_level_changed;
}

std::string ReloadPlan::summary() const {
    std::string out;
    switch (modem) {
        case Change::unchanged: out = has_modem ? "modem unchanged" : "no modem"; break;
        case Change::changed: out = "modem restarted"; break;
        case Change::added: out = "modem added"; break;
        case Change::removed: out = "modem removed"; break;
    }
    out += "; cloud:";
    if (sessions.empty()) out += " none";
    for (size_t i = 0; i < sessions.size(); ++i)
        out += (i ? ", " : " ") + sessions[i].name + " " + session_word(sessions[i].change);
    if (routes_changed) out += "; routes changed";
    if (downlink_changed) out += "; downlink changed";
    if (rate_limits_changed) out += "; rate limits changed";
    if (local_changed) out += "; local broker changed";
    if (status_changed) out += "; status on the local broker changed";
    if (backoff_changed) out += "; backoff changed (for new and replaced sessions)";
    if (outbox_changed) out += "; outbox changed (at the next restart)";
    if (log_level_changed) out += "; log_level changed";
    return out;
}

}  // namespace cellgate
