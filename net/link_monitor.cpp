#include "net/link_monitor.hpp"

#include <linux/rtnetlink.h>

#include "base/log.hpp"

namespace cellgate::net {

LinkMonitor::LinkMonitor(Scheduler& loop, Callbacks callbacks)
    : cb_(std::move(callbacks)), rtnl_(loop, RTMGRP_LINK | RTMGRP_IPV4_IFADDR) {
    rtnl_.on_event([this](const nlmsghdr* nlh) { deliver(nlh); }, [this] { resync(); });
    resync();
}

void LinkMonitor::deliver(const nlmsghdr* nlh) {
    if (auto l = parse_link(nlh)) {
        if (cb_.link) cb_.link(*l);
    } else if (auto a = parse_address(nlh)) {
        if (cb_.address) cb_.address(*a);
    }
}

void LinkMonitor::resync() {
    // One dump at a time per socket (the kernel answers EBUSY otherwise); an overrun during a
    // dump asks for another round once this one ends.
    if (syncing_) {
        again_ = true;
        return;
    }
    syncing_ = true;
    again_ = false;
    auto each = [this](const nlmsghdr* nlh) { deliver(nlh); };
    rtnl_.dump(build_link_dump(rtnl_.next_seq()), each, [this, each, alive = life_.token()](int error) {
        if (!alive) return;
        if (error) log::warning("link monitor: link dump: ", std::generic_category().message(error));
        rtnl_.dump(build_address_dump(rtnl_.next_seq()), each, [this, alive](int err) {
            if (!alive) return;
            if (err) log::warning("link monitor: address dump: ", std::generic_category().message(err));
            syncing_ = false;
            if (again_) return resync();
            if (cb_.synced) cb_.synced();
        });
    });
}

}  // namespace cellgate::net
