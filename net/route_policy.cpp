#include "net/route_policy.hpp"

#include <algorithm>

namespace cellgate::net {
namespace {

// The main table's route; none in RouteMode::none.
std::optional<uint32_t> main_metric(const RoutePolicy& p) {
    switch (p.mode) {
        case RouteMode::failover: return std::max(p.failover_metric, 1U);
        case RouteMode::primary: return std::max(p.primary_metric, 1U);
        case RouteMode::none: return std::nullopt;
    }
    return std::nullopt;
}

// The policy table holds only our route; its metric just has to be the same for add and remove.
uint32_t table_metric(const RoutePolicy& p) { return main_metric(p).value_or(std::max(p.failover_metric, 1U)); }

bool routable(const LinkConfig& c) { return c.point_to_point || c.gateway.has_value(); }

RouteSpec route(const LinkConfig& c, uint32_t metric, uint32_t table) {
    RouteSpec r;
    r.ifindex = c.ifindex;
    if (!c.point_to_point) {
        r.gateway = c.gateway;
        // A modem may hand out a /32 with a gateway outside it.
        r.onlink = c.gateway && !in_subnet(*c.gateway, c.address, c.prefix);
    }
    r.metric = metric;
    r.table = table;
    r.source = c.address;
    return r;
}

AddressSpec address(const LinkConfig& c) { return {c.ifindex, c.address, c.prefix, std::nullopt, c.lease_seconds}; }

RuleSpec rule(const RoutePolicy& p, const LinkConfig& c) { return {c.address, 32, p.table, p.rule_priority}; }

}  // namespace

const char* to_string(RouteMode m) {
    switch (m) {
        case RouteMode::failover: return "failover";
        case RouteMode::primary: return "primary";
        case RouteMode::none: return "none";
    }
    return "none";
}

std::optional<RouteMode> route_mode_from_string(std::string_view s) {
    for (auto m : {RouteMode::failover, RouteMode::primary, RouteMode::none})
        if (s == to_string(m)) return m;
    return std::nullopt;
}

std::string validate(const RoutePolicy& p) {
    if (p.failover_metric == 0 || p.primary_metric == 0) return "a route metric of 0 would override every other uplink";
    if (p.table == 0 || (p.table >= 253 && p.table <= 255)) return "table " + std::to_string(p.table) + " is reserved";
    if (p.rule_priority == 0 || p.rule_priority >= 32766) return "rule priority must be between 1 and 32765 (before the main table)";
    return {};
}

LinkConfig link_config(int ifindex, const DhcpLease& lease) {
    LinkConfig c;
    c.ifindex = ifindex;
    c.address = lease.address;
    c.prefix = lease.prefix;
    c.gateway = lease.router;
    c.mtu = lease.mtu;
    c.lease_seconds = lease.lease_seconds;
    return c;
}

std::vector<RtnlOp> plan_up(const RoutePolicy& p, const LinkConfig& c) {
    std::vector<RtnlOp> ops;
    ops.push_back({OpKind::add, LinkSpec{c.ifindex, true, c.mtu}});
    ops.push_back({OpKind::add, address(c)});
    if (!routable(c)) return ops;
    if (auto metric = main_metric(p)) ops.push_back({OpKind::add, route(c, *metric, kMainTable)});
    ops.push_back({OpKind::add, route(c, table_metric(p), p.table)});
    ops.push_back({OpKind::add, rule(p, c)});
    return ops;
}

std::vector<RtnlOp> plan_down(const RoutePolicy& p, const LinkConfig& c) {
    std::vector<RtnlOp> ops;
    if (routable(c)) {
        ops.push_back({OpKind::remove, rule(p, c)});
        ops.push_back({OpKind::remove, route(c, table_metric(p), p.table)});
        if (auto metric = main_metric(p)) ops.push_back({OpKind::remove, route(c, *metric, kMainTable)});
    }
    ops.push_back({OpKind::remove, address(c)});
    return ops;
}

std::vector<RtnlOp> plan_change(const RoutePolicy& p, const LinkConfig& before, const LinkConfig& after) {
    if (before == after) return {};
    LinkConfig renewed = before;
    renewed.lease_seconds = after.lease_seconds;
    if (renewed == after) return {{OpKind::add, address(after)}};
    // Removing the last address flushes the link's routes anyway, and a secondary address could
    // go with the primary: so everything old goes first, then everything new comes.
    auto ops = plan_down(p, before);
    auto up = plan_up(p, after);
    ops.insert(ops.end(), up.begin(), up.end());
    return ops;
}

}  // namespace cellgate::net
