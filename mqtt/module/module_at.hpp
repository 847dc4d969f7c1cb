// What the module's MQTT client needs of the modem's AT channel, and no more: commands with their
// final result, commands that take input after the "> " prompt, the URCs, and word that the module
// restarted. The daemon adapts the modem's AtChannel to it; unit tests script it. Keeping it this
// narrow keeps mqtt/ free of the modem layer.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace cellgate::mqtt {

struct AtReply {
    enum class Status { ok, error, timeout, closed };
    Status status = Status::ok;
    // The failing final line ("ERROR", "+CME ERROR: 767"), "timeout" or "port closed".
    std::string error;
    // Information lines of the response, URCs removed.
    std::vector<std::string> lines;
    bool ok() const { return status == Status::ok; }
};

using AtDone = std::function<void(const AtReply&)>;

class ModuleAt {
public:
    virtual ~ModuleAt() = default;
    // Queued behind everything else on the channel; `done` runs once, from the loop, never from
    // inside the call.
    virtual void send(std::string command, std::chrono::milliseconds timeout, AtDone done) = 0;
    // `data` is written exactly (no CR) once the module's "> " prompt (or an upload's CONNECT) came; `done` gets the final
    // result after it. Without a prompt nothing is written.
    virtual void send_data(std::string command, std::string data, std::chrono::milliseconds timeout,
                           AtDone done) = 0;
    // The vendor as the modem identified it ("luat", "quectel", "simcom", ...; "" while unknown).
    virtual std::string vendor() const = 0;

    // Set by the client. Every URC of the channel, downlink payloads included (raw bytes).
    std::function<void(const std::string& line)> on_urc;
    // The module restarted or its port went away: whatever the module held is gone.
    std::function<void(const std::string& why)> on_reset;
};

}  // namespace cellgate::mqtt
