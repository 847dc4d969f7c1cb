#include "daemon/data_path.hpp"

#include <cstdlib>
#include <fstream>

#include "base/guarded.hpp"
#include "base/log.hpp"
#include "net/data_link.hpp"

namespace cellgate {
namespace {

using modem::ModemState;

// Where the package installs the hook (scripts/package.cmake).
constexpr const char* kHook = "/usr/libexec/cellgate/udhcpc-hook";

net::DataLinkConfig link_config(const modem::ModemConfig& c, const std::string& port) {
    net::DataLinkConfig d;
    d.tty = port;
    d.interface = c.data_path.interface;
    if (c.data_path.ip_method != "auto") d.ip_method = net::ip_method_from_string(c.data_path.ip_method);
    d.route.mode = net::route_mode_from_string(c.data_path.route).value_or(net::RouteMode::failover);
    d.dhcp.udhcpc.hook = DataPath::hook_path();
    // A module whose DHCP server stopped answering is found at the next status poll, not at
    // the end of a lease of hours.
    d.dhcp.probe_interval = c.status_poll;
    return d;
}

// The modem's settings for a raw-ip link; without AT+CGCONTRDP, the CGPADDR address alone.
std::optional<net::StaticConfig> static_config(const modem::ContextSettings& ctx, const std::string& ip) {
    net::StaticConfig s;
    const auto address = net::parse_ipv4(ctx.address.empty() ? ip : ctx.address);
    if (!address) return std::nullopt;
    s.address = *address;
    if (!ctx.address.empty()) {
        s.prefix = ctx.prefix;
        s.gateway = net::parse_ipv4(ctx.gateway);
        for (const auto& d : ctx.dns)
            if (auto a = net::parse_ipv4(d)) s.dns.push_back(*a);
        if (ctx.mtu) s.mtu = ctx.mtu;
    }
    return s;
}

modem::NetdevKind to_modem(net::LinkKind k) {
    switch (k) {
        case net::LinkKind::ecm: return modem::NetdevKind::ecm;
        case net::LinkKind::qmi: return modem::NetdevKind::qmi;
        case net::LinkKind::mbim: return modem::NetdevKind::mbim;
        case net::LinkKind::unknown: break;
    }
    return modem::NetdevKind::unknown;
}

std::optional<uint64_t> read_counter(const std::string& interface, const char* name) {
    std::ifstream in("/sys/class/net/" + interface + "/statistics/" + name);
    uint64_t v = 0;
    if (!(in >> v)) return std::nullopt;
    return v;
}

}  // namespace

std::string DataPath::hook_path() {
    const char* env = std::getenv("CELLGATE_UDHCPC_HOOK");
    return env && *env ? env : kHook;
}

DataPath::DataPath(Scheduler& loop, const modem::ModemConfig& config, Callbacks callbacks)
    : loop_(loop), config_(config), cb_(std::move(callbacks)) {
    escalate_timer_ = loop_.make_timer([this] {
        guarded("data path: escalate", [this] {
            if (call_up_ && !up_ && link_ && cb_.failed) cb_.failed("data link down: " + link_->reason(), false);
        });
    });
    counters_timer_ = loop_.make_timer([this] {
        guarded("data path: counters", [this] { read_counters(); });
        counters_timer_->arm(config_.signal_interval);
    });
    status_.route = config_.data_path.route;
}

DataPath::~DataPath() = default;

void DataPath::on_modem(const modem::ModemStatus& s) {
    auto alive = life_.token();
    const auto edge = call_.update(s);
    if (edge == LinkTracker::Edge::down) {
        call_up_ = false;
        call_address_.clear();
        context_ = {};
        escalate_timer_->cancel();
        if (link_) link_->stop();
        link_down("the data call is down");
        return;
    }
    if (!call_.up()) return;
    const bool new_context = s.context != context_;
    call_up_ = true;
    call_address_ = s.ip_address;
    context_ = s.context;
    if (edge == LinkTracker::Edge::up) {
        if (!link_ || port_ != s.port) {
            link_.reset();
            port_ = s.port;
            link_ = std::make_unique<net::DataLink>(
                loop_, link_config(config_, s.port),
                net::DataLink::Callbacks{[this](const net::LinkInfo& i) {
                                             link_up(i.config ? net::to_string(i.config->address) : call_address_);
                                         },
                                         [this](const std::string& why) { link_down(why); }});
        }
        link_->start();
        if (!alive) return;
    } else if (edge == LinkTracker::Edge::bounce) {
        // A redial, not a restart: the lease is renewed, the modem's settings follow below.
        link_->redial();
        if (link_->state() == net::DataLinkState::none) link_up(call_address_);
        if (!alive) return;
    }
    if ((edge != LinkTracker::Edge::none || new_context) && link_->method() == net::IpMethod::fixed)
        if (auto st = static_config(context_, call_address_)) link_->set_static(*st);
    refresh();
}

void DataPath::link_up(const std::string& address) {
    escalate_timer_->cancel();
    const bool news = !up_ || address != address_;
    up_ = true;
    address_ = address;
    if (!link_->interface().empty() && !counters_timer_->armed()) counters_timer_->arm(config_.signal_interval);
    refresh();
    if (news && cb_.path) cb_.path(true, address);
}

void DataPath::link_down(const std::string& why) {
    auto alive = life_.token();
    const bool was_up = up_;
    up_ = false;
    address_.clear();
    counters_timer_->cancel();
    refresh();
    if (was_up && cb_.path) cb_.path(false, {});
    if (!alive || !call_up_ || !link_) return;
    if (link_->state() == net::DataLinkState::unavailable) {
        // Retrying cannot bring a netdev the USB mode does not have: the modem says why and waits.
        // From the loop: the modem's answer is a status change, and this may run inside one.
        loop_.defer([this, why, alive = life_.token()] {
            if (alive && call_up_ && cb_.failed) cb_.failed(why, true);
        });
    } else if (!escalate_timer_->armed()) {
        // The link mends itself in most cases (a lease renewed, an address put back); one status
        // poll later the data call itself is suspect.
        escalate_timer_->arm(config_.status_poll);
    }
}

std::optional<PinnedPath> DataPath::pinned() const {
    if (!up_ || !link_ || !link_->info() || !link_->info()->config) return std::nullopt;
    return PinnedPath{address_, link_->resolver()};
}

modem::NetdevKind DataPath::netdev_kind(const std::string& port) const {
    std::string error;
    if (!config_.data_path.interface.empty()) {
        const auto n = net::inspect_interface(config_.data_path.interface, "/sys", error);
        return n ? to_modem(n->kind) : modem::NetdevKind::unknown;
    }
    const auto r = net::find_module_netdev(port);
    if (r.outcome == net::FindOutcome::not_usb) return modem::NetdevKind::none;
    return r.netdev ? to_modem(r.netdev->kind) : modem::NetdevKind::unknown;
}

void DataPath::refresh() {
    modem::DataPathStatus next;
    next.route = config_.data_path.route;
    if (link_ && call_up_) {
        next.interface = link_->interface();
        if (link_->method()) next.ip_method = net::to_string(*link_->method());
        if (const auto& info = link_->info(); info && info->config) {
            const auto& c = *info->config;
            next.ipv4_address = net::to_string(c.address) + "/" + std::to_string(c.prefix);
            if (c.gateway) next.ipv4_gateway = net::to_string(*c.gateway);
            for (const auto& d : info->dns) next.dns.push_back(net::to_string(d));
            if (c.mtu) next.mtu = *c.mtu;
        }
        next.rx_bytes = status_.rx_bytes;
        next.tx_bytes = status_.tx_bytes;
    }
    if (next == status_) return;
    status_ = std::move(next);
    if (cb_.changed) cb_.changed();
}

void DataPath::read_counters() {
    if (!link_ || link_->interface().empty()) return;
    const auto rx = read_counter(link_->interface(), "rx_bytes");
    const auto tx = read_counter(link_->interface(), "tx_bytes");
    if (!rx || !tx || (*rx == status_.rx_bytes && *tx == status_.tx_bytes)) return;
    status_.rx_bytes = *rx;
    status_.tx_bytes = *tx;
    if (cb_.changed) cb_.changed();
}

}  // namespace cellgate
