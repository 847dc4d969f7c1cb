// The modem's AT channel as the module MQTT clients see it (mqtt/module/module_at.hpp): one port
// per cloud session with `transport: module`, each with its own client index on the module, the
// MQTT URCs fanned out to all of them and kept from the modem, a module restart told to each. A
// reload may replace the modem while sessions live on; with none attached, commands fail "closed".
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "base/loop.hpp"
#include "mqtt/module/module_at.hpp"

namespace cellgate {

namespace modem { class Modem; }

// A port name that is a UART (/dev/ttyAMA0, /dev/ttyS0, /dev/serial0, ...): a module there has no
// network interface of its own, so its sessions default to `transport: module`, and its URCs must
// be routed to the UART. USB ports, ptys and "auto" are not.
bool is_uart_port(std::string_view port);

class ModuleLink {
public:
    explicit ModuleLink(Scheduler& sched);
    ~ModuleLink();
    ModuleLink(const ModuleLink&) = delete;
    ModuleLink& operator=(const ModuleLink&) = delete;

    // nullptr detaches (before the modem goes).
    void attach(modem::Modem* modem);

    struct Port {
        std::unique_ptr<mqtt::ModuleAt> at;
        int index = 0;  // the lowest client index no other live port holds
    };
    Port make_port();

private:
    class LinkPort;
    bool dispatch(const std::string& line);
    void restart(const std::string& why);

    Scheduler& sched_;
    modem::Modem* modem_ = nullptr;
    std::vector<LinkPort*> ports_;
};

}  // namespace cellgate
