// IPv4 addresses as the data path passes them around: network byte order inside, dotted text
// outside (config, D-Bus, the DHCP hook, logs).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cellgate::net {

struct Ipv4 {
    uint32_t be = 0;  // network byte order, as in in_addr.s_addr

    static Ipv4 from_host(uint32_t host_order);
    uint32_t host() const;
    bool any() const { return be == 0; }
    friend bool operator==(Ipv4, Ipv4) = default;
};

// Strict dotted quad ("192.168.225.1"); nullopt for anything else, including a trailing prefix.
std::optional<Ipv4> parse_ipv4(std::string_view text);
std::string to_string(Ipv4 a);

// A contiguous netmask ("255.255.255.0") as a prefix length; nullopt for a non-contiguous mask.
std::optional<uint8_t> prefix_from_netmask(Ipv4 mask);
Ipv4 netmask(uint8_t prefix);

// True when `a` lies in `net`/`prefix`.
bool in_subnet(Ipv4 a, Ipv4 net, uint8_t prefix);

}  // namespace cellgate::net
