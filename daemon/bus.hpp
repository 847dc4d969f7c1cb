// The D-Bus adapter: exports the gateway and modem state on the system bus and forwards the few
// methods to callbacks. It only reads plain snapshots; nothing in the core includes sd-bus.
//
//   org.cellgate.Gateway1 at /org/cellgate/Gateway1        Version (const), State, StateReason
//   org.cellgate.Gateway1.Modem at /org/cellgate/Gateway1/Modem   see daemon/bus_modem.hpp; Reset()
//   org.cellgate.Gateway1.CloudSession at /org/cellgate/Gateway1/Cloud/<escaped name>, one per
//     cloud session                     see daemon/bus_cloud.hpp; Reconnect(), Publish(s, ay, y) -> t
//
// Access control, in layers: the shipped bus policy lets only root call methods; sd-bus itself
// refuses privileged (non-UNPRIVILEGED) methods to callers whose uid differs from the daemon's
// (root); and each mutating handler re-checks that the caller's euid is 0.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "bridge/delivery_status.hpp"
#include "cloud/session_status.hpp"
#include "modem/modem_status.hpp"

struct sd_bus;

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
// Publish() failures.
inline constexpr const char* kErrorNoOutbox = "org.cellgate.Gateway1.Error.NoOutbox";
inline constexpr const char* kErrorInvalidTopic = "org.cellgate.Gateway1.Error.InvalidTopic";
inline constexpr const char* kErrorPayloadTooLarge = "org.cellgate.Gateway1.Error.PayloadTooLarge";
inline constexpr const char* kErrorQosNotSupported = "org.cellgate.Gateway1.Error.QosNotSupported";
inline constexpr const char* kErrorNotConnected = "org.cellgate.Gateway1.Error.NotConnected";
inline constexpr const char* kErrorOutboxFull = "org.cellgate.Gateway1.Error.OutboxFull";
inline constexpr const char* kErrorOutboxFailed = "org.cellgate.Gateway1.Error.OutboxFailed";

// How a Publish() ended: an id, or an error name (one of the above) and a message.
struct PublishOutcome {
    uint64_t id = 0;
    std::string error_name;  // "" = success
    std::string message;
};
using PublishReply = std::function<void(const PublishOutcome&)>;
// Runs for Publish() from an authorized caller; `reply` must be called exactly once, now or later
// (the D-Bus reply waits for it).
using PublishHandler =
    std::function<void(const std::string& topic, std::string payload, int qos, PublishReply reply)>;

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
    // set_session_status(). `reconnect` runs for Reconnect() from an authorized caller, `publish`
    // for Publish() (empty: Publish() fails with kErrorNoOutbox). Call it before the loop first
    // runs, so the objects are there when the name appears.
    // Throws std::system_error if sd-bus refuses the object.
    // Indices are never reused, so one kept across a reload stays valid.
    size_t add_session(std::string_view name, std::function<void()> reconnect, PublishHandler publish = {});
    // Unexports the session's object (a reload removed or replaces it); later updates for its
    // index are ignored. Publish() calls already accepted are still answered.
    void remove_session(size_t index);
    // Replaces Handlers::reset_modem when a reload adds or removes the modem section.
    void set_modem_reset(std::function<void()> reset);

    // All publish on the next loop iteration, as one PropertiesChanged per object and interface
    // however many updates arrived before it.
    // State (starting, offline, degraded, online) and StateReason, the verdict's reason.
    void set_gateway_state(std::string_view state, std::string_view reason);
    void set_modem_status(const modem::ModemStatus& status);
    void set_session_status(size_t index, const cloud::SessionStatus& status);
    void set_delivery_status(size_t index, const bridge::DeliveryStatus& status);

    // The connection, attached to the loop, for the daemon's own asynchronous calls to other
    // services (ResolvedLink).
    sd_bus* connection() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace cellgate
