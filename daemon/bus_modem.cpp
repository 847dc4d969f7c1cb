#include "daemon/bus_modem.hpp"

#include <array>
#include <cstdint>
#include <limits>

namespace cellgate {
namespace {

using modem::ModemStatus;

BusValue str(const char* s) { return std::string(s); }

using Row = Property<ModemStatus>;

constexpr uint32_t kUnknownUnsigned = std::numeric_limits<uint32_t>::max();
constexpr int32_t kUnknownSigned = std::numeric_limits<int32_t>::min();

constexpr std::array kModemProperties{
    Row{"State", "s", [](const ModemStatus& s) { return str(to_string(s.state)); }},
    Row{"FailedReason", "s", [](const ModemStatus& s) { return str(to_string(s.failed_reason)); }},
    Row{"Port", "s", [](const ModemStatus& s) { return BusValue{s.port}; }},
    Row{"Vendor", "s", [](const ModemStatus& s) { return BusValue{s.vendor}; }},
    Row{"Manufacturer", "s", [](const ModemStatus& s) { return BusValue{s.manufacturer}; }},
    Row{"Model", "s", [](const ModemStatus& s) { return BusValue{s.model}; }},
    Row{"Revision", "s", [](const ModemStatus& s) { return BusValue{s.revision}; }},
    Row{"Imei", "s", [](const ModemStatus& s) { return BusValue{s.imei}; }},
    Row{"Imsi", "s", [](const ModemStatus& s) { return BusValue{s.imsi}; }},
    Row{"Iccid", "s", [](const ModemStatus& s) { return BusValue{s.iccid}; }},
    Row{"Registration", "s", [](const ModemStatus& s) { return str(to_string(s.registration)); }},
    Row{"AccessTechnology", "s", [](const ModemStatus& s) { return str(to_string(s.access_tech)); }},
    Row{"Operator", "s", [](const ModemStatus& s) { return BusValue{s.operator_name}; }},
    Row{"OperatorCode", "s", [](const ModemStatus& s) { return BusValue{s.operator_code}; }},
    Row{"SignalQuality", "u", [](const ModemStatus& s) { return BusValue{s.signal_quality}; }},
    Row{"Rssi", "i", [](const ModemStatus& s) { return BusValue{s.rssi_dbm}; }},
    // The serving cell. An unknown number shows a value no reading can take: 0 for Rsrp and Rsrq
    // (as for Rssi), kUnknownSigned for Sinr (0 dB is a real SINR), kUnknownUnsigned for Earfcn
    // and Pci (channel 0 and PCI 0 exist).
    Row{"Band", "s", [](const ModemStatus& s) { return BusValue{s.cell.band}; }},
    Row{"Earfcn", "u", [](const ModemStatus& s) { return BusValue{s.cell.arfcn.value_or(kUnknownUnsigned)}; }},
    Row{"Pci", "u", [](const ModemStatus& s) { return BusValue{s.cell.pci.value_or(kUnknownUnsigned)}; }},
    Row{"CellId", "s", [](const ModemStatus& s) { return BusValue{s.cell.cell_id}; }},
    Row{"Tac", "s", [](const ModemStatus& s) { return BusValue{s.cell.tac}; }},
    Row{"Rsrp", "i", [](const ModemStatus& s) { return BusValue{int32_t{s.cell.rsrp_dbm.value_or(0)}}; }},
    Row{"Rsrq", "i", [](const ModemStatus& s) { return BusValue{int32_t{s.cell.rsrq_db.value_or(0)}}; }},
    Row{"Sinr", "i", [](const ModemStatus& s) { return BusValue{int32_t{s.cell.sinr_db.value_or(kUnknownSigned)}}; }},
    Row{"Apn", "s", [](const ModemStatus& s) { return BusValue{s.apn}; }},
    Row{"IpAddress", "s", [](const ModemStatus& s) { return BusValue{s.ip_address}; }},
    Row{"Resets", "u", [](const ModemStatus& s) { return BusValue{s.resets}; }},
    Row{"Recoveries", "u", [](const ModemStatus& s) { return BusValue{s.recoveries}; }},
    Row{"RecoveryStep", "s", [](const ModemStatus& s) { return BusValue{s.recovery_step}; }},
    Row{"LastError", "s", [](const ModemStatus& s) { return BusValue{s.last_error}; }},
    // The host side of the data path (daemon/data_path.hpp).
    Row{"Interface", "s", [](const ModemStatus& s) { return BusValue{s.data_path.interface}; }},
    Row{"IpMethod", "s", [](const ModemStatus& s) { return BusValue{s.data_path.ip_method}; }},
    Row{"Ipv4Address", "s", [](const ModemStatus& s) { return BusValue{s.data_path.ipv4_address}; }},
    Row{"Ipv4Gateway", "s", [](const ModemStatus& s) { return BusValue{s.data_path.ipv4_gateway}; }},
    Row{"Dns", "as", [](const ModemStatus& s) { return BusValue{s.data_path.dns}; }},
    Row{"Mtu", "u", [](const ModemStatus& s) { return BusValue{s.data_path.mtu}; }},
    Row{"RxBytes", "t", [](const ModemStatus& s) { return BusValue{s.data_path.rx_bytes}; }},
    Row{"TxBytes", "t", [](const ModemStatus& s) { return BusValue{s.data_path.tx_bytes}; }},
    Row{"Route", "s", [](const ModemStatus& s) { return BusValue{s.data_path.route}; }},
};

}  // namespace

const PropertyTable<ModemStatus>& modem_properties() {
    static constexpr PropertyTable<ModemStatus> kTable{kModemProperties};
    return kTable;
}

}  // namespace cellgate
