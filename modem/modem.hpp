// The modem subsystem as the daemon sees it: owns the AT channel and the bring-up state machine.
#pragma once

#include <functional>
#include <memory>

#include "modem/modem_config.hpp"
#include "base/loop.hpp"
#include "modem/modem_status.hpp"

namespace cellgate::modem {

class Modem {
public:
    Modem(Scheduler& sched, const ModemConfig& config);
    ~Modem();
    Modem(const Modem&) = delete;
    Modem& operator=(const Modem&) = delete;

    void start();
    // D-Bus Reset(): reboot the module now (the ladder's last step, on request).
    void reset();
    const ModemStatus& status() const;
    // Called after every change of status(), from the event loop.
    std::function<void(const ModemStatus&)> on_change;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace cellgate::modem
