// The D-Bus adapter: exports the gateway and modem state on the system bus and forwards the few
// methods to callbacks. It only reads plain snapshots; nothing in the core includes sd-bus.
//
//   org.cellgate.Gateway1 at /org/cellgate/Gateway1        Version (const), State
//   org.cellgate.Gateway1.Modem at /org/cellgate/Gateway1/Modem   see daemon/bus_modem.hpp; Reset()
//   org.cellgate.Gateway1.CloudSession at /org/cellgate/Gateway1/Cloud/<escaped name>, one per
//     cloud session                                            see daemon/bus_cloud.hpp; Reconnect()
//
// Access control, in layers: the shipped bus policy lets only root call methods; sd-bus itself
// refuses privileged (non-UNPRIVILEGED) methods to callers whose uid differs from the daemon's
// (root); and each mutating handler re-checks that the caller's euid is 0.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "cloud/session_status.hpp"
#include "modem/modem_status.hpp"

namespace cellgate {

class SdEventLoop;

inline constexpr const char* kBusName = "org.cellgate.Gateway1";
inline constexpr const char* kGatewayPath = "/org/cellgate/Gateway1";
inline constexpr const char* kGatewayInterface = "org.cellgate.Gateway1";
inline constexpr const char* kModemPath = "/org/cellgate/Gateway1/Modem";
inline constexpr const char* kModemInterface = "org.cellgate.Gateway1.Modem";
// Parent of the session objects; cloud_object_path() (bus_cloud.hpp) builds the children.
inline constexpr const char* kCloudPath = "/org/cellgate/Gateway1/Cloud";
inline constexpr const char* kCloudSessionInterface = "org.cellgate.Gateway1.CloudSession";
// Returned by Reset() when the config has no modem section.
inline constexpr const char* kErrorNoModem = "org.cellgate.Gateway1.Error.NoModem";

class Bus {
public:
    struct Handlers {
        // The well-known name is ours: clients can reach us (the daemon is ready).
        std::function<void()> name_acquired;
        // The name was refused or the connection dropped; the daemon cannot serve and should exit.
        std::function<void(const std::string& reason)> failed;
        // Reset() from an authorized caller. Empty: no modem, Reset() fails with kErrorNoModem.
        std::function<void()> reset_modem;
    };

    // Connects to the system bus (DBUS_SYSTEM_BUS_ADDRESS is honoured), exports both objects and
    // asks for kBusName asynchronously. Throws std::system_error if the connection cannot start.
    Bus(SdEventLoop& loop, Handlers handlers);
    ~Bus();
    Bus(const Bus&) = delete;
    Bus& operator=(const Bus&) = delete;

    // Exports one CloudSession object for the session `name` and returns its index for
    // set_session_status(). `reconnect` runs for Reconnect() from an authorized caller. Call it
    // before the loop first runs, so the objects are there when the name appears.
    // Throws std::system_error if sd-bus refuses the object.
    size_t add_session(std::string_view name, std::function<void()> reconnect);

    // All publish on the next loop iteration, as one PropertiesChanged per object and interface
    // however many updates arrived before it.
    void set_gateway_state(std::string_view state);
    void set_modem_status(const modem::ModemStatus& status);
    void set_session_status(size_t index, const cloud::SessionStatus& status);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace cellgate
