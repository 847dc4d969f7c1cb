// cellgatectl's side of the D-Bus API (README "D-Bus API"): the names it is published under, the
// properties as plain values, the methods, and each failure with the exit status a script sees.
// It knows the API only, never the daemon's code.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <systemd/sd-bus.h>

namespace cellgate::ctl {

inline constexpr const char* kService = "org.cellgate.Gateway1";
inline constexpr const char* kGatewayPath = "/org/cellgate/Gateway1";
inline constexpr const char* kGatewayInterface = "org.cellgate.Gateway1";
inline constexpr const char* kModemPath = "/org/cellgate/Gateway1/Modem";
inline constexpr const char* kModemInterface = "org.cellgate.Gateway1.Modem";
inline constexpr const char* kCloudPath = "/org/cellgate/Gateway1/Cloud";
inline constexpr const char* kCloudInterface = "org.cellgate.Gateway1.CloudSession";

// Exit statuses (documented in cellgatectl(1)).
enum Exit : int {
    kOk = 0,
    kFailed = 1,       // the daemon refused or failed the request (a D-Bus error reply)
    kUsage = 2,        // bad command line, unreadable @file
    kNotRunning = 3,   // no system bus, or nobody owns org.cellgate.Gateway1
    kNoSession = 4,    // no cloud session of that name
    kNotOnline = 5,    // status: the gateway is starting, offline or degraded
};

// A failure with the exit status it ends cellgatectl with.
class CtlError : public std::runtime_error {
public:
    CtlError(int exit_status, const std::string& what) : std::runtime_error(what), status_(exit_status) {}
    int exit_status() const { return status_; }

private:
    int status_;
};

// The API's property types: s, u/t (unsigned), i (signed).
using Value = std::variant<std::string, uint64_t, int64_t>;
// In the order the daemon lists them.
using Properties = std::vector<std::pair<std::string, Value>>;

const Value* find(const Properties& props, std::string_view name);
std::string text(const Properties& props, std::string_view name);     // "" when absent or not s
uint64_t number(const Properties& props, std::string_view name);      // 0 when absent or not u/t
int64_t signed_number(const Properties& props, std::string_view name);

// Reads `props` from the body of GetAll's reply or PropertiesChanged, positioned at the a{sv}.
int read_properties(sd_bus_message* m, Properties& props);

struct SessionObject {
    std::string name;
    std::string path;
};

std::string session_path(const std::string& name);

class GatewayClient {
public:
    // Connects to the system bus (DBUS_SYSTEM_BUS_ADDRESS is honoured) and checks that cellgated
    // owns its name. Throws CtlError(kNotRunning) otherwise.
    GatewayClient();
    ~GatewayClient();
    GatewayClient(const GatewayClient&) = delete;
    GatewayClient& operator=(const GatewayClient&) = delete;

    sd_bus* bus() const { return bus_; }

    Properties get_all(const std::string& path, const char* interface);
    // Every session object, in the daemon's order (config order).
    std::vector<SessionObject> sessions();
    // Throws CtlError(kNoSession) naming the configured ones.
    SessionObject session(const std::string& name);

    void reset_modem();
    void reconnect(const SessionObject& s);
    uint64_t publish(const SessionObject& s, const std::string& topic, const std::string& payload, uint8_t qos);

private:
    // A method call that throws CtlError for an error reply; the caller unrefs the reply.
    sd_bus_message* call(const std::string& path, const char* interface, const char* member,
                         const std::function<int(sd_bus_message*)>& append = {});

    sd_bus* bus_ = nullptr;
};

}  // namespace cellgate::ctl
