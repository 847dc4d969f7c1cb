// Vendor profiles: command generation and reply parsing, table-driven from the reply shapes in the
// vendors' AT manuals (cases named after the module).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "modem/vendor.hpp"
#include "modem/vendor_detail.hpp"

using namespace std::chrono_literals;

namespace cellgate::modem {
namespace {

AtResult ok(std::vector<std::string> lines) {
    AtResult r;
    r.status = AtStatus::ok;
    r.lines = std::move(lines);
    return r;
}

AtResult failed(AtStatus s = AtStatus::error) {
    AtResult r;
    r.status = s;
    return r;
}

std::vector<std::string> commands(const std::vector<AtStep>& steps) {
    std::vector<std::string> out;
    for (const auto& s : steps) out.push_back(s.command);
    return out;
}

ApnSettings apn(std::string name, ApnAuth auth = ApnAuth::none, IpType type = IpType::ipv4,
                std::string user = "", std::string password = "") {
    ApnSettings a;
    a.name = std::move(name);
    a.auth = auth;
    a.ip_type = type;
    a.user = std::move(user);
    a.password = std::move(password);
    return a;
}

// ---------------------------------------------------------------------------------------------
// APN commands

struct ApnCase {
    const char* name;
    Vendor vendor;
    ApnSettings settings;
    int cid;
    std::vector<std::string> expected;
};

class VendorApnTest : public ::testing::TestWithParam<ApnCase> {};

TEST_P(VendorApnTest, GeneratesExactCommands) {
    const auto& c = GetParam();
    auto profile = make_vendor_profile(c.vendor);
    EXPECT_EQ(commands(profile->apn_commands(c.settings, c.cid)), c.expected);
}

INSTANTIATE_TEST_SUITE_P(
    Profiles, VendorApnTest,
    ::testing::Values(
        ApnCase{"Generic_NoAuth", Vendor::generic, apn("internet"), 1, {"AT+CGDCONT=1,\"IP\",\"internet\""}},
        ApnCase{"Generic_Chap",
                Vendor::generic,
                apn("corp.apn", ApnAuth::chap, IpType::ipv4, "bob", "s3cret"),
                1,
                {"AT+CGDCONT=1,\"IP\",\"corp.apn\"", "AT+CGAUTH=1,2,\"bob\",\"s3cret\""}},
        ApnCase{"Generic_PapIpv4v6Cid3",
                Vendor::generic,
                apn("iot", ApnAuth::pap, IpType::ipv4v6, "u", "p"),
                3,
                {"AT+CGDCONT=3,\"IPV4V6\",\"iot\"", "AT+CGAUTH=3,1,\"u\",\"p\""}},
        ApnCase{"Generic_Ipv6", Vendor::generic, apn("v6", ApnAuth::none, IpType::ipv6), 1,
                {"AT+CGDCONT=1,\"IPV6\",\"v6\""}},
        ApnCase{"Generic_QuotesAndNewlinesStripped",
                Vendor::generic,
                apn("in\"ter\rnet", ApnAuth::pap, IpType::ipv4, "a\"b", "x\"\r\nAT+CFUN=0"),
                1,
                {"AT+CGDCONT=1,\"IP\",\"internet\"", "AT+CGAUTH=1,1,\"ab\",\"xAT+CFUN=0\""}},
        ApnCase{"QuectelEC25_QicsgpNoAuth", Vendor::quectel, apn("cmnet"), 1,
                {"AT+QICSGP=1,1,\"cmnet\",\"\",\"\",0"}},
        ApnCase{"QuectelEC25_QicsgpNoAuthIgnoresStrayCredentials", Vendor::quectel,
                apn("cmnet", ApnAuth::none, IpType::ipv4, "u", "p"), 1, {"AT+QICSGP=1,1,\"cmnet\",\"\",\"\",0"}},
        ApnCase{"QuectelEC200A_QicsgpChapIpv4v6",
                Vendor::quectel,
                apn("corp", ApnAuth::chap, IpType::ipv4v6, "bob", "s3cret"),
                1,
                {"AT+QICSGP=1,3,\"corp\",\"bob\",\"s3cret\",2"}},
        ApnCase{"QuectelEG25_QicsgpPapIpv6Cid2",
                Vendor::quectel,
                apn("v6", ApnAuth::pap, IpType::ipv6, "u", "p"),
                2,
                {"AT+QICSGP=2,2,\"v6\",\"u\",\"p\",1"}},
        ApnCase{"SimcomSIM7600_NoAuth", Vendor::simcom, apn("internet"), 1, {"AT+CGDCONT=1,\"IP\",\"internet\""}},
        ApnCase{"SimcomA7670_PasswordBeforeUser",
                Vendor::simcom,
                apn("corp", ApnAuth::pap, IpType::ipv4v6, "bob", "s3cret"),
                1,
                {"AT+CGDCONT=1,\"IPV4V6\",\"corp\"", "AT+CGAUTH=1,1,\"s3cret\",\"bob\""}},
        ApnCase{"LuatAir780E_CpnetapnChap",
                Vendor::luat,
                apn("jscmiot", ApnAuth::chap, IpType::ipv4, "u9682", "iot98765"),
                1,
                {"AT+CPNETAPN=2,\"jscmiot\",\"u9682\",\"iot98765\",2"}},
        ApnCase{"LuatAir780E_CpnetapnNoAuth", Vendor::luat, apn("cmiot"), 1, {"AT+CPNETAPN=2,\"cmiot\",\"\",\"\",0"}},
        ApnCase{"LuatAir780E_EmptyApnSendsNothing", Vendor::luat, apn(""), 1, {}},
        ApnCase{"HuaweiME909s_CgdcontOnly",
                Vendor::huawei,
                apn("corp", ApnAuth::chap, IpType::ipv4v6, "bob", "s3cret"),
                1,
                {"AT+CGDCONT=1,\"IPV4V6\",\"corp\""}}),
    [](const auto& tc) { return std::string(tc.param.name); });

TEST(VendorApn, SecretsOnlyInApnCommands) {
    const auto settings = apn("corp", ApnAuth::chap, IpType::ipv4, "bob", "s3cret");
    for (Vendor v : {Vendor::generic, Vendor::quectel, Vendor::simcom, Vendor::luat}) {
        auto p = make_vendor_profile(v);
        p->apn_commands(settings, 1);
        for (const auto& s : p->data_call_start(1)) EXPECT_EQ(s.command.find("s3cret"), std::string::npos) << to_string(v);
        EXPECT_EQ(p->data_call_stop(1).command.find("s3cret"), std::string::npos);
    }
}

TEST(VendorApn, Timeouts) {
    EXPECT_EQ(make_vendor_profile(Vendor::generic)->apn_commands(apn("a", ApnAuth::pap, IpType::ipv4, "u", "p"), 1).at(1).timeout, 3s);
    EXPECT_EQ(make_vendor_profile(Vendor::quectel)->apn_commands(apn("a"), 1).at(0).timeout, 3s);
    // CPNETAPN restarts the protocol stack.
    EXPECT_EQ(make_vendor_profile(Vendor::luat)->apn_commands(apn("a"), 1).at(0).timeout, 15s);
}

// ---------------------------------------------------------------------------------------------
// Data call commands

struct CallCase {
    const char* name;
    Vendor vendor;
    int cid;
    std::vector<std::string> start;
    std::chrono::milliseconds start_timeout;
    std::string stop;
    std::string query;
    std::string ip;
    std::string iccid;
    std::string reset;
    std::chrono::milliseconds reset_timeout;
};

class VendorCallTest : public ::testing::TestWithParam<CallCase> {};

TEST_P(VendorCallTest, Commands) {
    const auto& c = GetParam();
    auto p = make_vendor_profile(c.vendor);
    EXPECT_EQ(p->id(), c.vendor);
    const auto start = p->data_call_start(c.cid);
    EXPECT_EQ(commands(start), c.start);
    ASSERT_FALSE(start.empty());
    EXPECT_EQ(start.back().timeout, c.start_timeout);
    EXPECT_EQ(p->data_call_stop(c.cid).command, c.stop);
    EXPECT_EQ(p->data_call_stop(c.cid).timeout, 120s);
    EXPECT_EQ(p->data_call_query(c.cid).command, c.query);
    EXPECT_EQ(p->data_call_query(c.cid).timeout, 3s);
    EXPECT_EQ(p->ip_query(c.cid).command, c.ip);
    EXPECT_EQ(p->iccid_query().command, c.iccid);
    EXPECT_EQ(p->reset_command().command, c.reset);
    EXPECT_EQ(p->reset_command().timeout, c.reset_timeout);
}

INSTANTIATE_TEST_SUITE_P(
    Profiles, VendorCallTest,
    ::testing::Values(
        CallCase{"Generic", Vendor::generic, 1, {"AT+CGACT=1,1"}, 150s, "AT+CGACT=0,1", "AT+CGACT?",
                 "AT+CGPADDR=1", "AT+CRSM=176,12258,0,0,10", "AT+CFUN=1,1", 15s},
        CallCase{"GenericCid2", Vendor::generic, 2, {"AT+CGACT=1,2"}, 150s, "AT+CGACT=0,2", "AT+CGACT?",
                 "AT+CGPADDR=2", "AT+CRSM=176,12258,0,0,10", "AT+CFUN=1,1", 15s},
        CallCase{"QuectelEC200A", Vendor::quectel, 1, {"AT+QNETDEVCTL=1,1,1"}, 180s, "AT+QNETDEVCTL=0,1,0",
                 "AT+QNETDEVCTL?", "AT+CGPADDR=1", "AT+QCCID", "AT+CFUN=1,1", 15s},
        CallCase{"SimcomSIM7600", Vendor::simcom, 1, {"AT$QCRMCALL=1,1"}, 180s, "AT$QCRMCALL=0,1", "AT$QCRMCALL?",
                 "AT+CGPADDR=1", "AT+CICCID", "AT+CRESET", 9s},
        CallCase{"SimcomSIM7600Cid2", Vendor::simcom, 2, {"AT$QCRMCALL=1,1,1,2,2"}, 180s, "AT$QCRMCALL=0,1",
                 "AT$QCRMCALL?", "AT+CGPADDR=2", "AT+CICCID", "AT+CRESET", 9s},
        CallCase{"LuatAir780E", Vendor::luat, 1, {"AT+RNDISCALL=1"}, 3s, "AT+CGACT=0,1", "AT+CGACT?",
                 "AT+CGPADDR=1", "AT+CCID", "AT+RESET", 15s},
        CallCase{"HuaweiME909sWithoutApn", Vendor::huawei, 1, {"AT^NDISDUP=1,1"}, 180s, "AT^NDISDUP=1,0",
                 "AT^NDISSTATQRY?", "AT+CGPADDR=1", "AT^ICCID?", "AT^RESET", 15s}),
    [](const auto& tc) { return std::string(tc.param.name); });

// The dial for the module in hand: its model and the netdev its USB mode offers.
struct DialCase {
    const char* name;
    Vendor vendor;
    ModuleTraits traits;
    const char* start;
    const char* stop;
    const char* query;
};

class VendorDialTest : public ::testing::TestWithParam<DialCase> {};

TEST_P(VendorDialTest, FitsTheModule) {
    const auto& c = GetParam();
    auto p = make_vendor_profile(c.vendor, c.traits);
    EXPECT_EQ(p->id(), c.vendor);
    EXPECT_EQ(commands(p->data_call_start(1)), std::vector<std::string>{c.start});
    EXPECT_EQ(p->data_call_stop(1).command, c.stop);
    EXPECT_EQ(p->data_call_query(1).command, c.query);
}

INSTANTIATE_TEST_SUITE_P(
    Modules, VendorDialTest,
    ::testing::Values(
        DialCase{"QuectelEC200A", Vendor::quectel, {"EC200A", NetdevKind::ecm}, "AT+QNETDEVCTL=1,1,1",
                 "AT+QNETDEVCTL=0,1,0", "AT+QNETDEVCTL?"},
        DialCase{"QuectelEG915U", Vendor::quectel, {"EG915U", NetdevKind::ecm}, "AT+QNETDEVCTL=1,1,1",
                 "AT+QNETDEVCTL=0,1,0", "AT+QNETDEVCTL?"},
        DialCase{"QuectelEC25Ecm", Vendor::quectel, {"EC25", NetdevKind::ecm}, "AT+CGACT=1,1", "AT+CGACT=0,1", "AT+CGACT?"},
        DialCase{"QuectelEC25Qmi", Vendor::quectel, {"EC25", NetdevKind::qmi}, "AT$QCRMCALL=1,1", "AT$QCRMCALL=0,1",
                 "AT$QCRMCALL?"},
        DialCase{"QuectelEC25Uart", Vendor::quectel, {"EC25", NetdevKind::none}, "AT+CGACT=1,1", "AT+CGACT=0,1", "AT+CGACT?"},
        DialCase{"QuectelUnknownModel", Vendor::quectel, {"", NetdevKind::unknown}, "AT+QNETDEVCTL=1,1,1",
                 "AT+QNETDEVCTL=0,1,0", "AT+QNETDEVCTL?"},
        DialCase{"QuectelRefused", Vendor::quectel, {"", NetdevKind::unknown, true}, "AT+CGACT=1,1", "AT+CGACT=0,1",
                 "AT+CGACT?"},
        DialCase{"SimcomSIM7600", Vendor::simcom, {"SIMCOM_SIM7600E-H", NetdevKind::ecm}, "AT$QCRMCALL=1,1",
                 "AT$QCRMCALL=0,1", "AT$QCRMCALL?"},
        DialCase{"SimcomA7670", Vendor::simcom, {"A7670E-LASE", NetdevKind::ecm}, "AT+CGACT=1,1", "AT+CGACT=0,1",
                 "AT+CGACT?"},
        DialCase{"SimcomRefused", Vendor::simcom, {"SIMCOM_SIM7600E-H", NetdevKind::ecm, true}, "AT+CGACT=1,1",
                 "AT+CGACT=0,1", "AT+CGACT?"},
        DialCase{"LuatRefused", Vendor::luat, {"Air780E", NetdevKind::ecm, true}, "AT+CGACT=1,1", "AT+CGACT=0,1",
                 "AT+CGACT?"},
        DialCase{"HuaweiRefused", Vendor::huawei, {"ME909s-821", NetdevKind::ecm, true}, "AT+CGACT=1,1",
                 "AT+CGACT=0,1", "AT+CGACT?"}),
    [](const auto& tc) { return std::string(tc.param.name); });

TEST(VendorDial, AFallbackKeepsEverythingElseTheVendors) {
    auto p = make_vendor_profile(Vendor::quectel, {"", NetdevKind::unknown, true});
    EXPECT_EQ(p->iccid_query().command, "AT+QCCID");
    EXPECT_TRUE(p->urc_means_data_lost("+QNETDEVSTATUS: 0"));
    EXPECT_EQ(commands(p->apn_commands(apn("cmnet"), 1)), std::vector<std::string>{"AT+QICSGP=1,1,\"cmnet\",\"\",\"\",0"});
    EXPECT_EQ(p->parse_data_call_up(ok({"+CGACT: 1,1"}), 1), true);
}

TEST(VendorDial, OnlyAnUnknownCommandIsAFallback) {
    AtResult error;
    error.status = AtStatus::error;
    EXPECT_TRUE(refused_as_unknown(error));
    AtResult unsupported;
    unsupported.status = AtStatus::cme_error;
    unsupported.error_code = 4;
    EXPECT_TRUE(refused_as_unknown(unsupported));
    AtResult rejected = unsupported;
    rejected.error_code = 33;  // the network refused the service option
    EXPECT_FALSE(refused_as_unknown(rejected));
    AtResult timeout;
    timeout.status = AtStatus::timeout;
    EXPECT_FALSE(refused_as_unknown(timeout));
}

TEST(VendorHuawei, NdisdupCarriesRememberedApn) {
    auto p = make_vendor_profile(Vendor::huawei);
    p->apn_commands(apn("internet"), 1);
    EXPECT_EQ(commands(p->data_call_start(1)), std::vector<std::string>{"AT^NDISDUP=1,1,\"internet\""});
    p->apn_commands(apn("corp", ApnAuth::chap, IpType::ipv4, "bob", "s3cret"), 1);
    EXPECT_EQ(commands(p->data_call_start(1)),
              std::vector<std::string>{"AT^NDISDUP=1,1,\"corp\",\"bob\",\"s3cret\",2"});
    p->apn_commands(apn("", ApnAuth::pap, IpType::ipv4, "u", "p"), 1);
    EXPECT_EQ(commands(p->data_call_start(1)), std::vector<std::string>{"AT^NDISDUP=1,1,\"\",\"u\",\"p\",1"});
    p->apn_commands(apn(""), 1);
    EXPECT_EQ(commands(p->data_call_start(1)), std::vector<std::string>{"AT^NDISDUP=1,1"});
}

// ---------------------------------------------------------------------------------------------
// Data call state

struct UpCase {
    const char* name;
    Vendor vendor;
    AtResult reply;
    int cid;
    std::optional<bool> expected;
};

class VendorDataCallUpTest : public ::testing::TestWithParam<UpCase> {};

TEST_P(VendorDataCallUpTest, Parses) {
    const auto& c = GetParam();
    EXPECT_EQ(make_vendor_profile(c.vendor)->parse_data_call_up(c.reply, c.cid), c.expected);
}

INSTANTIATE_TEST_SUITE_P(
    Replies, VendorDataCallUpTest,
    ::testing::Values(
        UpCase{"Generic_CgactUp", Vendor::generic, ok({"+CGACT: 1,1", "+CGACT: 2,0"}), 1, true},
        UpCase{"Generic_CgactDown", Vendor::generic, ok({"+CGACT: 1,0"}), 1, false},
        UpCase{"Generic_CgactOtherCidUp", Vendor::generic, ok({"+CGACT: 1,0", "+CGACT: 2,1"}), 2, true},
        UpCase{"Generic_CgactNoLineForCid", Vendor::generic, ok({"+CGACT: 2,1"}), 1, false},
        UpCase{"Generic_CgactEmpty", Vendor::generic, ok({}), 1, false},
        UpCase{"Generic_CgactGarbageState", Vendor::generic, ok({"+CGACT: 1,x"}), 1, std::nullopt},
        UpCase{"Generic_Error", Vendor::generic, failed(), 1, std::nullopt},
        UpCase{"Generic_Timeout", Vendor::generic, failed(AtStatus::timeout), 1, std::nullopt},
        UpCase{"QuectelEC200A_Connected", Vendor::quectel, ok({"+QNETDEVCTL: 1,1,1,1"}), 1, true},
        UpCase{"QuectelEC200A_Connecting", Vendor::quectel, ok({"+QNETDEVCTL: 1,1,1,0"}), 1, false},
        UpCase{"QuectelEC200A_Idle", Vendor::quectel, ok({"+QNETDEVCTL: 0,1,0,0"}), 1, false},
        UpCase{"QuectelEC200A_OtherCid", Vendor::quectel, ok({"+QNETDEVCTL: 1,2,1,1"}), 1, false},
        UpCase{"QuectelEC200A_NoSpace", Vendor::quectel, ok({"+QNETDEVCTL:3,1,1,1"}), 1, true},
        UpCase{"QuectelEC200A_NoLine", Vendor::quectel, ok({}), 1, false},
        UpCase{"QuectelEC200A_Short", Vendor::quectel, ok({"+QNETDEVCTL: 1,1"}), 1, std::nullopt},
        UpCase{"QuectelEC25_NotSupported", Vendor::quectel, failed(), 1, std::nullopt},
        UpCase{"SimcomSIM7600_UpV4", Vendor::simcom, ok({"$QCRMCALL: 1,V4"}), 1, true},
        UpCase{"SimcomSIM7600_UpV4V6", Vendor::simcom, ok({"$QCRMCALL: 1,V4", "$QCRMCALL: 1,V6"}), 1, true},
        UpCase{"SimcomSIM7600_Down", Vendor::simcom, ok({}), 1, false},
        UpCase{"SimcomA7670_NoQcrmcall", Vendor::simcom, failed(), 1, std::nullopt},
        UpCase{"LuatAir780E_DefaultBearerUp", Vendor::luat, ok({"+CGACT: 1,1"}), 1, true},
        UpCase{"LuatAir780E_DefaultBearerDown", Vendor::luat, ok({"+CGACT: 1,0"}), 1, false},
        UpCase{"HuaweiME909s_Ipv4Up", Vendor::huawei, ok({"^NDISSTATQRY: 1,,,\"IPV4\",0,,,\"IPV6\""}), 1, true},
        UpCase{"HuaweiME909s_Ipv6Up", Vendor::huawei, ok({"^NDISSTATQRY: 0,,,\"IPV4\",1,,,\"IPV6\""}), 1, true},
        UpCase{"HuaweiME909s_BothDown", Vendor::huawei, ok({"^NDISSTATQRY: 0,,,\"IPV4\",0,,,\"IPV6\""}), 1, false},
        UpCase{"HuaweiME909s_DownWithError", Vendor::huawei, ok({"^NDISSTATQRY: 0,33,,\"IPV4\""}), 1, false},
        UpCase{"HuaweiME909s_NdisstatPrefix", Vendor::huawei, ok({"^NDISSTAT: 1,,,\"IPV4\""}), 1, true},
        UpCase{"HuaweiME909s_NoLine", Vendor::huawei, ok({}), 1, std::nullopt},
        UpCase{"HuaweiME909s_Error", Vendor::huawei, failed(AtStatus::cme_error), 1, std::nullopt}),
    [](const auto& tc) { return std::string(tc.param.name); });

// ---------------------------------------------------------------------------------------------
// IP and ICCID

TEST(VendorIp, GenericUsesCgpaddr) {
    auto p = make_vendor_profile(Vendor::generic);
    EXPECT_EQ(p->parse_ip(ok({"+CGPADDR: 1,\"10.76.51.180\""}), 1), "10.76.51.180");
    EXPECT_EQ(p->parse_ip(ok({"+CGPADDR: 1,\"0.0.0.0\""}), 1), std::nullopt);
    EXPECT_EQ(p->parse_ip(failed(), 1), std::nullopt);
}

TEST(VendorIp, EveryVendorReadsCgpaddr) {
    for (Vendor v : {Vendor::quectel, Vendor::simcom, Vendor::luat, Vendor::huawei}) {
        auto p = make_vendor_profile(v);
        EXPECT_EQ(p->parse_ip(ok({"+CGPADDR: 1,\"10.1.2.3\""}), 1), "10.1.2.3") << to_string(v);
    }
}

TEST(VendorIp, HuaweiDhcpHexLsbFirst) {
    auto p = make_vendor_profile(Vendor::huawei);
    // 10.64.0.12 as ^DHCP prints it: little-endian hex.
    EXPECT_EQ(p->parse_ip(ok({"^DHCP: 0C00400A,F8FFFFFF,0D00400A,0D00400A,0100A8C0,0200A8C0,150000000,150000000"}), 1),
              "10.64.0.12");
    EXPECT_EQ(p->parse_ip(ok({"^DHCP: 00000000,0,0,0,0,0,0,0"}), 1), std::nullopt);
}

struct IccidCase {
    const char* name;
    Vendor vendor;
    AtResult reply;
    std::optional<std::string> expected;
};

class VendorIccidTest : public ::testing::TestWithParam<IccidCase> {};

TEST_P(VendorIccidTest, Parses) {
    const auto& c = GetParam();
    EXPECT_EQ(make_vendor_profile(c.vendor)->parse_iccid(c.reply), c.expected);
}

INSTANTIATE_TEST_SUITE_P(
    Replies, VendorIccidTest,
    ::testing::Values(
        IccidCase{"QuectelEC800K_NoSpace", Vendor::quectel, ok({"+QCCID:89860025128306012474"}), "89860025128306012474"},
        IccidCase{"QuectelEC25", Vendor::quectel, ok({"+QCCID: 89860025128306012474"}), "89860025128306012474"},
        IccidCase{"QuectelEC25_TrailingF", Vendor::quectel, ok({"+QCCID: 8986002512830601247F"}), "8986002512830601247"},
        IccidCase{"QuectelEC25_Error", Vendor::quectel, failed(AtStatus::cme_error), std::nullopt},
        IccidCase{"SimcomSIM7600_Iccid", Vendor::simcom, ok({"+ICCID: 89860318760220133897"}), "89860318760220133897"},
        IccidCase{"SimcomSIM7100_Ciccid", Vendor::simcom, ok({"+CICCID: 89860318760220133897"}), "89860318760220133897"},
        IccidCase{"LuatAir780E_BareDigits", Vendor::luat, ok({"89860321245570108745"}), "89860321245570108745"},
        IccidCase{"LuatAir780E_CcidPrefix", Vendor::luat, ok({"+CCID: 89860321245570108745"}), "89860321245570108745"},
        IccidCase{"LuatAir780E_Garbage", Vendor::luat, ok({"ERROR-ish"}), std::nullopt},
        IccidCase{"HuaweiME909s_Swapped", Vendor::huawei, ok({"^ICCID: 98681031981083022433"}), "89860113890138204233"},
        IccidCase{"HuaweiME909s_SwappedFiller", Vendor::huawei, ok({"^ICCID: 986810319810830224F3"}), "8986011389013820423"},
        // 'F' inside the account part is a digit on China Mobile cards ("898602F9..."), not a filler.
        IccidCase{"HuaweiME909s_SwappedHexInside", Vendor::huawei, ok({"^ICCID: 98681031F81083022433"}),
                  "898601138F0138204233"},
        IccidCase{"HuaweiME909s_NotAnIccid", Vendor::huawei, ok({"^ICCID: 00681031981083022433"}), std::nullopt},
        IccidCase{"HuaweiME909s_Plain", Vendor::huawei, ok({"^ICCID: 89860113890138204233"}), "89860113890138204233"},
        IccidCase{"Generic_Crsm", Vendor::generic, ok({"+CRSM: 144,0,\"98681031981083022433\""}), "89860113890138204233"},
                IccidCase{"Generic_Crsm19DigitsFiller", Vendor::generic, ok({"+CRSM: 144,0,\"986810319810830224F3\""}),
                  "8986011389013820423"},
        IccidCase{"Generic_CrsmBadStatus", Vendor::generic, ok({"+CRSM: 106,130,\"\""}), std::nullopt},
        IccidCase{"Generic_CrsmNotIccid", Vendor::generic, ok({"+CRSM: 144,0,\"11223344556677889900\""}), std::nullopt},
        IccidCase{"Generic_BareFallback", Vendor::generic, ok({"89860113890138204233"}), "89860113890138204233"}),
    [](const auto& tc) { return std::string(tc.param.name); });

// ---------------------------------------------------------------------------------------------
// URCs

struct UrcCase {
    const char* name;
    Vendor vendor;
    const char* urc;
    bool lost;
};

class VendorUrcTest : public ::testing::TestWithParam<UrcCase> {};

TEST_P(VendorUrcTest, DataLost) {
    const auto& c = GetParam();
    EXPECT_EQ(make_vendor_profile(c.vendor)->urc_means_data_lost(c.urc), c.lost);
}

INSTANTIATE_TEST_SUITE_P(
    Urcs, VendorUrcTest,
    ::testing::Values(UrcCase{"QuectelEC200A_StatusDown", Vendor::quectel, "+QNETDEVSTATUS: 0", true},
                      UrcCase{"QuectelEC200A_StatusDownLong", Vendor::quectel, "+QNETDEVSTATUS: 0,1,4,1", true},
                      UrcCase{"QuectelEC200A_StatusUp", Vendor::quectel, "+QNETDEVSTATUS: 1,1,4,1", false},
                      UrcCase{"QuectelEC25_PdpDeact", Vendor::quectel, "+QIURC: \"pdpdeact\",1", true},
                      UrcCase{"QuectelEC25_SocketClosed", Vendor::quectel, "+QIURC: \"closed\",0", false},
                      UrcCase{"QuectelEC25_Rdy", Vendor::quectel, "RDY", false},
                      UrcCase{"HuaweiME909s_Ipv4Down", Vendor::huawei, "^NDISSTAT: 0,,,\"IPV4\"", true},
                      UrcCase{"HuaweiME909s_BareDown", Vendor::huawei, "^NDISSTAT: 0", true},
                      UrcCase{"HuaweiME909s_Ipv6DownOnly", Vendor::huawei, "^NDISSTAT: 0,,,\"IPV6\"", false},
                      UrcCase{"HuaweiME909s_Up", Vendor::huawei, "^NDISSTAT: 1,,,\"IPV4\"", false},
                      UrcCase{"Generic_CgevIsNotTheProfilesJob", Vendor::generic, "+CGEV: NW PDN DEACT 1", false},
                      UrcCase{"SimcomSIM7600_QnetdevIgnored", Vendor::simcom, "+QNETDEVSTATUS: 0", false},
                      UrcCase{"LuatAir780E_NdisIgnored", Vendor::luat, "^NDISSTAT: 0", false}),
    [](const auto& tc) { return std::string(tc.param.name); });

// ---------------------------------------------------------------------------------------------
// Detection, names

TEST(VendorNames, RoundTrip) {
    for (Vendor v : {Vendor::generic, Vendor::quectel, Vendor::simcom, Vendor::luat, Vendor::huawei}) {
        EXPECT_EQ(vendor_from_string(to_string(v)), v);
    }
    EXPECT_STREQ(to_string(Vendor::quectel), "quectel");
    EXPECT_EQ(vendor_from_string("Quectel"), std::nullopt);
    EXPECT_EQ(vendor_from_string(""), std::nullopt);
    EXPECT_EQ(vendor_from_string("nokia"), std::nullopt);
}

struct TextCase {
    const char* text;
    Vendor expected;
};

class VendorDetectTextTest : public ::testing::TestWithParam<TextCase> {};

TEST_P(VendorDetectTextTest, Detects) { EXPECT_EQ(detect_vendor_text(GetParam().text), GetParam().expected); }

INSTANTIATE_TEST_SUITE_P(Cgmi, VendorDetectTextTest,
                         ::testing::Values(TextCase{"Quectel", Vendor::quectel},
                                           TextCase{"Quectel_Ltd", Vendor::quectel},
                                           TextCase{"Quectel\nEC25\nRevision: EC25EFAR06A06M4G", Vendor::quectel},
                                           TextCase{"SIMCOM INCORPORATED", Vendor::simcom},
                                           TextCase{"SIMCOM_Ltd", Vendor::simcom},
                                           TextCase{"SIMTECH INCORPORATED", Vendor::simcom},
                                           TextCase{"AirM2M", Vendor::luat},
                                           TextCase{"OPENLUAT", Vendor::luat},
                                           TextCase{"Huawei Technologies Co., Ltd.", Vendor::huawei},
                                           TextCase{"HUAWEI", Vendor::huawei},
                                           TextCase{"Generic Modem Inc", Vendor::generic},
                                           TextCase{"", Vendor::generic}));

TEST(VendorDetectUsb, KnownModules) {
    EXPECT_EQ(detect_vendor_usb(0x2c7c, 0x0125), Vendor::quectel);  // EC25
    EXPECT_EQ(detect_vendor_usb(0x2c7c, 0x6005), Vendor::quectel);  // EC200A
    EXPECT_EQ(detect_vendor_usb(0x1e0e, 0x9001), Vendor::simcom);   // SIM7600
    EXPECT_EQ(detect_vendor_usb(0x1e0e, 0x9011), Vendor::simcom);   // A7600E-H
    EXPECT_EQ(detect_vendor_usb(0x19d1, 0x0001), Vendor::luat);     // Air780E
    EXPECT_EQ(detect_vendor_usb(0x1782, 0x4e00), Vendor::luat);     // Air72xU
    EXPECT_EQ(detect_vendor_usb(0x12d1, 0x15c1), Vendor::huawei);   // ME909s
}

TEST(VendorDetectUsb, VendorOwnedIdsAndUnknowns) {
    EXPECT_EQ(detect_vendor_usb(0x2c7c, 0x9999), Vendor::quectel);
    EXPECT_EQ(detect_vendor_usb(0x1782, 0x0001), std::nullopt);  // Unisoc VID is shared
    EXPECT_EQ(detect_vendor_usb(0x05c6, 0x9330), std::nullopt);  // Qualcomm VID is shared
    EXPECT_EQ(detect_vendor_usb(0x0000, 0x0000), std::nullopt);
}

TEST(VendorUsbIds, ProfilesListTheirModules) {
    auto q = make_vendor_profile(Vendor::quectel)->usb_ids();
    auto ec25 = std::find_if(q.begin(), q.end(), [](const UsbId& u) { return u.pid == 0x0125; });
    ASSERT_NE(ec25, q.end());
    EXPECT_EQ(ec25->vid, 0x2c7c);
    EXPECT_EQ(ec25->at_interface, 2);
    auto s = make_vendor_profile(Vendor::simcom)->usb_ids();
    auto a7600 = std::find_if(s.begin(), s.end(), [](const UsbId& u) { return u.pid == 0x9011; });
    ASSERT_NE(a7600, s.end());
    EXPECT_EQ(a7600->at_interface, 4);
    EXPECT_TRUE(make_vendor_profile(Vendor::generic)->usb_ids().empty());
    for (Vendor v : {Vendor::quectel, Vendor::simcom, Vendor::luat, Vendor::huawei})
        for (const auto& id : make_vendor_profile(v)->usb_ids()) EXPECT_EQ(detect_vendor_usb(id.vid, id.pid), v);
}

// ---------------------------------------------------------------------------------------------
// Redaction

TEST(VendorRedact, NoSecretSurvivesAnyProfile) {
    const auto settings = apn("corp", ApnAuth::chap, IpType::ipv4v6, "alice-user", "hunter2pw");
    for (Vendor v : {Vendor::generic, Vendor::quectel, Vendor::simcom, Vendor::luat, Vendor::huawei}) {
        auto p = make_vendor_profile(v);
        auto steps = p->apn_commands(settings, 1);
        for (const auto& s : p->data_call_start(1)) steps.push_back(s);
        for (const auto& s : steps) {
            const auto r = redacted(s.command);
            EXPECT_EQ(r.find("hunter2pw"), std::string::npos) << r;
            EXPECT_EQ(r.find("alice-user"), std::string::npos) << r;
        }
    }
}

TEST(VendorDetail, SwappedIccid) {
    EXPECT_EQ(detail::decode_swapped_iccid("98681031981083022433"), "89860113890138204233");
    EXPECT_EQ(detail::decode_swapped_iccid("\"98681031981083022433\""), "89860113890138204233");
    EXPECT_EQ(detail::decode_swapped_iccid("9868103109831002423"), std::nullopt);  // odd length
    // Hex digits are account digits on China Mobile cards, never in the country/issuer part.
    EXPECT_EQ(detail::decode_swapped_iccid("98681A31981083022433"), std::nullopt);
}

}  // namespace
}  // namespace cellgate::modem
