#include "net/data_link.hpp"

#include <libmnl/libmnl.h>
#include <net/if_arp.h>
#include <linux/netlink.h>
#include <net/if.h>

#include <algorithm>
#include <system_error>

#include "base/guarded.hpp"
#include "base/log.hpp"
#include "net/dns.hpp"
#include "net/link_monitor.hpp"
#include "net/rtnl.hpp"
#include "net/rtnl_msg.hpp"

namespace cellgate::net {
namespace {

// Fire-and-forget removal for the destructor, where the loop may be gone: rtnetlink carries out
// a request inside sendto(), so nothing needs to be read back.
void remove_now(const std::vector<RtnlOp>& ops) {
    mnl_socket* nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
    if (!nl) return;
    if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) == 0) {
        uint32_t seq = 1;
        for (const auto& op : ops) {
            const auto req = build_request(op, seq++);
            (void)mnl_socket_sendto(nl, req.data(), req.size());
        }
    }
    mnl_socket_close(nl);
}

std::string address_text(const LinkConfig& c) { return to_string(c.address) + "/" + std::to_string(c.prefix); }

}  // namespace

const char* to_string(DataLinkState s) {
    switch (s) {
        case DataLinkState::stopped: return "stopped";
        case DataLinkState::searching: return "searching";
        case DataLinkState::acquiring: return "acquiring";
        case DataLinkState::configuring: return "configuring";
        case DataLinkState::up: return "up";
        case DataLinkState::unavailable: return "unavailable";
        case DataLinkState::none: return "none";
    }
    return "stopped";
}

DataLink::DataLink(Scheduler& loop, DataLinkConfig config, Callbacks callbacks)
    : loop_(loop), cfg_(std::move(config)), cb_(std::move(callbacks)) {
    retry_timer_ = loop_.make_timer([this] { guarded("data link: retry", [this] { reconcile(); }); });
}

DataLink::~DataLink() {
    if (applied_) remove_now(plan_down(cfg_.route, *applied_));
}

void DataLink::set_state(DataLinkState next, const std::string& reason) {
    reason_ = reason;
    if (next == state_) return;
    log::info("data link", name_.empty() ? std::string() : " " + name_, ": ", to_string(state_), " -> ",
              to_string(next), " (", reason, ")");
    state_ = next;
}

void DataLink::unavailable(const std::string& why) {
    log::warning("data link: ", why);
    set_state(DataLinkState::unavailable, why);
    if (cb_.down) cb_.down(why);
}

bool DataLink::choose_interface() {
    if (!cfg_.interface.empty()) {
        name_ = cfg_.interface;
        std::string error;
        // sysfs may show another network namespace, or nothing for a virtual link: the driver is
        // only a hint, the name is what counts.
        if (const auto n = inspect_interface(name_, cfg_.sysfs_root, error)) kind_ = n->kind;
        return true;
    }
    if (cfg_.tty.empty()) return false;
    const FindResult r = find_module_netdev(cfg_.tty, cfg_.sysfs_root);
    switch (r.outcome) {
        case FindOutcome::found:
            log::info("data link: ", r.message);
            name_ = r.netdev->name;
            kind_ = r.netdev->kind;
            return true;
        case FindOutcome::not_usb:
            log::info("data link: ", r.message);
            return false;
        case FindOutcome::no_netdev:
        case FindOutcome::error:
            unavailable(r.message);
            return false;
    }
    return false;
}

void DataLink::start() {
    if (state_ != DataLinkState::stopped && state_ != DataLinkState::unavailable) return;
    auto alive = life_.token();
    name_.clear();
    kind_ = LinkKind::unknown;
    method_.reset();
    if (!choose_interface()) {
        if (!alive || state_ == DataLinkState::unavailable) return;
        method_ = IpMethod::none;
        info_ = LinkInfo{};
        set_state(DataLinkState::none, "no network interface: the module's own stack carries the data");
        if (cb_.up) cb_.up(*info_);
        return;
    }
    std::string error;
    method_ = choose_ip_method(kind_, cfg_.ip_method, error);
    if (!method_) return unavailable(name_ + ": " + error);
    if (*method_ == IpMethod::none) {
        info_ = LinkInfo{name_, kind_, IpMethod::none, std::nullopt, {}};
        set_state(DataLinkState::none, "ip_method none: " + name_ + " is left alone");
        if (cb_.up) cb_.up(*info_);
        return;
    }
    try {
        if (!rtnl_) rtnl_ = std::make_unique<Rtnl>(loop_);
        set_state(DataLinkState::searching, std::string("looking for ") + name_ + " (" + to_string(kind_) + ", " +
                                                to_string(*method_) + ")");
        monitor_ = std::make_unique<LinkMonitor>(
            loop_, LinkMonitor::Callbacks{[this](const LinkEvent& e) { guarded("data link: link", [&] { on_link(e); }); },
                                          [this](const AddressEvent& e) {
                                              guarded("data link: address", [&] { on_address(e); });
                                          },
                                          nullptr});
    } catch (const std::system_error& e) {
        unavailable(std::string("rtnetlink: ") + e.what());
    }
}

