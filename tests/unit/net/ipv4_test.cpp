#include "net/ipv4.hpp"

#include <gtest/gtest.h>

namespace cellgate::net {
namespace {

TEST(Ipv4, ParsesOnlyStrictDottedQuads) {
    const auto a = parse_ipv4("192.168.225.1");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->host(), 0xC0A8E101u);
    EXPECT_EQ(to_string(*a), "192.168.225.1");
    for (const char* bad : {"", "192.168.225", "192.168.225.1/24", "256.1.1.1", "1.2.3.4.5", " 1.2.3.4",
                            "1.2.3.-4", "a.b.c.d", "1..2.3"})
        EXPECT_FALSE(parse_ipv4(bad)) << bad;
}

TEST(Ipv4, NetmasksAndPrefixesRoundTrip) {
    for (uint8_t p = 0; p <= 32; ++p) EXPECT_EQ(prefix_from_netmask(netmask(p)), p) << int(p);
    EXPECT_EQ(to_string(netmask(24)), "255.255.255.0");
    EXPECT_FALSE(prefix_from_netmask(*parse_ipv4("255.0.255.0")));
}

TEST(Ipv4, SubnetMembership) {
    const auto net = *parse_ipv4("192.168.225.0");
    EXPECT_TRUE(in_subnet(*parse_ipv4("192.168.225.51"), net, 24));
    EXPECT_FALSE(in_subnet(*parse_ipv4("192.168.226.51"), net, 24));
    EXPECT_TRUE(in_subnet(*parse_ipv4("10.1.2.3"), net, 0));
    EXPECT_TRUE(Ipv4{}.any());
}

}  // namespace
}  // namespace cellgate::net
