#include "modem/huawei_replies.hpp"

#include <cstdint>
#include <cstdio>

#include "modem/at_replies.hpp"

namespace cellgate::modem {
namespace {

char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

// The value after `prefix`, matched in any case ("^NDISSTATQry:1"), or nullopt.
std::optional<std::string_view> value_after(std::string_view line, std::string_view prefix) {
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.size() < prefix.size()) return std::nullopt;
    for (std::size_t i = 0; i < prefix.size(); ++i)
        if (upper(line[i]) != prefix[i]) return std::nullopt;
    return line.substr(prefix.size());
}

std::string upper_copy(std::string_view s) {
    std::string out;
    for (const char c : s) out.push_back(upper(c));
    return out;
}

std::optional<uint32_t> hex32(std::string_view s) {
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2);
    if (s.empty() || s.size() > 8) return std::nullopt;
    uint32_t v = 0;
    for (const char c : s) {
        const char u = upper(c);
        const int d = (u >= '0' && u <= '9') ? u - '0' : (u >= 'A' && u <= 'F') ? u - 'A' + 10 : -1;
        if (d < 0) return std::nullopt;
        v = (v << 4) | static_cast<uint32_t>(d);
    }
    return v;
}

std::string dotted_lsb_first(uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", v & 0xffu, (v >> 8) & 0xffu, (v >> 16) & 0xffu, v >> 24);
    return buf;
}

}  // namespace

std::optional<NdisStatus> parse_ndisstat(const std::vector<std::string>& lines) {
    NdisStatus st;
    bool any = false;
    for (const auto& line : lines) {
        auto v = value_after(line, "^NDISSTATQRY:");
        if (!v) v = value_after(line, "^NDISSTAT:");
        if (!v) continue;
        // Groups of "<stat>,<err>,<wx_state>,<PDP type>".
        const auto f = split_fields(*v);
        for (std::size_t i = 0; i < f.size(); i += 4) {
            const auto stat = parse_int(f[i]);
            if (!stat) continue;
            const std::string type = i + 3 < f.size() ? upper_copy(f[i + 3]) : "";
            if (!type.empty() && type != "IPV4" && type != "IPV6") continue;
            (type == "IPV6" ? st.ipv6 : st.ipv4) = *stat == 1;
            any = true;
        }
    }
    if (!any) return std::nullopt;
    return st;
}

std::optional<HuaweiDhcp> parse_huawei_dhcp(std::string_view value) {
    const auto f = split_fields(value);
    const auto addr = f.empty() ? std::nullopt : hex32(f[0]);
    if (!addr || *addr == 0) return std::nullopt;
    HuaweiDhcp d;
    d.address = dotted_lsb_first(*addr);
    auto field = [&](std::size_t i) -> std::string {
        const auto v = i < f.size() ? hex32(f[i]) : std::nullopt;
        return v && *v != 0 ? dotted_lsb_first(*v) : std::string();
    };
    d.netmask = field(1);
    d.gateway = field(2);
    d.dns1 = field(4);
    d.dns2 = field(5);
    return d;
}

}  // namespace cellgate::modem
