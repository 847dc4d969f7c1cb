#include "net/rtnl_ops.hpp"

#include <cerrno>

namespace cellgate::net {
namespace {

std::string dev(int ifindex) { return "dev #" + std::to_string(ifindex); }

std::string table(uint32_t t) { return t == kMainTable ? std::string() : " table " + std::to_string(t); }

struct Describe {
    const char* verb;
    std::string operator()(const AddressSpec& a) const {
        std::string s = std::string("address ") + verb + " " + to_string(a.local) + "/" + std::to_string(a.prefix);
        if (a.peer) s += " peer " + to_string(*a.peer);
        s += " " + dev(a.ifindex);
        if (a.valid_seconds) s += " valid_lft " + std::to_string(a.valid_seconds);
        return s;
    }
    std::string operator()(const RouteSpec& r) const {
        std::string s = std::string("route ") + verb + " default";
        if (r.gateway) s += " via " + to_string(*r.gateway);
        s += " " + dev(r.ifindex);
        if (r.source) s += " src " + to_string(*r.source);
        s += " metric " + std::to_string(r.metric) + table(r.table);
        if (r.onlink) s += " onlink";
        return s;
    }
    std::string operator()(const RuleSpec& r) const {
        return std::string("rule ") + verb + " from " + to_string(r.from) + "/" + std::to_string(r.from_prefix) +
               " lookup " + std::to_string(r.table) + " priority " + std::to_string(r.priority);
    }
    std::string operator()(const LinkSpec& l) const {
        std::string s = "link set " + dev(l.ifindex);
        if (l.up) s += *l.up ? " up" : " down";
        if (l.mtu) s += " mtu " + std::to_string(*l.mtu);
        return s;
    }
};

}  // namespace

std::string describe(const RtnlOp& op) {
    return std::visit(Describe{op.kind == OpKind::add ? "add" : "del"}, op.what);
}

std::string describe(const std::vector<RtnlOp>& ops) {
    std::string s;
    for (const auto& op : ops) s += (s.empty() ? "" : "; ") + describe(op);
    return s;
}

bool already_done(const RtnlOp& op, int error) {
    if (std::holds_alternative<LinkSpec>(op.what)) return false;
    if (op.kind == OpKind::add) return error == EEXIST;
    // Routes report ESRCH, addresses EADDRNOTAVAIL, rules ENOENT when there is nothing to remove.
    // ENODEV: the interface went away and took its addresses and routes with it.
    return error == ESRCH || error == ENOENT || error == EADDRNOTAVAIL || error == ENODEV;
}

}  // namespace cellgate::net
