// ICCIDs in every shape modules print them, from real replies: ModemManager's ICCID table
// (src/tests/test-modem-helpers.c), the Quectel, SIMCom and Luat ICCID commands, and EF_ICCID
// read through AT+CRSM.
#include "modem/iccid.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "modem/at_replies.hpp"
#include "unit/support/fake_at.hpp"

namespace cellgate::modem {
namespace {

struct IccidCase {
    const char* name;
    const char* text;
    std::optional<std::string> iccid;
};

class IccidParse : public ::testing::TestWithParam<IccidCase> {};

TEST_P(IccidParse, Reads) { EXPECT_EQ(parse_iccid(GetParam().text), GetParam().iccid) << GetParam().text; }

INSTANTIATE_TEST_SUITE_P(
    Shapes, IccidParse,
    ::testing::Values(
        IccidCase{"Plain20", "89860025128306012474", "89860025128306012474"},
        IccidCase{"Quoted20", "\"89324102234690160476\"", "89324102234690160476"},
        IccidCase{"Plain19WithFiller", "8944200053671052499F", "8944200053671052499"},
        IccidCase{"Plain19", "8944200053671052499", "8944200053671052499"},
        IccidCase{"LowercaseFiller", "8944500102198304826f", "8944500102198304826"},
        // China Mobile cards use the spare BCD codes in the account part.
        IccidCase{"ChinaMobileHexAccount", "\"898602F9091830030220\"", "898602F9091830030220"},
        IccidCase{"ChinaMobileHexAccount2", "\"898602C0123456789012\"", "898602C0123456789012"},
        IccidCase{"ChinaMobileLowercase", "898602f9091830030220", "898602F9091830030220"},
        // The SIM's own storage order, as some +CCID / +QCCID firmware prints it: decoded.
        IccidCase{"SwappedQuoted19", "\"984402003576012594F9\"", "8944200053671052499"},
        IccidCase{"Swapped20", "98231420326409614067", "89324102234690160476"},
        IccidCase{"SwappedHexAccount", "9868209F198003032020", "898602F9910830300202"},
        // Not ICCIDs.
        IccidCase{"NotStartingWith89", "\"0044200053671052499\"", std::nullopt},
        IccidCase{"NotStartingWith89Bare", "0044200053671052499", std::nullopt},
        IccidCase{"SwappedTooShort", "982314203264096", std::nullopt},
        IccidCase{"BadCharacters", "98231420326pl9614067", std::nullopt},
        IccidCase{"HexInIssuerPart", "8986A225128306012474", std::nullopt},
        IccidCase{"TooLong", "898600251283060124741", std::nullopt},
        IccidCase{"Empty", "", std::nullopt}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(IccidEf, AlwaysDecodesTheStoredOrder) {
    EXPECT_EQ(iccid_from_ef("98681031981083022433"), "89860113890138204233");
    EXPECT_EQ(iccid_from_ef("\"984402003576012594F9\""), "8944200053671052499");
    EXPECT_EQ(iccid_from_ef("9868209F198003032020"), "898602F9910830300202");
    EXPECT_EQ(iccid_from_ef("9868103109831002423"), std::nullopt);   // odd length
    EXPECT_EQ(iccid_from_ef("89860113890138204233"), std::nullopt);  // stored as 98..., not 89...
}

TEST(IccidLine, EveryVendorsCommand) {
    using testing::ok;
    EXPECT_EQ(parse_iccid_line(ok({"+QCCID: 898602F9091830030220"})), "898602F9091830030220");
    EXPECT_EQ(parse_iccid_line(ok({"+CCID: \"98231420326409614067\""})), "89324102234690160476");
    EXPECT_EQ(parse_iccid_line(ok({"+QCCID: 98231420326409614067"})), "89324102234690160476");
    EXPECT_EQ(parse_iccid_line(ok({"+ICCID: 0044200053671052499"})), std::nullopt);
    EXPECT_EQ(parse_iccid_line(ok({"898602C0123456789012"})), "898602C0123456789012");
}

}  // namespace
}  // namespace cellgate::modem
