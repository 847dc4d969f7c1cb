#include "net/dhcp_lease.hpp"

#include <charconv>

namespace cellgate::net {
namespace {

constexpr std::string_view kMarker = "cellgate-dhcp";

std::optional<uint32_t> number(std::string_view s) {
    uint32_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

// udhcpc joins list options with spaces; unusable entries are dropped.
std::vector<Ipv4> addresses(std::string_view s) {
    std::vector<Ipv4> out;
    while (!s.empty()) {
        const auto sp = s.find(' ');
        if (auto a = parse_ipv4(s.substr(0, sp))) out.push_back(*a);
        if (sp == std::string_view::npos) break;
        s.remove_prefix(sp + 1);
    }
    return out;
}

std::optional<DhcpEvent> event_from(std::string_view s) {
    for (auto e : {DhcpEvent::deconfig, DhcpEvent::bound, DhcpEvent::renew, DhcpEvent::leasefail, DhcpEvent::nak})
        if (s == to_string(e)) return e;
    return std::nullopt;
}

}  // namespace

const char* to_string(DhcpEvent e) {
    switch (e) {
        case DhcpEvent::deconfig: return "deconfig";
        case DhcpEvent::bound: return "bound";
        case DhcpEvent::renew: return "renew";
        case DhcpEvent::leasefail: return "leasefail";
        case DhcpEvent::nak: return "nak";
    }
    return "deconfig";
}

std::optional<HookReport> parse_hook_line(std::string_view line, std::string& error) {
    error.clear();
    if (!line.starts_with(kMarker)) return std::nullopt;
    std::string_view event, ip, mask, subnet, router, dns, mtu, lease, server;
    const std::pair<std::string_view, std::string_view*> keys[] = {
        {"event", &event}, {"ip", &ip},     {"mask", &mask},   {"subnet", &subnet},  {"router", &router},
        {"dns", &dns},     {"mtu", &mtu},   {"lease", &lease}, {"serverid", &server},
    };
    std::string_view rest = line.substr(kMarker.size());
    while (!rest.empty()) {
        if (rest.front() == '\t') rest.remove_prefix(1);
        const auto tab = rest.find('\t');
        const std::string_view field = rest.substr(0, tab);
        rest = tab == std::string_view::npos ? std::string_view{} : rest.substr(tab);
        const auto eq = field.find('=');
        if (eq == std::string_view::npos) continue;
        for (const auto& [key, value] : keys)
            if (field.substr(0, eq) == key) *value = field.substr(eq + 1);
    }
    const auto e = event_from(event);
    if (!e) {
        error = "unknown DHCP event \"" + std::string(event) + "\"";
        return std::nullopt;
    }
    HookReport r;
    r.event = *e;
    if (*e != DhcpEvent::bound && *e != DhcpEvent::renew) return r;

    DhcpLease l;
    const auto a = parse_ipv4(ip);
    if (!a || a->any()) {
        error = std::string(to_string(*e)) + " without a usable address (\"" + std::string(ip) + "\")";
        return std::nullopt;
    }
    l.address = *a;
    if (const auto m = number(mask); m && *m <= 32) {
        l.prefix = static_cast<uint8_t>(*m);
    } else if (const auto sm = parse_ipv4(subnet); sm && prefix_from_netmask(*sm)) {
        l.prefix = *prefix_from_netmask(*sm);
    } else {
        error = std::string(to_string(*e)) + " without a usable netmask";
        return std::nullopt;
    }
    if (const auto routers = addresses(router); !routers.empty()) l.router = routers.front();
    l.dns = addresses(dns);
    // Below 576 no IPv4 host has to work; a server that sends less is wrong, and the link keeps its MTU.
    if (const auto m = number(mtu); m && *m >= 576 && *m <= 65535) l.mtu = *m;
    l.lease_seconds = number(lease).value_or(0);
    if (const auto s = parse_ipv4(server)) l.server = *s;
    r.lease = l;
    return r;
}

std::vector<std::string> udhcpc_argv(const UdhcpcOptions& o) {
    // -f: stay a child we supervise. -B: ask for broadcast replies, which works before the
    // address is configured on any link. -R: release the lease when stopped, so the module
    // frees it at once.
    return {o.program, "udhcpc", "-f", "-i", o.interface, "-s", o.hook, "-O", "mtu", "-B", "-R",
            "-t", std::to_string(o.discover_tries), "-T", std::to_string(o.discover_pause.count()),
            "-A", std::to_string(o.round_pause.count())};
}

}  // namespace cellgate::net
