// Where the Pi's traffic goes once the module's link has an address. Pure decisions: the
// rtnetlink operations for a link coming up, going down or changing address, in the order they
// must run; Rtnl carries them out.
//
// In every mode, a policy table holds a default route via the module and a source rule sends
// everything from the cellular address there: sockets bound to that address (the cloud sessions
// that follow the modem) leave through the module even when Ethernet or Wi-Fi has the better
// default route.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/dhcp_lease.hpp"
#include "net/rtnl_ops.hpp"

namespace cellgate::net {

enum class RouteMode {
    failover,  // a default route worse than Ethernet and Wi-Fi: cellular carries traffic when they are gone
    primary,   // a default route better than theirs: cellular carries everything
    none,      // no default route in the main table: only the pinned sessions use cellular
};
const char* to_string(RouteMode m);
std::optional<RouteMode> route_mode_from_string(std::string_view s);

struct RoutePolicy {
    RouteMode mode = RouteMode::failover;
    // NetworkManager's metrics: Ethernet 100, Wi-Fi 600, modem 700.
    uint32_t failover_metric = 700;
    uint32_t primary_metric = 50;
    uint32_t table = 100;
    uint32_t rule_priority = 1000;
};
// "" when usable, else what is wrong. Metric 0 would beat every other uplink regardless of mode
// (what quectel-CM's script does), and tables 0 and 253..255 are the kernel's.
std::string validate(const RoutePolicy& p);

// The IPv4 configuration of the module's link, from a DHCP lease or from the modem.
struct LinkConfig {
    int ifindex = 0;
    Ipv4 address;
    uint8_t prefix = 32;
    std::optional<Ipv4> gateway;
    std::optional<uint32_t> mtu;
    bool point_to_point = false;  // raw-ip (QMI, MBIM) or PPP: routes name the device, no gateway
    uint32_t lease_seconds = 0;   // a DHCP address expires with its lease unless renewed; 0 = never
    friend bool operator==(const LinkConfig&, const LinkConfig&) = default;
};

// A DHCP lease on an ECM-like link (a broadcast link: routes go via the router).
LinkConfig link_config(int ifindex, const DhcpLease& lease);

// Link up (and MTU) first, then the address, the default route(s), the source rule. A broadcast
// link without a gateway gets only its address: a default route would ARP for the whole Internet.
std::vector<RtnlOp> plan_up(const RoutePolicy& p, const LinkConfig& c);
// The reverse, without touching the link itself. Safe to run when some of it is already gone.
std::vector<RtnlOp> plan_down(const RoutePolicy& p, const LinkConfig& c);
// From `before` to `after`: nothing when equal, a lifetime refresh when only the lease was
// renewed, otherwise the old rule, routes and address go and the new ones come.
std::vector<RtnlOp> plan_change(const RoutePolicy& p, const LinkConfig& before, const LinkConfig& after);

}  // namespace cellgate::net
