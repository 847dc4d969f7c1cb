// The modem subsystem as the daemon sees it: owns the AT channel and the bring-up state machine.
#pragma once

#include <functional>
#include <memory>

#include "modem/modem_config.hpp"
#include "base/loop.hpp"
#include "modem/modem_status.hpp"
#include "modem/vendor.hpp"

namespace cellgate::modem {

class AtChannel;

class Modem {
public:
    Modem(Scheduler& sched, const ModemConfig& config);
    ~Modem();
    Modem(const Modem&) = delete;
    Modem& operator=(const Modem&) = delete;

    void start();
    // D-Bus Reset(): reboot the module now (the ladder's last step, on request).
    void reset();
    // The host side of the data path (daemon/, through net/) tells the modem about the module's
    // network interface: which kind it is (chooses the dial) and when the link fails.
    void set_netdev_kind(std::function<NetdevKind(const std::string& port)> f);
    void data_link_failed(const std::string& why, bool permanent);
    const ModemStatus& status() const;
    // Called after every change of status(), from the event loop.
    std::function<void(const ModemStatus&)> on_change;

    // For the module's own MQTT client, which shares the AT channel with the modem (the daemon
    // adapts it): the channel lives as long as this Modem.
    AtChannel& at_channel();
    // Sees every URC first; returning true keeps it from the modem (MQTT traffic it has no use for).
    std::function<bool(const std::string& line)> on_urc_first;
    // The port went away (module reset, USB gone) or the module announced a restart: whatever it
    // held (MQTT sessions included) is gone.
    std::function<void(const std::string& why)> on_module_restart;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace cellgate::modem
