// The DHCP lease as udhcpc's hook reports it, and udhcpc's command line. Pure, table-tested.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/ipv4.hpp"

namespace cellgate::net {

struct DhcpLease {
    Ipv4 address;
    uint8_t prefix = 32;
    std::optional<Ipv4> router;  // the first router the server named
    std::vector<Ipv4> dns;
    std::optional<uint32_t> mtu;  // option 26, when the server sent one
    uint32_t lease_seconds = 0;
    std::optional<Ipv4> server;
    friend bool operator==(const DhcpLease&, const DhcpLease&) = default;
};

enum class DhcpEvent { deconfig, bound, renew, leasefail, nak };
const char* to_string(DhcpEvent e);

struct HookReport {
    DhcpEvent event = DhcpEvent::deconfig;
    std::optional<DhcpLease> lease;  // bound and renew only
};

// One line of the hook's output ("cellgate-dhcp\tevent=bound\tip=..."). nullopt with `error`
// empty for a line that is not a report (udhcpc or a shell may print other things), with
// `error` set for a report that cannot be used (a bound lease without a valid address).
std::optional<HookReport> parse_hook_line(std::string_view line, std::string& error);

struct UdhcpcOptions {
    std::string interface;
    std::string hook;                 // the shipped udhcpc-hook script
    std::string program = "busybox";  // busybox's udhcpc applet; a test puts a fake here
    int discover_tries = 3;           // -t: DISCOVERs per round
    std::chrono::seconds discover_pause{3};  // -T: between DISCOVERs, and between renewal retries
    std::chrono::seconds round_pause{5};     // -A: after a round without a lease
};

// "busybox udhcpc -f -i usb0 -s <hook> -O mtu -B -R -t 3 -T 3 -A 5"
std::vector<std::string> udhcpc_argv(const UdhcpcOptions& o);

}  // namespace cellgate::net
