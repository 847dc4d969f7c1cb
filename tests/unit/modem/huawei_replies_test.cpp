// Huawei ^NDISSTATQRY / ^NDISSTAT and ^DHCP in the shapes real modules print, from ModemManager's
// Huawei table (src/plugins/huawei/tests/test-modem-helpers-huawei.c) and the ME909s manual.
#include "modem/huawei_replies.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "modem/vendor.hpp"
#include "unit/support/fake_at.hpp"

namespace cellgate::modem {
namespace {

struct NdisCase {
    const char* name;
    std::vector<std::string> lines;
    std::optional<bool> ipv4;
    std::optional<bool> ipv6;
};

class HuaweiNdisstat : public ::testing::TestWithParam<NdisCase> {};

TEST_P(HuaweiNdisstat, ReadsEachFamily) {
    const auto& c = GetParam();
    const auto st = parse_ndisstat(c.lines);
    ASSERT_TRUE(st.has_value());
    EXPECT_EQ(st->ipv4, c.ipv4);
    EXPECT_EQ(st->ipv6, c.ipv6);
}

constexpr std::nullopt_t kUnsaid = std::nullopt;

INSTANTIATE_TEST_SUITE_P(
    Shapes, HuaweiNdisstat,
    ::testing::Values(
        NdisCase{"OneLineBothFamilies", {"^NDISSTATQRY: 1,,,\"IPV4\",0,,,\"IPV6\""}, true, false},
        NdisCase{"OneLineIpv6Up", {"^NDISSTATQRY: 0,,,\"IPV4\",1,,,\"IPV6\""}, false, true},
        NdisCase{"Ipv4Unquoted", {"^NDISSTATQRY: 1,,,IPV4"}, true, kUnsaid},
        NdisCase{"Ipv6Only", {"^NDISSTATQRY: 0,,,IPV6"}, kUnsaid, false},
        // One line per family.
        NdisCase{"TwoLinesUpDown", {"^NDISSTATQRY: 1,,,IPV4", "^NDISSTATQRY: 0,,,IPV6"}, true, false},
        NdisCase{"TwoLinesDownUp", {"^NDISSTATQRY: 0,,,IPV4", "^NDISSTATQRY: 1,,,IPV6"}, false, true},
        NdisCase{"TwoLinesBothUp", {"^NDISSTATQRY: 1,,,IPV4", "^NDISSTATQRY: 1,,,IPV6"}, true, true},
        NdisCase{"UrcNameTwoLines", {"^NDISSTAT: 0,,,IPV4", "^NDISSTAT: 0,,,IPV6"}, false, false},
        // Mixed-case prefix, no type: IPv4.
        NdisCase{"MixedCaseUp", {"^NDISSTATQry:1"}, true, kUnsaid},
        NdisCase{"MixedCaseDown", {"^NDISSTATQry:0"}, false, kUnsaid},
        NdisCase{"ErrorCode", {"^NDISSTATQRY: 0,33,,\"IPV4\""}, false, kUnsaid},
        NdisCase{"OtherLinesSkipped", {"^SYSINFOEX: 2,3,0,1,,6,\"LTE\",101,\"LTE\"", "^NDISSTATQRY: 1,,,\"IPV4\""},
                 true, kUnsaid}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(HuaweiNdisstat, NothingReadable) {
    EXPECT_EQ(parse_ndisstat({}), std::nullopt);
    EXPECT_EQ(parse_ndisstat({"^NDISSTATQRY: x,,,IPV4"}), std::nullopt);
    EXPECT_EQ(parse_ndisstat({"+CGACT: 1,1"}), std::nullopt);
}

TEST(HuaweiNdisstat, TheProfileSeesTheCallUpWhenEitherFamilyIs) {
    auto p = make_vendor_profile(Vendor::huawei);
    using testing::ok;
    EXPECT_EQ(p->parse_data_call_up(ok({"^NDISSTATQRY: 0,,,IPV4", "^NDISSTATQRY: 1,,,IPV6"}), 1), true);
    EXPECT_EQ(p->parse_data_call_up(ok({"^NDISSTATQRY: 0,,,IPV4", "^NDISSTATQRY: 0,,,IPV6"}), 1), false);
    EXPECT_EQ(p->parse_data_call_up(ok({"^NDISSTATQry:1"}), 1), true);
    EXPECT_TRUE(p->urc_means_data_lost("^NDISSTAT: 0,,,\"IPV4\",1,,,\"IPV6\""));
    EXPECT_FALSE(p->urc_means_data_lost("^NDISSTAT: 1,,,\"IPV4\",0,,,\"IPV6\""));
}

struct DhcpCase {
    const char* name;
    const char* value;
    const char* address;
    const char* netmask;
    const char* gateway;
    const char* dns1;
    const char* dns2;
};

class HuaweiDhcpParse : public ::testing::TestWithParam<DhcpCase> {};

TEST_P(HuaweiDhcpParse, ReadsLeastSignificantByteFirst) {
    const auto& c = GetParam();
    const auto d = parse_huawei_dhcp(c.value);
    ASSERT_TRUE(d.has_value()) << c.value;
    EXPECT_EQ(d->address, c.address);
    EXPECT_EQ(d->netmask, c.netmask);
    EXPECT_EQ(d->gateway, c.gateway);
    EXPECT_EQ(d->dns1, c.dns1);
    EXPECT_EQ(d->dns2, c.dns2);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, HuaweiDhcpParse,
    ::testing::Values(
        DhcpCase{"Plain", "a3ec5c64,f8ffffff,a1ec5c64,a1ec5c64,2200b10a,74bba80a,236800,236800", "100.92.236.163",
                 "255.255.255.248", "100.92.236.161", "10.177.0.34", "10.168.187.116"},
        DhcpCase{"LowerHexPrefix", "0xa3ec5c64,0xf8ffffff,0xa1ec5c64,0xa1ec5c64,0x2200b10a,0x74bba80a,236800,236800",
                 "100.92.236.163", "255.255.255.248", "100.92.236.161", "10.177.0.34", "10.168.187.116"},
        DhcpCase{"ShortFieldsZeroDns", " 1010A0A,FCFFFFFF,2010A0A,2010A0A,0,0,150000000,150000000", "10.10.1.1",
                 "255.255.255.252", "10.10.1.2", "", ""},
        DhcpCase{"UpperHex", " CCDB080A,F8FFFFFF,C9DB080A,C9DB080A,E67B59C0,E77B59C0,85600,85600", "10.8.219.204",
                 "255.255.255.248", "10.8.219.201", "192.89.123.230", "192.89.123.231"},
        DhcpCase{"UpperHexPrefix",
                 " 0xCCDB080A,0xF8FFFFFF,0xC9DB080A,0xC9DB080A,0xE67B59C0,0xE77B59C0,85600,85600", "10.8.219.204",
                 "255.255.255.248", "10.8.219.201", "192.89.123.230", "192.89.123.231"},
        DhcpCase{"UpperXPrefix",
                 " 0XCCDB080A,0XF8FFFFFF,0XC9DB080A,0XC9DB080A,0XE67B59C0,0XE77B59C0,85600,85600", "10.8.219.204",
                 "255.255.255.248", "10.8.219.201", "192.89.123.230", "192.89.123.231"}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(HuaweiDhcpParse, Refuses) {
    for (const char* v : {"", "00000000,0,0,0,0,0,0,0", "0x,1,2", "1G2H3I4J,0", "123456789,0"})
        EXPECT_EQ(parse_huawei_dhcp(v), std::nullopt) << v;
}

TEST(HuaweiDhcpParse, TheProfileTakesTheAddressWithAPrefix) {
    auto p = make_vendor_profile(Vendor::huawei);
    EXPECT_EQ(p->parse_ip(testing::ok({"^DHCP: 0xCCDB080A,0xF8FFFFFF,0xC9DB080A,0xC9DB080A,0xE67B59C0,0xE77B59C0,"
                                       "85600,85600"}),
                          1),
              "10.8.219.204");
}

}  // namespace
}  // namespace cellgate::modem
