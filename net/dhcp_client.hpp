// A DHCPv4 client for ECM/RNDIS/NCM links: busybox udhcpc as a supervised child on the loop.
//
// udhcpc (busybox, Debian bookworm) rather than dhcpcd: a foreground process with no state files
// and no configuration of its own, whose hook script receives the lease and may do nothing else
// with it, whereas dhcpcd is a network manager of its own that configures addresses and routes
// and, on Raspberry Pi OS, may already run as a system service. Our hook only reports; the
// caller applies the lease over rtnetlink with the routes and metrics of route_policy.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/lifetime.hpp"
#include "base/loop.hpp"
#include "net/child_process.hpp"
#include "net/dhcp_lease.hpp"

namespace cellgate::net {

enum class DhcpState {
    stopped,
    requesting,  // udhcpc runs and has no lease
    bound,       // a lease is held
    backoff,     // udhcpc died; restarting after a pause
    stopping,    // SIGTERM sent (udhcpc releases the lease), waiting for it to exit
};
const char* to_string(DhcpState s);

struct DhcpOptions {
    UdhcpcOptions udhcpc;
    milliseconds restart_min{1000};  // restart backoff after udhcpc died, doubling up to the max
    milliseconds restart_max{60000};
    milliseconds stop_grace{3000};   // SIGTERM to SIGKILL
    // While bound, ask for a renewal this often (0 = only when the lease says so): a module whose
    // DHCP server stopped answering is then noticed within about 4 x discover_pause, not at the
    // end of a lease of hours.
    milliseconds probe_interval{0};
};

class DhcpClient {
public:
    struct Callbacks {
        // A new lease, or a renewal (compare with the previous one: the address may change).
        std::function<void(const DhcpLease&)> lease;
        // No usable lease any more (deconfig, NAK, udhcpc died while bound), or none to be had
        // (a round of DISCOVERs went unanswered; reported once until the next lease).
        std::function<void(const std::string& reason)> lost;
    };

    DhcpClient(Scheduler& loop, DhcpOptions options, Callbacks callbacks);
    ~DhcpClient();
    DhcpClient(const DhcpClient&) = delete;
    DhcpClient& operator=(const DhcpClient&) = delete;

    void start();
    // `done` runs once udhcpc has exited (at once when it is not running).
    void stop(std::function<void()> done = {});
    // Renew now (after a redial: the module may have a new PDP address behind the same link).
    void renew();

    DhcpState state() const { return state_; }
    const std::optional<DhcpLease>& lease() const { return lease_; }
    int restarts() const { return restarts_; }

private:
    void set_state(DhcpState next, const std::string& reason);
    void spawn();
    void on_line(std::string_view line);
    void on_exit(ExitStatus status);
    void lose(const std::string& reason);

    Scheduler& loop_;
    DhcpOptions opt_;
    Callbacks cb_;
    DhcpState state_ = DhcpState::stopped;
    std::optional<DhcpLease> lease_;
    bool failure_reported_ = false;
    milliseconds backoff_;
    int restarts_ = 0;
    std::unique_ptr<ChildProcess> child_;
    std::unique_ptr<Timer> restart_timer_;
    std::unique_ptr<Timer> probe_timer_;
    std::function<void()> stopped_;
    Lifetime life_;
};

}  // namespace cellgate::net
