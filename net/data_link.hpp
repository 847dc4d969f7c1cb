// The host side of the module's data path, in one object: finds the module's network interface,
// gets its IPv4 settings (a DHCP lease on ECM/RNDIS/NCM, the modem's own settings on raw-ip),
// installs the address, routes and source rule of the route policy, watches carrier and address,
// and resolves the cloud hosts with the network's DNS servers. The daemon drives it from the
// modem's data call and hands its up/down to the cloud sessions.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/lifetime.hpp"
#include "base/loop.hpp"
#include "net/dhcp_client.hpp"
#include "net/netdev_finder.hpp"
#include "net/route_policy.hpp"

namespace cellgate::net {

class Rtnl;
class LinkMonitor;
class Resolver;
struct LinkEvent;
struct AddressEvent;

enum class DataLinkState {
    stopped,
    searching,    // the interface is not there (yet): a name not present, a module re-enumerating
    acquiring,    // waiting for a lease, for the modem's settings, or for the carrier
    configuring,  // rtnetlink operations in flight
    up,           // address, routes and rule in place, carrier present
    unavailable,  // cannot work as set up (no netdev in this USB mode, no method, no netlink): see reason()
    none,         // no netdev by design (a module on a UART or pty): the module's own stack carries data
};
const char* to_string(DataLinkState s);

struct DataLinkConfig {
    std::string tty;        // the AT port: the netdev is the one on the same USB device
    std::string interface;  // explicit interface name; wins over `tty`
    std::optional<IpMethod> ip_method;  // nullopt = from the driver
    RoutePolicy route;
    DhcpOptions dhcp;       // udhcpc.interface is filled in here
    std::string sysfs_root = "/sys";
    // After someone else removed our address (a flush, a NetworkManager that still manages the
    // link), before putting it back: a pause, so two managers cannot spin against each other.
    milliseconds reapply_delay{1000};
    milliseconds retry{5000};  // after the kernel refused a change
};

// What the modem reports for its context (AT+CGCONTRDP), for the static method.
struct StaticConfig {
    Ipv4 address;
    uint8_t prefix = 32;
    std::optional<Ipv4> gateway;
    std::vector<Ipv4> dns;
    std::optional<uint32_t> mtu;
    friend bool operator==(const StaticConfig&, const StaticConfig&) = default;
};

struct LinkInfo {
    std::string interface;  // "" with IpMethod::none
    LinkKind kind = LinkKind::unknown;
    IpMethod method = IpMethod::none;
    std::optional<LinkConfig> config;  // what is installed; nullopt with IpMethod::none
    std::vector<Ipv4> dns;
    friend bool operator==(const LinkInfo&, const LinkInfo&) = default;
};

class DataLink {
public:
    struct Callbacks {
        // The path works; again with the new settings when the address or DNS changed under it.
        std::function<void(const LinkInfo&)> up;
        // It stopped working (carrier, address, lease, interface lost), or cannot work at all
        // (state() unavailable). Not called by stop().
        std::function<void(const std::string& reason)> down;
    };

    DataLink(Scheduler& loop, DataLinkConfig config, Callbacks callbacks);
    // Undoes what it installed (best effort, without waiting) and kills udhcpc.
    ~DataLink();
    DataLink(const DataLink&) = delete;
    DataLink& operator=(const DataLink&) = delete;

    // The data call is up: find the interface and configure it. A no-op unless stopped.
    void start();
    // The modem's settings for the static method (ignored with DHCP, which has its lease).
    void set_static(const StaticConfig& s);
    // The data call was made again: renew the lease (the module may have a new PDP address
    // behind the same link). A redial is not a restart: what works stays.
    void redial();
    // The data call is down: remove what was installed and stop udhcpc.
    void stop();

    DataLinkState state() const { return state_; }
    const std::string& reason() const { return reason_; }  // why the last change happened
    // The interface and method chosen by start(); "" and nullopt before.
    const std::string& interface() const { return name_; }
    std::optional<IpMethod> method() const { return method_; }
    // While up.
    const std::optional<LinkInfo>& info() const { return info_; }
    // While up with DNS servers: resolves with them, from the link's address. nullptr otherwise.
    Resolver* resolver() const { return resolver_.get(); }

private:
    void set_state(DataLinkState next, const std::string& reason);
    void unavailable(const std::string& why);
    bool choose_interface();
    void on_link(const LinkEvent& e);
    void on_address(const AddressEvent& e);
    void interface_found(int ifindex);
    void interface_gone(const std::string& why);
    void start_dhcp();
    void retire_dhcp();
    void want(std::optional<LinkConfig> config, std::vector<Ipv4> dns);
    void reconcile();
    void lose(const std::string& why);
    void become_up();
    std::optional<LinkConfig> from_static() const;

    Scheduler& loop_;
    DataLinkConfig cfg_;
    Callbacks cb_;
    DataLinkState state_ = DataLinkState::stopped;
    std::string reason_;

    std::string name_;
    LinkKind kind_ = LinkKind::unknown;
    std::optional<IpMethod> method_;
    int ifindex_ = 0;
    bool carrier_ = false;
    bool point_to_point_ = false;  // no link layer (raw-ip, TUN, PPP): routes name the device

    std::optional<StaticConfig> static_;
    std::optional<LinkConfig> desired_, applied_;
    std::vector<Ipv4> dns_;
    bool busy_ = false;
    std::optional<LinkInfo> info_;

    std::unique_ptr<Rtnl> rtnl_;
    std::unique_ptr<LinkMonitor> monitor_;
    std::unique_ptr<DhcpClient> dhcp_;
    std::vector<std::unique_ptr<DhcpClient>> retired_;  // stopping: udhcpc releases its lease
    std::unique_ptr<Resolver> resolver_;
    std::unique_ptr<Timer> retry_timer_;
    Lifetime life_;
};

}  // namespace cellgate::net
