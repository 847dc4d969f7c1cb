// Link and IPv4 address changes as they happen: carrier, up/down, interfaces that appear and go,
// addresses added and removed. Subscribes first, then reads the current state, so nothing that
// happens in between is missed; after a receive overrun it reads the state again.
#pragma once

#include <functional>
#include <memory>

#include "base/lifetime.hpp"
#include "base/loop.hpp"
#include "net/rtnl.hpp"
#include "net/rtnl_msg.hpp"

namespace cellgate::net {

class LinkMonitor {
public:
    struct Callbacks {
        std::function<void(const LinkEvent&)> link;
        std::function<void(const AddressEvent&)> address;
        // The current state has been reported in full (after the start and after an overrun).
        std::function<void()> synced;
    };

    // Throws std::system_error when netlink is unavailable.
    LinkMonitor(Scheduler& loop, Callbacks callbacks);

private:
    void deliver(const nlmsghdr* nlh);
    void resync();

    Callbacks cb_;
    Rtnl rtnl_;
    bool syncing_ = false;
    bool again_ = false;
    Lifetime life_;
};

}  // namespace cellgate::net