void DataLink::on_link(const LinkEvent& e) {
    if (e.removed) {
        if (e.ifindex == ifindex_) interface_gone("interface " + name_ + " removed");
        return;
    }
    if (e.name != name_) {
        // Renamed away (udev renames a new netdev right after it appears).
        if (e.ifindex == ifindex_) interface_gone("interface " + name_ + " renamed to " + e.name);
        return;
    }
    if (e.ifindex != ifindex_) {
        if (ifindex_ != 0) interface_gone("interface " + name_ + " replaced");
        point_to_point_ = e.arp_type == ARPHRD_NONE || e.arp_type == ARPHRD_PPP;
        interface_found(e.ifindex);
    }
    const bool had = carrier_;
    carrier_ = e.up && e.carrier;
    if (had && !carrier_) {
        lose("carrier lost on " + name_);
    } else if (!had && carrier_) {
        log::info("data link ", name_, ": carrier");
        // A lease that outlived the outage is checked at once rather than at its next renewal.
        if (dhcp_ && dhcp_->state() == DhcpState::bound) dhcp_->renew();
        reconcile();
    }
}

void DataLink::on_address(const AddressEvent& e) {
    if (!e.removed || e.ifindex != ifindex_ || !applied_ || busy_ || e.local != applied_->address) return;
    // Removing an address flushes the routes through it, and our rule points at nothing now:
    // what is installed is unknown, so it is all put back from scratch.
    const std::string what = address_text(*applied_);
    applied_.reset();
    lose("address " + what + " removed from " + name_);
    if (state_ != DataLinkState::stopped) retry_timer_->arm(cfg_.reapply_delay);
}

void DataLink::interface_found(int ifindex) {
    ifindex_ = ifindex;
    carrier_ = false;
    set_state(DataLinkState::acquiring, name_ + " is interface #" + std::to_string(ifindex));
    // udhcpc needs the link up to send; a raw-ip link comes up with its address.
    rtnl_->send({OpKind::add, LinkSpec{ifindex, true, std::nullopt}}, [this, alive = life_.token()](int error) {
        if (alive && error) log::warning("data link ", name_, ": cannot set it up: ", std::generic_category().message(error));
    });
    if (*method_ == IpMethod::dhcp) start_dhcp();
    else want(from_static(), static_ ? static_->dns : std::vector<Ipv4>{});
}

void DataLink::interface_gone(const std::string& why) {
    ifindex_ = 0;
    carrier_ = false;
    // The kernel took the addresses and routes with the interface, and our rule now matches an
    // address nobody has: it goes when the next configuration replaces it.
    retire_dhcp();
    desired_.reset();
    lose(why);
    if (state_ != DataLinkState::stopped) set_state(DataLinkState::searching, why);
}

void DataLink::start_dhcp() {
    retire_dhcp();
    DhcpOptions o = cfg_.dhcp;
    o.udhcpc.interface = name_;
    dhcp_ = std::make_unique<DhcpClient>(
        loop_, std::move(o),
        DhcpClient::Callbacks{[this](const DhcpLease& l) { want(link_config(ifindex_, l), l.dns); },
                              [this](const std::string& why) {
                                  want(std::nullopt, {});
                                  lose(why);
                              }});
    dhcp_->start();
}

void DataLink::retire_dhcp() {
    if (!dhcp_) return;
    DhcpClient* raw = dhcp_.get();
    retired_.push_back(std::move(dhcp_));
    raw->stop([this, raw, alive = life_.token()] {
        // From inside the client's own callback: it is destroyed from the loop.
        loop_.defer([this, raw, alive] {
            if (!alive) return;
            std::erase_if(retired_, [raw](const auto& p) { return p.get() == raw; });
        });
    });
}

std::optional<LinkConfig> DataLink::from_static() const {
    if (!static_ || ifindex_ == 0) return std::nullopt;
    LinkConfig c;
    c.ifindex = ifindex_;
    c.address = static_->address;
    c.prefix = static_->prefix;
    c.gateway = static_->gateway;
    c.mtu = static_->mtu;
    // Raw-ip (QMI, MBIM) has no link layer to resolve a gateway on: routes name the device.
    // A broadcast link (an ECM module, a veth) still goes via the gateway.
    c.point_to_point = point_to_point_ || kind_ == LinkKind::qmi || kind_ == LinkKind::mbim || !c.gateway;
    return c;
}

