// What a SIGHUP changes: the difference between the running config and the one just loaded, worked
// out before anything is touched, so the gateway applies exactly that and logs it in one line.
#pragma once

#include <string>
#include <vector>

#include "daemon/config.hpp"

namespace cellgate {

enum class Change { unchanged, changed, added, removed };

struct SessionChange {
    std::string name;
    Change change = Change::unchanged;
};

struct ReloadPlan {
    // unchanged also when neither config has a modem section.
    Change modem = Change::unchanged;
    bool has_modem = false;  // the new config has one
    // Every session of either config, by name: the new config's in its order, then the removed
    // ones. Where the line of an entry is all that moved, it is unchanged. When the modem section
    // comes or goes, every session is replaced: it was built to follow the modem's data link or
    // the host network, and that is what changed.
    std::vector<SessionChange> sessions;
    // Only sessions built from now on (added, replaced) use it: re-creating a healthy session for
    // it would drop a working connection.
    bool backoff_changed = false;
    bool routes_changed = false;       // routes: (not just their lines)
    bool downlink_changed = false;     // downlink: (likewise)
    bool rate_limits_changed = false;  // some session's rate_limit (or platform default)
    bool local_changed = false;        // local: connection settings, or whether it is needed
    // The retained status on the local broker (status_publisher.hpp): its topic, its connection's
    // settings, or whether it is published. Its own connection: the bridge is not rebuilt for it.
    bool status_changed = false;
    // The outbox is opened once at start; path, limits or whether there is one wait for a restart.
    bool outbox_changed = false;
    bool log_level_changed = false;

    Change session(const std::string& name) const;  // removed for a name in neither config
    bool sessions_changed() const;   // any session not unchanged
    // The bridge holds the sessions, their lanes and the routes: any of them changing rebuilds it.
    bool rebuild_bridge() const;
    bool empty() const;               // the two configs do the same thing

    // "modem unchanged; cloud: lab kept, ali replaced, x added, y removed; routes changed"
    std::string summary() const;
};

ReloadPlan plan_reload(const Config& running, const Config& next);

}  // namespace cellgate
