// The gateway's glue between the modem and the host side of the data path (net::DataLink): the
// data call drives the link (up: start or the modem's settings, a new address: redial, down:
// stop), the link's own state decides when the cloud sessions may use it, and a link that stays
// broken becomes a rung on the modem's recovery ladder. It also keeps what D-Bus shows of it
// (interface, address, DNS, counters).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/lifetime.hpp"
#include "base/loop.hpp"
#include "daemon/gateway_state.hpp"
#include "daemon/pinned_mqtt.hpp"
#include "modem/modem_config.hpp"
#include "modem/modem_status.hpp"
#include "modem/vendor.hpp"

namespace cellgate {

namespace net { class DataLink; }

class DataPath {
public:
    struct Callbacks {
        // The sessions' path: up with the address they go out from (a new address is a bounce),
        // or down.
        std::function<void(bool up, const std::string& address)> path;
        // The link stays broken while the data call is up: the modem should act.
        std::function<void(const std::string& why, bool permanent)> failed;
        // status() changed.
        std::function<void()> changed;
    };

    DataPath(Scheduler& loop, const modem::ModemConfig& config, Callbacks callbacks);
    ~DataPath();
    DataPath(const DataPath&) = delete;
    DataPath& operator=(const DataPath&) = delete;

    // Every modem status: connected with an address runs the link, anything else stops it.
    void on_modem(const modem::ModemStatus& status);

    const modem::DataPathStatus& status() const { return status_; }
    // For the pinned sessions; nullopt while there is nothing to pin to.
    std::optional<PinnedPath> pinned() const;
    // The netdev kind on `port`, as the modem's dial asks it.
    modem::NetdevKind netdev_kind(const std::string& port) const;

    // The udhcpc hook the package installs; CELLGATE_UDHCPC_HOOK overrides it (tests).
    static std::string hook_path();

private:
    void link_up(const std::string& address);
    void link_down(const std::string& why);
    void refresh();
    void read_counters();

    Scheduler& loop_;
    modem::ModemConfig config_;
    Callbacks cb_;
    std::unique_ptr<net::DataLink> link_;
    std::string port_;         // the AT port the link was made for
    LinkTracker call_;         // the modem's data call
    bool call_up_ = false;
    std::string call_address_;
    modem::ContextSettings context_;
    bool up_ = false;          // what the sessions were told
    std::string address_;
    modem::DataPathStatus status_;
    std::unique_ptr<Timer> escalate_timer_;
    std::unique_ptr<Timer> counters_timer_;
    Lifetime life_;
};

}  // namespace cellgate
