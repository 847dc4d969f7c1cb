// Huawei's data-call replies (HUAWEI ME909s AT command interface specification): ^NDISSTATQRY /
// ^NDISSTAT and ^DHCP, in every shape the modules print them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cellgate::modem {

// Per IP family: true = connected, false = not, nullopt = the module said nothing about it.
struct NdisStatus {
    std::optional<bool> ipv4;
    std::optional<bool> ipv6;
};
// "^NDISSTATQRY: 1,,,\"IPV4\",0,,,\"IPV6\"", or one line per family ("^NDISSTATQRY: 1,,,IPV4" then
// "^NDISSTATQRY: 0,,,IPV6"), or "^NDISSTATQry:1" (no type: IPv4). The ^NDISSTAT URC has the same
// layout. Prefixes match in any case; other lines are skipped. nullopt when no group is readable.
std::optional<NdisStatus> parse_ndisstat(const std::vector<std::string>& lines);

// "^DHCP: <addr>,<netmask>,<gateway>,<dhcp server>,<dns1>,<dns2>,<rx rate>,<tx rate>" value: IPv4
// addresses as 32-bit hex, least significant byte first, with or without "0x". nullopt when the
// address is missing, zero or not hex; a zero DNS server is left "".
struct HuaweiDhcp {
    std::string address;
    std::string netmask;
    std::string gateway;
    std::string dns1;
    std::string dns2;
};
std::optional<HuaweiDhcp> parse_huawei_dhcp(std::string_view value);

}  // namespace cellgate::modem
