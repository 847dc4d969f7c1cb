// The org.cellgate.Gateway1.Modem property table the D-Bus adapter is built from: every
// documented property once, with its signature, and a diff that misses no ModemStatus field.
#include "daemon/bus_modem.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "unit/support/property_table_checks.hpp"

namespace cellgate {
namespace {

using modem::AccessTech;
using modem::FailedReason;
using modem::ModemState;
using modem::ModemStatus;

TEST(ModemPropertyTable, ExportsEveryDocumentedPropertyOnceWithItsSignature) {
    const testing::PropertySpec expected[] = {
        {"State", "s"}, {"FailedReason", "s"}, {"Port", "s"}, {"Vendor", "s"},
        {"Manufacturer", "s"}, {"Model", "s"}, {"Revision", "s"}, {"Imei", "s"},
        {"Imsi", "s"}, {"Iccid", "s"}, {"Registration", "s"}, {"AccessTechnology", "s"},
        {"Operator", "s"}, {"OperatorCode", "s"}, {"SignalQuality", "u"}, {"Rssi", "i"},
        {"Band", "s"}, {"Earfcn", "u"}, {"Pci", "u"}, {"CellId", "s"}, {"Tac", "s"},
        {"Rsrp", "i"}, {"Rsrq", "i"}, {"Sinr", "i"},
        {"Apn", "s"}, {"IpAddress", "s"}, {"Resets", "u"}, {"Recoveries", "u"},
        {"RecoveryStep", "s"}, {"LastError", "s"}, {"Interface", "s"}, {"IpMethod", "s"},
        {"Ipv4Address", "s"}, {"Ipv4Gateway", "s"}, {"Dns", "as"}, {"Mtu", "u"},
        {"RxBytes", "t"}, {"TxBytes", "t"}, {"Route", "s"},
    };
    testing::expect_documented_properties(modem_properties(), expected, "Nope");
}

TEST(ModemPropertyDiff, EqualSnapshotsChangeNothing) {
    ModemStatus a;
    a.state = ModemState::connected;
    EXPECT_TRUE(modem_properties().changed(a, a).empty());
}

TEST(ModemPropertyDiff, NamesExactlyTheChangedPropertiesInTableOrder) {
    ModemStatus before;
    before.state = ModemState::registered;
    before.signal_quality = 40;
    ModemStatus after = before;
    after.state = ModemState::connected;
    after.ip_address = "10.64.1.2";
    after.rssi_dbm = -83;
    after.signal_quality = 40;  // unchanged
    auto names = modem_properties().changed(before, after);
    std::vector<std::string> got(names.begin(), names.end());
    EXPECT_EQ(got, (std::vector<std::string>{"State", "Rssi", "IpAddress"}));
}

TEST(ModemPropertyDiff, EveryFieldIsCoveredByAProperty) {
    void (*const mutations[])(ModemStatus&) = {
        [](ModemStatus& s) { s.state = ModemState::failed; },
        [](ModemStatus& s) { s.failed_reason = FailedReason::no_response; },
        [](ModemStatus& s) { s.port = "/dev/ttyUSB2"; },
        [](ModemStatus& s) { s.vendor = "quectel"; },
        [](ModemStatus& s) { s.manufacturer = "Quectel"; },
        [](ModemStatus& s) { s.model = "EC20F"; },
        [](ModemStatus& s) { s.revision = "EC20FAR06A06M4G"; },
        [](ModemStatus& s) { s.imei = "867223040000000"; },
        [](ModemStatus& s) { s.imsi = "460001234567890"; },
        [](ModemStatus& s) { s.iccid = "89860000000000000000"; },
        [](ModemStatus& s) { s.registration = modem::Registration::home; },
        [](ModemStatus& s) { s.access_tech = AccessTech::lte; },
        [](ModemStatus& s) { s.operator_name = "CMCC"; },
        [](ModemStatus& s) { s.operator_code = "46000"; },
        [](ModemStatus& s) { s.signal_quality = 1; },
        [](ModemStatus& s) { s.rssi_dbm = -113; },
        [](ModemStatus& s) { s.cell.band = "B3"; },
        [](ModemStatus& s) { s.cell.arfcn = 1650; },
        [](ModemStatus& s) { s.cell.pci = 0; },
        [](ModemStatus& s) { s.cell.cell_id = "1A2B3C4"; },
        [](ModemStatus& s) { s.cell.tac = "1816"; },
        [](ModemStatus& s) { s.cell.rsrp_dbm = -95; },
        [](ModemStatus& s) { s.cell.rsrq_db = -11; },
        [](ModemStatus& s) { s.cell.sinr_db = 0; },
        [](ModemStatus& s) { s.apn = "cmnet"; },
        [](ModemStatus& s) { s.ip_address = "10.0.0.1"; },
        [](ModemStatus& s) { s.resets = 1; },
        [](ModemStatus& s) { s.recoveries = 1; },
        [](ModemStatus& s) { s.recovery_step = "reattach"; },
        [](ModemStatus& s) { s.last_error = "timeout"; },
        [](ModemStatus& s) { s.data_path.interface = "usb0"; },
        [](ModemStatus& s) { s.data_path.ip_method = "dhcp"; },
        [](ModemStatus& s) { s.data_path.ipv4_address = "192.168.225.51/24"; },
        [](ModemStatus& s) { s.data_path.ipv4_gateway = "192.168.225.1"; },
        [](ModemStatus& s) { s.data_path.dns = {"192.168.225.1"}; },
        [](ModemStatus& s) { s.data_path.mtu = 1400; },
        [](ModemStatus& s) { s.data_path.rx_bytes = 1; },
        [](ModemStatus& s) { s.data_path.tx_bytes = 1; },
        [](ModemStatus& s) { s.data_path.route = "primary"; },
    };
    testing::expect_every_field_covered(modem_properties(), mutations);
}

// Unknown cell values read as values no measurement can take, so 0 dB SINR and PCI 0 stay real.
TEST(ModemPropertyTable, UnknownCellValuesAreMarkers) {
    const ModemStatus s;
    auto get = [&s](const char* name) { return modem_properties().find(name)->get(s); };
    EXPECT_EQ(get("Earfcn"), BusValue{uint32_t{4294967295u}});
    EXPECT_EQ(get("Pci"), BusValue{uint32_t{4294967295u}});
    EXPECT_EQ(get("Rsrp"), BusValue{int32_t{0}});
    EXPECT_EQ(get("Sinr"), BusValue{int32_t{-2147483647 - 1}});
    ModemStatus known;
    known.cell.sinr_db = 0;
    known.cell.pci = 0;
    EXPECT_EQ(modem_properties().find("Sinr")->get(known), BusValue{int32_t{0}});
    EXPECT_EQ(modem_properties().find("Pci")->get(known), BusValue{uint32_t{0}});
}

}  // namespace
}  // namespace cellgate
