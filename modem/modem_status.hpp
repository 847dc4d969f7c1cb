// Everything the modem publishes. Plain data: the D-Bus adapter diffs two snapshots to emit
// PropertiesChanged, so nothing here knows about the bus.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cellgate::modem {

enum class ModemState {
    disabled, absent, initializing, locked, searching, registered, connecting, connected, resetting, failed,
};
enum class FailedReason {
    none, sim_missing, sim_pin_required, sim_puk_required, registration_denied, pdp_rejected, no_response,
    port_missing, no_netdev,
};
enum class Registration { idle, home, searching, denied, unknown, roaming };
enum class AccessTech { none, gsm, umts, lte, nr5g };

const char* to_string(ModemState s);
const char* to_string(FailedReason r);  // "" for none, else "sim-missing", ...
const char* to_string(Registration r);
const char* to_string(AccessTech t);    // "" for none

// The cell the module is camped on, as it last reported it (polled at signal_interval). Every
// field may be unknown: modules report different subsets, and none outside coverage.
struct ServingCell {
    AccessTech rat = AccessTech::none;
    std::string band;               // "B3" (LTE), "n78" (NR), or the module's own name ("EGSM900")
    std::optional<uint32_t> arfcn;  // EARFCN, NR-ARFCN, UARFCN or ARFCN of the serving carrier
    std::optional<uint32_t> pci;    // physical cell id (LTE, NR)
    std::string cell_id;            // hex, upper case
    std::string tac;                // TAC (LTE, NR) or LAC (2G, 3G), hex, upper case
    std::optional<int> rsrp_dbm;
    std::optional<int> rsrq_db;     // rounded to whole dB
    std::optional<int> sinr_db;     // rounded to whole dB

    bool operator==(const ServingCell&) const = default;
};

// The module's settings for its active context (AT+CGCONTRDP): what a raw-ip link is configured
// with. Addresses as text; empty when the module did not give them.
struct ContextSettings {
    std::string address;           // IPv4
    uint8_t prefix = 32;
    std::string gateway;
    std::vector<std::string> dns;  // IPv4 servers, primary first
    uint32_t mtu = 0;              // 0: not given
    std::string address6;          // IPv6, from the second line of a dual-stack context
    uint8_t prefix6 = 128;
    std::string gateway6;
    std::vector<std::string> dns6;
    bool empty() const { return address.empty() && address6.empty(); }
    bool operator==(const ContextSettings&) const = default;
};

// The host side of the data path (the module's network interface as the Pi configured it). The
// modem does not fill this in: the daemon does, from its data link, before it publishes.
struct DataPathStatus {
    std::string interface;       // "" when none
    std::string ip_method;       // "dhcp", "static", "none"; "" before the data call
    std::string ipv4_address;    // "192.168.225.51/24"
    std::string ipv4_gateway;
    std::vector<std::string> dns;
    uint32_t mtu = 0;
    uint64_t rx_bytes = 0, tx_bytes = 0;
    std::string route;           // "failover", "primary", "none"
    bool operator==(const DataPathStatus&) const = default;
};

struct ModemStatus {
    ModemState state = ModemState::disabled;
    FailedReason failed_reason = FailedReason::none;
    std::string port;
    std::string vendor;
    std::string manufacturer, model, revision;
    std::string imei, imsi, iccid;
    Registration registration = Registration::unknown;
    AccessTech access_tech = AccessTech::none;
    std::string operator_name, operator_code;
    uint32_t signal_quality = 0;  // percent 0..100
    int32_t rssi_dbm = 0;         // 0 when unknown
    ServingCell cell;
    std::string apn;
    std::string ip_address;
    uint32_t resets = 0;          // module resets done by the recovery ladder or Reset()
    uint32_t recoveries = 0;      // recovery ladder steps taken in total
    std::string recovery_step;    // current ladder step name, "" when healthy
    std::string last_error;       // human-readable, never contains secrets
    ContextSettings context;      // asked after the data call came up; cleared with ip_address
    DataPathStatus data_path;

    bool operator==(const ModemStatus&) const = default;
};

}  // namespace cellgate::modem