void DataLink::set_static(const StaticConfig& s) {
    if (method_ && *method_ != IpMethod::fixed) return;
    static_ = s;
    if (state_ == DataLinkState::stopped || state_ == DataLinkState::unavailable || ifindex_ == 0) return;
    want(from_static(), s.dns);
}

void DataLink::redial() {
    if (dhcp_) dhcp_->renew();
    else reconcile();
}

void DataLink::stop() {
    if (state_ == DataLinkState::stopped) return;
    retry_timer_->cancel();
    retire_dhcp();
    monitor_.reset();
    resolver_.reset();
    info_.reset();
    desired_.reset();
    static_.reset();
    if (applied_ && rtnl_) {
        const auto ops = plan_down(cfg_.route, *applied_);
        log::info("data link ", name_, ": ", describe(ops));
        rtnl_->apply(ops, [name = name_](int error, const std::string& failed) {
            if (error) log::warning("data link ", name, ": ", failed, ": ", std::generic_category().message(error));
        });
    }
    applied_.reset();
    busy_ = false;
    ifindex_ = 0;
    carrier_ = false;
    set_state(DataLinkState::stopped, "stop");
}

void DataLink::want(std::optional<LinkConfig> config, std::vector<Ipv4> dns) {
    desired_ = std::move(config);
    dns_ = std::move(dns);
    reconcile();
}

void DataLink::lose(const std::string& why) {
    const bool was_up = state_ == DataLinkState::up;
    resolver_.reset();
    info_.reset();
    if (state_ == DataLinkState::up || state_ == DataLinkState::configuring) set_state(DataLinkState::acquiring, why);
    if (was_up) {
        log::warning("data link ", name_, ": down: ", why);
        if (cb_.down) cb_.down(why);
    }
}

// Brings what is installed to what is wanted, one rtnetlink sequence at a time.
void DataLink::reconcile() {
    if (busy_ || !rtnl_ || ifindex_ == 0) return;
    if (state_ == DataLinkState::stopped || state_ == DataLinkState::unavailable || state_ == DataLinkState::none) return;
    if (desired_ == applied_) {
        if (applied_ && carrier_) become_up();
        return;
    }
    const auto target = desired_;
    std::vector<RtnlOp> ops = !applied_ ? plan_up(cfg_.route, *target)
                              : !target ? plan_down(cfg_.route, *applied_)
                                        : plan_change(cfg_.route, *applied_, *target);
    if (target && state_ != DataLinkState::up) set_state(DataLinkState::configuring, address_text(*target));
    log::info("data link ", name_, ": ", describe(ops));
    busy_ = true;
    rtnl_->apply(std::move(ops), [this, target, alive = life_.token()](int error, const std::string& failed) {
        if (!alive) return;
        guarded("data link: configured", [&] {
            busy_ = false;
            if (state_ == DataLinkState::stopped) return;
            if (error) {
                // Half done is unknown: the next try starts from nothing, and every step of a
                // plan is harmless to repeat.
                applied_.reset();
                const std::string why = "cannot configure " + name_ + ": " + failed + ": " +
                                        std::generic_category().message(error);
                log::warning("data link: ", why, "; again in ", cfg_.retry.count(), " ms");
                lose(why);
                retry_timer_->arm(cfg_.retry);
                return;
            }
            applied_ = target;
            reconcile();
        });
    });
}

void DataLink::become_up() {
    LinkInfo next{name_, kind_, *method_, applied_, dns_};
    if (state_ == DataLinkState::up && info_ == next) return;
    if (!info_ || info_->dns != next.dns || info_->config->address != next.config->address) {
        resolver_.reset();
        if (!dns_.empty()) {
            try {
                resolver_ = std::make_unique<Resolver>(loop_, Resolver::Options{dns_, 53, applied_->address, milliseconds(3000), 2});
            } catch (const std::exception& e) {
                log::warning("data link ", name_, ": no resolver: ", e.what());
            }
        }
    }
    info_ = next;
    std::string dns;
    for (const auto& d : dns_) dns += (dns.empty() ? "" : " ") + to_string(d);
    set_state(DataLinkState::up, address_text(*applied_) + (applied_->gateway ? " via " + to_string(*applied_->gateway) : "") +
                                     ", DNS " + (dns.empty() ? "none" : dns));
    if (cb_.up) cb_.up(*info_);
}

}  // namespace cellgate::net
