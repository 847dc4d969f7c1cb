// rtnetlink operations as plain data: what route_policy decides and Rtnl carries out. Nothing here
// touches a socket, so decisions are table-tested and logged before anything changes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "net/ipv4.hpp"

namespace cellgate::net {

inline constexpr uint32_t kMainTable = 254;  // RT_TABLE_MAIN

struct AddressSpec {
    int ifindex = 0;
    Ipv4 local;
    uint8_t prefix = 32;
    std::optional<Ipv4> peer;  // point-to-point peer, when the modem names one
    // Kernel-side lifetime: a DHCP address disappears by itself if nobody renews it (0 = forever).
    uint32_t valid_seconds = 0;
    friend bool operator==(const AddressSpec&, const AddressSpec&) = default;
};

// A default route (0.0.0.0/0) through the link.
struct RouteSpec {
    int ifindex = 0;
    std::optional<Ipv4> gateway;  // none on point-to-point links
    uint32_t metric = 0;
    uint32_t table = kMainTable;
    std::optional<Ipv4> source;   // preferred source address
    bool onlink = false;          // the gateway is outside the address's prefix (a /32 from the modem)
    friend bool operator==(const RouteSpec&, const RouteSpec&) = default;
};

// "from <from>/<prefix> lookup <table> priority <priority>"
struct RuleSpec {
    Ipv4 from;
    uint8_t from_prefix = 32;
    uint32_t table = 0;
    uint32_t priority = 0;
    friend bool operator==(const RuleSpec&, const RuleSpec&) = default;
};

struct LinkSpec {
    int ifindex = 0;
    std::optional<bool> up;
    std::optional<uint32_t> mtu;
    friend bool operator==(const LinkSpec&, const LinkSpec&) = default;
};

enum class OpKind { add, remove };

struct RtnlOp {
    OpKind kind = OpKind::add;
    std::variant<AddressSpec, RouteSpec, RuleSpec, LinkSpec> what;
    friend bool operator==(const RtnlOp&, const RtnlOp&) = default;
};

// One line in `ip` syntax, for logs and test failures: "route add default via 10.0.0.1 dev #3 metric 700".
std::string describe(const RtnlOp& op);
std::string describe(const std::vector<RtnlOp>& ops);

// Errors that mean "already so": a removal of something gone, an addition of what exists.
bool already_done(const RtnlOp& op, int error);

}  // namespace cellgate::net
