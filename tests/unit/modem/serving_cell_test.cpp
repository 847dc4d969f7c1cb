// The serving cell from each vendor's report, fed with real replies: the reference examples of the
// vendors' manuals and replies quoted in public code (named per case).
#include "modem/serving_cell.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "unit/support/fake_at.hpp"

namespace cellgate::modem {
namespace {

using testing::ok;

struct Want {
    AccessTech rat = AccessTech::none;
    std::string band;
    std::optional<uint32_t> arfcn;
    std::optional<uint32_t> pci;
    std::string cell_id;
    std::string tac;
    std::optional<int> rsrp;
    std::optional<int> rsrq;
    std::optional<int> sinr;
};

void expect_cell(const std::optional<ServingCell>& got, const Want& w, const std::string& what) {
    ASSERT_TRUE(got.has_value()) << what;
    EXPECT_EQ(got->rat, w.rat) << what;
    EXPECT_EQ(got->band, w.band) << what;
    EXPECT_EQ(got->arfcn, w.arfcn) << what;
    EXPECT_EQ(got->pci, w.pci) << what;
    EXPECT_EQ(got->cell_id, w.cell_id) << what;
    EXPECT_EQ(got->tac, w.tac) << what;
    EXPECT_EQ(got->rsrp_dbm, w.rsrp) << what;
    EXPECT_EQ(got->rsrq_db, w.rsrq) << what;
    EXPECT_EQ(got->sinr_db, w.sinr) << what;
}

constexpr std::nullopt_t kNone = std::nullopt;

Want rat_only(AccessTech rat) {
    Want w;
    w.rat = rat;
    return w;
}

// ---- Quectel AT+QENG="servingcell" ---------------------------------------------------------

struct QengCase {
    const char* name;
    std::vector<std::string> lines;
    Want want;
};
class CellQuectel : public ::testing::TestWithParam<QengCase> {};
TEST_P(CellQuectel, Reads) { expect_cell(parse_qeng_servingcell(GetParam().lines), GetParam().want, GetParam().name); }
INSTANTIATE_TEST_SUITE_P(
    Replies, CellQuectel,
    ::testing::Values(
        // EC25 reply quoted by several public drivers; SINR 53 is on the manual's 1/5 dB scale.
        QengCase{"Ec25Lte",
                 {"+QENG: \"servingcell\",\"NOCONN\",\"LTE\",\"FDD\",505,02,12AED4A,445,3750,8,3,3,CBE8,-99,-14,-71,53,30"},
                 {AccessTech::lte, "B8", 3750, 445, "12AED4A", "CBE8", -99, -14, -9}},
        // EG25-G reply kept by the openqti project: SINR 11 fits both scales, so it stays unknown.
        QengCase{"Eg25LteAmbiguousSinr",
                 {"+QENG: \"servingcell\",\"NOCONN\",\"LTE\",\"FDD\",214,01,7676A09,188,6300,20,3,3,603,-104,-9,-78,11,23"},
                 {AccessTech::lte, "B20", 6300, 188, "7676A09", "603", -104, -9, kNone}},
        QengCase{"Searching", {"+QENG: \"servingcell\",\"SEARCH\""}, {}},
        // EN-DC: the LTE anchor and the NR leg on lines of their own (RM500Q AT manual layout).
        QengCase{"EnDc",
                 {"+QENG: \"servingcell\",\"NOCONN\"",
                  "+QENG: \"LTE\",\"FDD\",460,01,5F1A30B,123,1650,3,5,5,2B3C,-95,-11,-64,150,8,-,-",
                  "+QENG: \"NR5G-NSA\",460,01,501,-92,18,-11,627264,78,12,1"},
                 {AccessTech::lte, "B3+n78", 1650, 123, "5F1A30B", "2B3C", -95, -11, 10}},
        QengCase{"Nr5gSa",
                 {"+QENG: \"servingcell\",\"NOCONN\",\"NR5G-SA\",\"TDD\",460,00,1A2B3C4D5,301,A0B1,504990,41,12,-88,-11,14,1,-"},
                 {AccessTech::nr5g, "n41", 504990, 301, "1A2B3C4D5", "A0B1", -88, -11, 14}},
        QengCase{"Wcdma",
                 {"+QENG: \"servingcell\",\"NOCONN\",\"WCDMA\",460,01,A3F,2A5C07,10713,300,1,-85,-7,-,-,-,-,-"},
                 {AccessTech::umts, "", 10713, kNone, "2A5C07", "A3F", kNone, kNone, kNone}},
        QengCase{"UnavailableFieldsAreDashes",
                 {"+QENG: \"servingcell\",\"LIMSRV\",\"LTE\",\"FDD\",460,00,-,-,1300,3,-,-,-,-,-,-,-,-"},
                 {AccessTech::lte, "B3", 1300, kNone, "", "", kNone, kNone, kNone}}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(CellQuectel, NothingReadable) {
    EXPECT_EQ(parse_qeng_servingcell({}), std::nullopt);
    EXPECT_EQ(parse_qeng_servingcell({"+QENG: \"neighbourcell intra\",\"LTE\",6300,188,-12,-105,-75,-20,23,4,12,10,62"}),
              std::nullopt);
}

// ---- SIMCom AT+CPSI? -------------------------------------------------------------------------

struct CpsiCase {
    const char* name;
    const char* value;
    Want want;
};
class CellSimcom : public ::testing::TestWithParam<CpsiCase> {};
TEST_P(CellSimcom, Reads) { expect_cell(parse_cpsi(GetParam().value), GetParam().want, GetParam().name); }
INSTANTIATE_TEST_SUITE_P(
    Replies, CellSimcom,
    ::testing::Values(
        // SIM7600: RSRQ/RSRP in tenths (a public ROS message definition quoting the AT manual).
        CpsiCase{"Sim7600Tenths", "LTE,Online,404-45,0x21F9,322642,453,EUTRAN-BAND40,39275,4,4,-168,-1126,-773,7",
                 {AccessTech::lte, "B40", 39275, 453, "4EC52", "21F9", -113, -17, 7}},
        // SIM7080 (Cat-M): whole units (a public Rust driver's test table).
        CpsiCase{"Sim7080CatM", "LTE CAT-M1,Online,240-07,0x2AFE,34564631,149,EUTRAN-BAND20,6400,3,3,-12,-81,-52,10",
                 {AccessTech::lte, "B20", 6400, 149, "20F6A17", "2AFE", -81, -12, 10}},
        // Report indices (an oFono SIMCom driver's example).
        CpsiCase{"ReportIndices", "LTE,Online,460-01,0x230A,175499523,318,EUTRAN-BAND3,1650,5,0,21,67,255,19",
                 {AccessTech::lte, "B3", 1650, 318, "A75E903", "230A", -74, -10, 19}},
        CpsiCase{"NoService", "NO SERVICE,Online", {}},
        CpsiCase{"Sim8200Gsm", "GSM,Online,460-00,0x182d,12401,27 EGSM 900,-64,2110,42-42",
                 {AccessTech::gsm, "EGSM 900", 27, kNone, "3071", "182D", kNone, kNone, kNone}},
        CpsiCase{"Sim7000Gsm", "GSM,Online,502-12,0x1054,62168,512 DCS 1800,-71,0,32-32",
                 {AccessTech::gsm, "DCS 1800", 512, kNone, "F2D8", "1054", kNone, kNone, kNone}}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(CellSimcom, NothingReadable) {
    EXPECT_EQ(parse_cpsi(""), std::nullopt);
    EXPECT_EQ(parse_cpsi("CDMA,Online"), std::nullopt);
}

// ---- Huawei AT^HCSQ? -------------------------------------------------------------------------

struct HcsqCase {
    const char* name;
    const char* value;
    Want want;
};
class CellHuawei : public ::testing::TestWithParam<HcsqCase> {};
TEST_P(CellHuawei, Reads) { expect_cell(parse_hcsq(GetParam().value), GetParam().want, GetParam().name); }
// ModemManager's ^HCSQ table (src/plugins/huawei/tests/test-modem-helpers-huawei.c).
INSTANTIATE_TEST_SUITE_P(
    Replies, CellHuawei,
    ::testing::Values(
        HcsqCase{"LteQuoted", "\"LTE\",30,19,66,0", {AccessTech::lte, "", kNone, kNone, "", "", -122, -20, -7}},
        HcsqCase{"LteUnquoted", "LTE,33,40,135,11", {AccessTech::lte, "", kNone, kNone, "", "", -101, -15, 7}},
        HcsqCase{"Wcdma", "\"WCDMA\",30,30,58", rat_only(AccessTech::umts)},
        HcsqCase{"Gsm", "\"GSM\",36,255", rat_only(AccessTech::gsm)},
        HcsqCase{"LteUnknownValues", "\"LTE\",255,255,255,255", rat_only(AccessTech::lte)},
        HcsqCase{"NoServiceQuoted", "\"NOSERVICE\"", {}},
        HcsqCase{"NoService", "NOSERVICE", {}}),
    [](const auto& p) { return std::string(p.param.name); });

// ---- Luat AT+CCED=0,1 ------------------------------------------------------------------------

TEST(CellLuat, ManualExamples) {
    // Luat AT manual, CCED.
    expect_cell(parse_cced({"+CCED:LTE current cell:460,00,460045926307603,0,40,n100,39148,140542123,51,29,6334,34,351"}),
                {AccessTech::lte, "B40", 39148, 351, "86080AB", "18BE", -90, -6, kNone}, "lte");
    expect_cell(parse_cced({"+CCED:GSM current cell info:460,00,18be,5045,13,63,63,6"}),
                {AccessTech::gsm, "", 6, kNone, "5045", "18BE", kNone, kNone, kNone}, "gsm");
    EXPECT_EQ(parse_cced({"+CCED:LTE neighbor cell:460,00,38950,140541985,57,24,6334,36,351"}), std::nullopt);
}

// ---- +CESQ and the merge ---------------------------------------------------------------------

TEST(CellCesq, LteMeasurementsOnly) {
    expect_cell(cell_from_cesq("99,99,255,255,20,80"), {AccessTech::none, "", kNone, kNone, "", "", -61, -10, kNone},
                "lte");
    expect_cell(cell_from_cesq("99,99,255,255,255,255"), {}, "not lte");
    EXPECT_EQ(cell_from_cesq("garbage"), std::nullopt);
}

TEST(CellMerge, TheVendorReportWinsWhereItSaysSomething) {
    const auto base = *cell_from_cesq("99,99,255,255,20,80");
    auto detail = *parse_hcsq("\"LTE\",30,255,66,255");
    const auto m = merged(base, detail);
    EXPECT_EQ(m.rsrp_dbm, -61);  // ^HCSQ said 255 (unknown): +CESQ's stands
    EXPECT_EQ(m.sinr_db, -7);
    EXPECT_EQ(m.rat, AccessTech::lte);
}

TEST(CellQuery, OnePerVendor) {
    EXPECT_EQ(serving_cell_query(Vendor::generic), std::nullopt);
    EXPECT_EQ(serving_cell_query(Vendor::quectel)->command, "AT+QENG=\"servingcell\"");
    EXPECT_EQ(serving_cell_query(Vendor::simcom)->command, "AT+CPSI?");
    EXPECT_EQ(serving_cell_query(Vendor::huawei)->command, "AT^HCSQ?");
    EXPECT_EQ(serving_cell_query(Vendor::luat)->command, "AT+CCED=0,1");
    const auto cell = parse_serving_cell(Vendor::simcom, ok({"+CPSI: NO SERVICE,Online"}));
    ASSERT_TRUE(cell.has_value());
    EXPECT_EQ(cell->rat, AccessTech::none);
    AtResult failed;
    failed.status = AtStatus::error;
    EXPECT_EQ(parse_serving_cell(Vendor::simcom, failed), std::nullopt);
}

}  // namespace
}  // namespace cellgate::modem
