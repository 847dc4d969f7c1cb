// What the modem state machine sees of the AT channel: commands in, final results and URCs out.
// The production AtChannel (at_channel.hpp) implements it over a SerialPort; unit tests use a
// scripted fake.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace cellgate::modem {

enum class AtStatus {
    ok,
    error,        // plain ERROR, COMMAND NOT SUPPORT
    cme_error,    // +CME ERROR: <n> or <text>
    cms_error,    // +CMS ERROR
    no_carrier,   // NO CARRIER / BUSY / NO ANSWER / NO DIALTONE
    connect,      // CONNECT (data mode)
    prompt,       // "> " (no trailing CRLF)
    timeout,      // no final result within the command's timeout
    port_closed,  // the port vanished while the command was pending or queued
};

const char* to_string(AtStatus status);

struct AtResult {
    AtStatus status = AtStatus::ok;
    // Numeric CME/CMS code when the module sent one, or the code mapped from verbose text; -1 if unknown.
    int error_code = -1;
    // The text after "+CME ERROR: " / "+CMS ERROR: ", or the final line for other failures.
    std::string error_text;
    // Information lines of the response (echo and URCs removed), in order.
    std::vector<std::string> lines;

    bool ok() const { return status == AtStatus::ok; }
    // First line starting with `prefix` (e.g. "+CSQ:"), with the prefix and following spaces removed.
    std::string value(std::string_view prefix) const;
};

using AtCallback = std::function<void(const AtResult&)>;

// One AT command with its timeout.
struct AtStep {
    std::string command;
    std::chrono::milliseconds timeout;
};

class AtTransport {
public:
    virtual ~AtTransport() = default;
    // Queues `command` (without "\r"); one command is in flight at a time. `cb` runs exactly once,
    // from the event loop, never from inside send().
    virtual void send(std::string command, std::chrono::milliseconds timeout, AtCallback cb) = 0;
    // Fails every queued and pending command with port_closed.
    virtual void cancel_all() = 0;
    virtual bool is_open() const = 0;

    // Set by the owner before use.
    std::function<void(const std::string& line)> on_urc;
    std::function<void()> on_opened;               // port (re)appeared and is open
    std::function<void(const std::string& why)> on_lost;  // HUP/EIO/EOF; the transport reopens by itself
    // Any line at all came from the module (a reply, a URC, a late or stray answer): it is alive.
    // Runs before that line is handled; it must not send or cancel commands itself.
    std::function<void()> on_heard;
};

}  // namespace cellgate::modem
