// The production AtTransport: frames commands onto a SerialPort, splits the byte stream into
// lines, separates URCs from responses, enforces per-command timeouts, and reopens the port when
// it vanishes (module reboot, USB re-enumeration) without anyone restarting the daemon.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "base/loop.hpp"
#include "modem/at_types.hpp"
#include "modem/serial_port.hpp"

namespace cellgate::modem {

class AtChannel final : public AtTransport {
public:
    // Tries to open the port; returns nullptr and fills `error` when it is not there (yet).
    using Opener = std::function<std::unique_ptr<SerialPort>(std::string& error)>;

    AtChannel(Scheduler& sched, Opener opener, std::chrono::milliseconds reopen_interval);
    ~AtChannel() override;

    // Opens the port now, or keeps retrying every reopen_interval until it appears.
    void start();
    // Drops the port on purpose (before a module reset) and starts waiting for it to return.
    void drop(const std::string& why);

    void send(std::string command, std::chrono::milliseconds timeout, AtCallback cb) override;
    void cancel_all() override;
    bool is_open() const override;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace cellgate::modem
