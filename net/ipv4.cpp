#include "net/ipv4.hpp"

#include <arpa/inet.h>

namespace cellgate::net {

Ipv4 Ipv4::from_host(uint32_t host_order) { return Ipv4{htonl(host_order)}; }

uint32_t Ipv4::host() const { return ntohl(be); }

std::optional<Ipv4> parse_ipv4(std::string_view text) {
    // inet_pton accepts exactly four decimal octets and nothing else (no octal, no short forms).
    if (text.size() > 15) return std::nullopt;
    const std::string s(text);
    in_addr a{};
    if (::inet_pton(AF_INET, s.c_str(), &a) != 1) return std::nullopt;
    return Ipv4{a.s_addr};
}

std::string to_string(Ipv4 a) {
    char buf[INET_ADDRSTRLEN];
    in_addr in{};
    in.s_addr = a.be;
    ::inet_ntop(AF_INET, &in, buf, sizeof buf);
    return buf;
}

std::optional<uint8_t> prefix_from_netmask(Ipv4 mask) {
    const uint32_t m = mask.host();
    uint8_t len = 0;
    while (len < 32 && (m & (0x80000000U >> len)) != 0) ++len;
    if (netmask(len).host() != m) return std::nullopt;
    return len;
}

Ipv4 netmask(uint8_t prefix) {
    if (prefix == 0) return Ipv4{};
    if (prefix >= 32) return Ipv4::from_host(0xffffffffU);
    return Ipv4::from_host(~((1U << (32 - prefix)) - 1U));
}

bool in_subnet(Ipv4 a, Ipv4 net, uint8_t prefix) {
    const uint32_t m = netmask(prefix).host();
    return (a.host() & m) == (net.host() & m);
}

}  // namespace cellgate::net
