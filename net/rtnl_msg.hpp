// rtnetlink messages built and parsed with libmnl. Pure: bytes in, bytes out, no socket.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "net/ipv4.hpp"
#include "net/rtnl_ops.hpp"

struct nlmsghdr;

namespace cellgate::net {

// Routes we install carry this protocol (as `ip route` shows "proto static"): an operator's own
// routes are never ours to remove, and ours are told apart from the kernel's and DHCP daemons'.
inline constexpr uint8_t kRouteProtocol = 4;  // RTPROT_STATIC

// The request for `op`, asking for an ACK, with sequence number `seq`.
std::vector<uint8_t> build_request(const RtnlOp& op, uint32_t seq);
// A dump request: RTM_GETLINK (every link) or RTM_GETADDR (every IPv4 address).
std::vector<uint8_t> build_link_dump(uint32_t seq);
std::vector<uint8_t> build_address_dump(uint32_t seq);

struct LinkEvent {
    int ifindex = 0;
    std::string name;
    bool removed = false;  // RTM_DELLINK
    bool up = false;       // IFF_UP: administratively up
    bool carrier = false;  // IFF_LOWER_UP: the driver reports a carrier
    uint32_t mtu = 0;
    uint16_t arp_type = 0;  // ARPHRD_*: 65534 (none) on raw-ip links and TUN, 512 on PPP
};

struct AddressEvent {
    int ifindex = 0;
    Ipv4 local;
    uint8_t prefix = 0;
    bool removed = false;  // RTM_DELADDR
};

// nullopt for other message types or malformed ones.
std::optional<LinkEvent> parse_link(const nlmsghdr* nlh);
std::optional<AddressEvent> parse_address(const nlmsghdr* nlh);

}  // namespace cellgate::net
