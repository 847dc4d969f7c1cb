#include "daemon/bus_modem.hpp"

#include <array>

namespace cellgate {
namespace {

using modem::ModemStatus;

PropertyValue str(const char* s) { return std::string(s); }

constexpr std::array kModemProperties{
    ModemProperty{"State", "s", [](const ModemStatus& s) { return str(to_string(s.state)); }},
    ModemProperty{"FailedReason", "s", [](const ModemStatus& s) { return str(to_string(s.failed_reason)); }},
    ModemProperty{"Port", "s", [](const ModemStatus& s) { return PropertyValue{s.port}; }},
    ModemProperty{"Vendor", "s", [](const ModemStatus& s) { return PropertyValue{s.vendor}; }},
    ModemProperty{"Manufacturer", "s", [](const ModemStatus& s) { return PropertyValue{s.manufacturer}; }},
    ModemProperty{"Model", "s", [](const ModemStatus& s) { return PropertyValue{s.model}; }},
    ModemProperty{"Revision", "s", [](const ModemStatus& s) { return PropertyValue{s.revision}; }},
    ModemProperty{"Imei", "s", [](const ModemStatus& s) { return PropertyValue{s.imei}; }},
    ModemProperty{"Imsi", "s", [](const ModemStatus& s) { return PropertyValue{s.imsi}; }},
    ModemProperty{"Iccid", "s", [](const ModemStatus& s) { return PropertyValue{s.iccid}; }},
    ModemProperty{"Registration", "s", [](const ModemStatus& s) { return str(to_string(s.registration)); }},
    ModemProperty{"AccessTechnology", "s", [](const ModemStatus& s) { return str(to_string(s.access_tech)); }},
    ModemProperty{"Operator", "s", [](const ModemStatus& s) { return PropertyValue{s.operator_name}; }},
    ModemProperty{"OperatorCode", "s", [](const ModemStatus& s) { return PropertyValue{s.operator_code}; }},
    ModemProperty{"SignalQuality", "u", [](const ModemStatus& s) { return PropertyValue{s.signal_quality}; }},
    ModemProperty{"Rssi", "i", [](const ModemStatus& s) { return PropertyValue{s.rssi_dbm}; }},
    ModemProperty{"Apn", "s", [](const ModemStatus& s) { return PropertyValue{s.apn}; }},
    ModemProperty{"IpAddress", "s", [](const ModemStatus& s) { return PropertyValue{s.ip_address}; }},
    ModemProperty{"Resets", "u", [](const ModemStatus& s) { return PropertyValue{s.resets}; }},
    ModemProperty{"Recoveries", "u", [](const ModemStatus& s) { return PropertyValue{s.recoveries}; }},
    ModemProperty{"RecoveryStep", "s", [](const ModemStatus& s) { return PropertyValue{s.recovery_step}; }},
    ModemProperty{"LastError", "s", [](const ModemStatus& s) { return PropertyValue{s.last_error}; }},
};

}  // namespace

std::span<const ModemProperty> modem_properties() { return kModemProperties; }

const ModemProperty* find_modem_property(std::string_view name) {
    for (const auto& p : kModemProperties)
        if (name == p.name) return &p;
    return nullptr;
}

std::vector<const char*> changed_modem_properties(const modem::ModemStatus& before,
                                                  const modem::ModemStatus& after) {
    std::vector<const char*> names;
    if (before == after) return names;
    for (const auto& p : kModemProperties)
        if (p.get(before) != p.get(after)) names.push_back(p.name);
    return names;
}

}  // namespace cellgate
