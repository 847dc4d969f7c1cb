// Everything the modem publishes. Plain data: the D-Bus adapter diffs two snapshots to emit
// PropertiesChanged, so nothing here knows about the bus.
#pragma once

#include <cstdint>
#include <string>

namespace cellgate::modem {

enum class ModemState {
    disabled, absent, initializing, locked, searching, registered, connecting, connected, resetting, failed,
};
enum class FailedReason {
    none, sim_missing, sim_pin_required, sim_puk_required, registration_denied, pdp_rejected, no_response,
    port_missing,
};
enum class Registration { idle, home, searching, denied, unknown, roaming };
enum class AccessTech { none, gsm, umts, lte, nr5g };

const char* to_string(ModemState s);
const char* to_string(FailedReason r);  // "" for none, else "sim-missing", ...
const char* to_string(Registration r);
const char* to_string(AccessTech t);    // "" for none

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
    std::string apn;
    std::string ip_address;
    uint32_t resets = 0;          // module resets done by the recovery ladder or Reset()
    uint32_t recoveries = 0;      // recovery ladder steps taken in total
    std::string recovery_step;    // current ladder step name, "" when healthy
    std::string last_error;       // human-readable, never contains secrets

    bool operator==(const ModemStatus&) const = default;
};

}  // namespace cellgate::modem
