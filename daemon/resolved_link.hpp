// Hands the network's DNS servers to systemd-resolved as the cellular link's own servers, where
// resolved runs: tools on the Pi that resolve through it (resolvectl, nss-resolve) can then ask
// the operator's servers over that link. Where it does not run (or refuses), the servers stay
// with cellgated's own resolver, which uses them either way.
//
// The link gets servers but no routing domain and DefaultRoute=false: resolved then sends a
// query to it only when the query names the link (resolvectl query -i) or the other links
// cannot answer, so a cellular failover path never takes over the Pi's name resolution from
// Ethernet or Wi-Fi, and no query for a LAN name leaks to the operator.
//
// resolved checks the caller for these methods (polkit, or CAP_NET_ADMIN): cellgated runs with
// CAP_NET_ADMIN, and its bus policy needs nothing for calls it makes.
#pragma once

#include <memory>
#include <string>
#include <vector>

struct sd_bus;

namespace cellgate {

class ResolvedLink {
public:
    // `bus` is the daemon's system bus connection, attached to the loop; it must outlive this.
    explicit ResolvedLink(sd_bus* bus);
    // Reverts the link it set (the call is queued and flushed when the bus closes).
    ~ResolvedLink();
    ResolvedLink(const ResolvedLink&) = delete;
    ResolvedLink& operator=(const ResolvedLink&) = delete;

    // The data path's interface and DNS servers (dotted quads), at every status change: sets
    // them when they change, reverts the link when the interface or its servers go away.
    // Never blocks: every call is asynchronous on the bus.
    void update(const std::string& interface, const std::vector<std::string>& dns);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace cellgate
