// The daemon's root object: owns the event loop, the D-Bus adapter and the modem, derives the
// gateway State from them and reports it to systemd (READY=1, STATUS=) and the journal.
#pragma once

#include <memory>
#include <string>

#include "daemon/config.hpp"
#include "modem/modem_status.hpp"

namespace cellgate {

class Bus;
class SdEventLoop;
namespace modem { class Modem; }

enum class GatewayState { starting, offline, degraded, online };
const char* to_string(GatewayState s);

struct GatewayInputs {
    bool name_acquired = false;         // the bus name is ours
    bool modem_configured = false;      // config has a modem: section
    bool modem_known = false;           // the modem reported its first status
    modem::ModemStatus modem;
};

struct GatewayVerdict {
    GatewayState state;
    std::string reason;  // short, for the "gateway: old -> new (reason)" log line
};

// Without a modem the host network is the uplink, so the gateway is online as soon as it is
// reachable on the bus. With one: connected -> online; failed, absent or disabled -> offline;
// any step in between (initializing, searching, connecting, resetting...) -> degraded.
GatewayVerdict evaluate_gateway(const GatewayInputs& in);

// One line for systemctl status, e.g. "online; modem connected lte 'CMCC' 10.64.1.2 signal 67%".
std::string status_line(GatewayState state, const GatewayInputs& in);

class Gateway {
public:
    // Builds everything and connects to the bus; the modem starts in run().
    // Throws std::system_error (loop or bus) or whatever the modem constructor throws.
    explicit Gateway(const Config& config);
    ~Gateway();
    Gateway(const Gateway&) = delete;
    Gateway& operator=(const Gateway&) = delete;

    // Runs the loop until SIGTERM/SIGINT (returns 0) or a fatal bus failure (returns 1).
    int run();

private:
    void on_modem_change(const modem::ModemStatus& status);
    void update();

    GatewayInputs inputs_;
    GatewayState state_ = GatewayState::starting;
    std::string last_status_;
    bool ready_sent_ = false;

    // Destroyed bottom-up: the modem and bus drop their sources before the loop goes.
    std::unique_ptr<SdEventLoop> loop_;
    std::unique_ptr<Bus> bus_;
    std::unique_ptr<modem::Modem> modem_;
};

}  // namespace cellgate
