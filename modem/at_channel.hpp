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
    // For a command that takes input after the "> " prompt (a length-prefixed MQTT publish, a file
    // upload) or after CONNECT (Quectel's AT+QFUPL): once the prompt came, `data` goes out exactly as given (no CR), and `cb` gets the
    // final result that follows. Without a prompt the command ends as any other (ERROR, say) and
    // nothing is written: the bytes would be read as commands. `timeout` covers the whole exchange.
    void send_data(std::string command, std::string data, std::chrono::milliseconds timeout, AtCallback cb);
    // URCs that carry counted raw bytes (see LineSplitter); delivered through on_urc as one line.
    void set_raw_framer(std::function<std::size_t(std::string_view head, bool line_end)> framer);
    void cancel_all() override;
    bool is_open() const override;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace cellgate::modem
