// The three AT command sets of the modules' own MQTT clients, as pure builders and parsers: Luat
// (AT+MCONFIG/MIPSTART/MCONNECT/MSUB/MPUBEX, Luat AT command manual), Quectel (AT+QMT*, Quectel MQTT
// application note) and SIMCom (AT+CMQTT*, SIMCom A76XX AT command manual). No I/O: the client
// (module_client.hpp) runs the steps one at a time and feeds the URCs back here.
//
// In all three sets OK only means "command taken"; the outcome comes later as a URC, which each
// step names, with its own timeout.
#pragma once

#include <chrono>
#include <cstddef>
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mqtt/mqtt_client.hpp"

namespace cellgate::mqtt {

using std::chrono::milliseconds;

// What a URC reports.
enum class ModuleUrc {
    none,          // not an MQTT URC (or one we do not act on)
    started,       // SIMCom +CMQTTSTART
    opened,        // the TCP connection: Luat CONNECT OK, Quectel +QMTOPEN
    connected,     // CONNACK: Luat CONNACK OK, Quectel +QMTCONN, SIMCom +CMQTTCONNECT
    subscribed,    // SUBACK, +QMTSUB, +CMQTTSUB
    unsubscribed,  // UNSUBACK, +QMTUNS, +CMQTTUNSUB
    published,     // PUBACK/PUBCOMP, +QMTPUBEX, +CMQTTPUB
    disconnected,  // +QMTDISC, +CMQTTDISC (answers to our own close)
    closed,        // +QMTCLOSE, +CMQTTSTOP (answers to our own close)
    link_lost,     // CLOSED, +PDP DEACT, +QMTSTAT, +CMQTTCONNLOST, +CMQTTNONET, +CMQTTPING
    message,       // downlink
};
const char* to_string(ModuleUrc u);

struct ModuleEvent {
    ModuleUrc kind = ModuleUrc::none;
    int client = -1;  // the client index the URC names; -1: every client (Luat's single one, NONET)
    int id = -1;      // the message id it names; -1 when the set names none
    int result = 0;   // 0 = success, else the module's code
    int connack = 0;  // CONNACK return code, when the module reports one (1..5 = refused)
    std::string topic;
    std::string payload;
    std::string text;  // a readable reason for logs and LastDisconnectReason
};

// One command and how its outcome is known.
struct ModuleStep {
    std::string command;
    std::optional<std::string> data;  // written after the "> " prompt
    milliseconds timeout{5000};       // for the command's final result (data included)
    ModuleUrc await = ModuleUrc::none;  // none: the final result is the outcome
    int await_id = -1;                  // the message id the URC must name; -1: any
    milliseconds urc_timeout{0};
    // Failures (ERROR, a failed or missing URC) are ignored: tidying up, or optional settings.
    bool best_effort = false;

    // Built in one expression: ModuleStep::of("AT+X").awaiting(ModuleUrc::opened, 30s).
    static ModuleStep of(std::string command) {
        ModuleStep s;
        s.command = std::move(command);
        return s;
    }
    ModuleStep&& with_data(std::string bytes, milliseconds t = milliseconds(10000)) && {
        data = std::move(bytes);
        timeout = t;
        return std::move(*this);
    }
    ModuleStep&& awaiting(ModuleUrc u, milliseconds t, int id = -1) && {
        await = u;
        urc_timeout = t;
        await_id = id;
        return std::move(*this);
    }
    ModuleStep&& within(milliseconds t) && {
        timeout = t;
        return std::move(*this);
    }
    ModuleStep&& optional() && {
        best_effort = true;
        return std::move(*this);
    }
};
using ModuleSteps = std::vector<ModuleStep>;
// A step list, or why it cannot be built (a topic or credential the set cannot carry).
using Built = std::expected<ModuleSteps, std::string>;

struct ModuleLimits {
    int max_clients = 1;
    std::size_t max_topic = 0;    // bytes
    std::size_t max_payload = 0;  // bytes
    int keepalive_min = 1;        // seconds
    int keepalive_max = 65535;
    bool tls = false;              // the set has an SSL context for its MQTT client
    std::size_t max_file = 0;      // bytes of one uploaded certificate or key
};

// The certificate files of a TLS session, in the module's file system. One name per file and
// client index, so the clients of one module never overwrite each other's files.
enum class TlsFile { ca, cert, key };
std::string tls_file_name(TlsFile f, int idx);

// What the SSL context is given: which files were uploaded (tls_file_name) and whether the
// server's certificate is checked.
struct ModuleTls {
    bool ca = false;
    bool client_cert = false;  // certificate and key together: mutual TLS
    bool verify = true;
};

class Dialect {
public:
    virtual ~Dialect() = default;
    virtual const char* name() const = 0;
    virtual ModuleLimits limits() const = 0;
    // Once per port opening: makes the module send its URCs to the port we read (a UART HAT).
    virtual ModuleSteps route_urcs() const = 0;
    // From whatever state client `idx` is in back to closed; every step best effort.
    virtual ModuleSteps close(int idx) const = 0;
    // Writes `content` to the module's file `name` (replacing it), with the length announced
    // ahead of the bytes.
    virtual Built upload(const std::string& name, const std::string& content) const = 0;
    // The SSL context client `idx` connects with; connect() then enables it when p.tls is set.
    virtual ModuleSteps ssl_context(int idx, const ModuleTls& tls) const = 0;
    virtual Built connect(int idx, const ConnectParams& p) const = 0;
    virtual Built subscribe(int idx, int mid, const std::string& topic, int qos) const = 0;
    virtual Built unsubscribe(int idx, int mid, const std::string& topic) const = 0;
    virtual Built publish(int idx, int mid, const std::string& topic, const std::string& payload, int qos,
                          bool retain) const = 0;
    // The status query (AT+MQTTSTATU, AT+QMTCONN?, AT+CMQTTDISC?) and its reply: connected or not,
    // nullopt when the reply is not understood.
    virtual ModuleStep status_query(int idx) const = 0;
    virtual std::optional<bool> parse_status(const std::vector<std::string>& lines, int idx) const = 0;
    // A URC line as the channel delivered it (downlink payloads raw inside). Stateful: SIMCom's
    // downlink spans several URCs, and only the last one yields the message.
    virtual ModuleEvent parse_urc(std::string_view line) = 0;
};

// "luat", "quectel", "simcom"; nullptr for a vendor without an MQTT command set.
std::unique_ptr<Dialect> make_dialect(std::string_view vendor);
bool has_mqtt_command_set(std::string_view vendor);
ModuleLimits dialect_limits(std::string_view vendor);

// A URC of one of the sets' MQTT clients (outcomes, downlink, lost links).
bool is_module_mqtt_urc(std::string_view line);

// The raw framing of every set's downlink URCs, for the AT line splitter: how many payload bytes
// follow `head` (the line so far; the whole line when `line_end`). 0: none.
std::size_t downlink_raw_length(std::string_view head, bool line_end);

// Luat AT+MPUB's quoted payload: " CR LF \ as \22 \0D \0A \5C; nullopt when the payload holds a
// byte the escapes cannot carry (other control bytes). The length-prefixed AT+MPUBEX is preferred.
std::optional<std::string> luat_escape(std::string_view payload);

}  // namespace cellgate::mqtt
