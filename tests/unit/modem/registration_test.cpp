// The registration bookkeeping as a pure object: which registration the data link has, given what
// CREG, CGREG and CEREG last said, and what a registration URC changes.
#include "modem/registration.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "unit/support/fake_at.hpp"

namespace cellgate::modem {
namespace {

using testing::ok;

// <stat> per domain as read replies; -1 leaves the domain unreported.
RegistrationTracker with_stats(int cs, int gprs, int eps) {
    RegistrationTracker t;
    if (cs >= 0) t.take_reply(RegDomain::cs, ok({"+CREG: 2," + std::to_string(cs)}));
    if (gprs >= 0) t.take_reply(RegDomain::gprs, ok({"+CGREG: 2," + std::to_string(gprs)}));
    if (eps >= 0) t.take_reply(RegDomain::eps, ok({"+CEREG: 2," + std::to_string(eps)}));
    return t;
}

struct EffectiveCase {
    const char* name;
    int cs, gprs, eps;
    Registration expected;
};

class RegistrationEffective : public ::testing::TestWithParam<EffectiveCase> {};

TEST_P(RegistrationEffective, Decides) {
    const auto& c = GetParam();
    const auto t = with_stats(c.cs, c.gprs, c.eps);
    EXPECT_EQ(t.effective(), c.expected) << to_string(t.effective());
    EXPECT_EQ(t.is_registered(), c.expected == Registration::home || c.expected == Registration::roaming);
}

INSTANTIATE_TEST_SUITE_P(
    Domains, RegistrationEffective,
    ::testing::Values(
        EffectiveCase{"NothingReported", -1, -1, -1, Registration::unknown},
        EffectiveCase{"LteHome", 1, 0, 1, Registration::home},
        EffectiveCase{"LteDataOnlySimWithCsSearching", 2, 0, 1, Registration::home},
        EffectiveCase{"LteRoaming", 5, 0, 5, Registration::roaming},
        EffectiveCase{"GprsHomeWithoutLte", 1, 1, 0, Registration::home},
        EffectiveCase{"LteBeforeGprs", -1, 5, 1, Registration::home},
        EffectiveCase{"SmsOnlyCountsAsHome", -1, -1, 6, Registration::home},
        EffectiveCase{"DeniedInAnyDomain", 1, 0, 3, Registration::denied},
        EffectiveCase{"CsDeniedOutranksPacketSearching", 3, 2, 2, Registration::denied},
        EffectiveCase{"SearchingOutranksCsHome", 1, 2, 0, Registration::searching},
        EffectiveCase{"CsHomeWhenPacketIsIdle", 1, 0, 0, Registration::home},
        EffectiveCase{"CsOnlyHome", 1, -1, -1, Registration::home},
        EffectiveCase{"AllIdle", 0, 0, 0, Registration::idle},
        EffectiveCase{"UnknownStat", 4, 4, 4, Registration::unknown}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(Registration, RegisteredStats) {
    for (int stat : {1, 5, 6, 7, 9, 10}) EXPECT_TRUE(is_registered_stat(stat)) << stat;
    for (int stat : {-1, 0, 2, 3, 4, 8, 11}) EXPECT_FALSE(is_registered_stat(stat)) << stat;
}

TEST(Registration, FailedOrUnreadableReplyKeepsWhatWasKnown) {
    auto t = with_stats(-1, -1, 1);
    AtResult failed = ok({"+CEREG: 2,3"});
    failed.status = AtStatus::error;
    t.take_reply(RegDomain::eps, failed);
    t.take_reply(RegDomain::eps, ok({"+CEREG: garbage"}));
    t.take_reply(RegDomain::eps, ok({}));
    EXPECT_EQ(t.stat(RegDomain::eps), 1);
    // A reply is read for its own domain only.
    t.take_reply(RegDomain::eps, ok({"+CGREG: 2,3"}));
    EXPECT_EQ(t.stat(RegDomain::eps), 1);
    EXPECT_EQ(t.stat(RegDomain::gprs), -1);
}

struct UrcCase {
    const char* name;
    const char* line;
    bool taken;
    RegDomain domain;
    int stat;
    std::optional<AccessTech> news;
};

class RegistrationUrc : public ::testing::TestWithParam<UrcCase> {};

TEST_P(RegistrationUrc, Takes) {
    const auto& c = GetParam();
    RegistrationTracker t;
    const auto news = t.take_urc(c.line);
    ASSERT_EQ(news.has_value(), c.taken) << c.line;
    if (!c.taken) {
        for (auto d : {RegDomain::cs, RegDomain::gprs, RegDomain::eps, RegDomain::fivegs}) EXPECT_EQ(t.stat(d), -1);
        return;
    }
    EXPECT_EQ(t.stat(c.domain), c.stat);
    EXPECT_EQ(news->access_tech, c.news);
}

INSTANTIATE_TEST_SUITE_P(
    Modules, RegistrationUrc,
    ::testing::Values(
        UrcCase{"QuectelCeregWithAct", "+CEREG: 1,\"1A2B\",\"01ABCDEF\",7", true, RegDomain::eps, 1, AccessTech::lte},
        UrcCase{"CeregBare", "+CEREG: 2", true, RegDomain::eps, 2, std::nullopt},
        UrcCase{"CgregUmtsRoaming", "+CGREG: 5,\"D504\",\"80428B5\",2", true, RegDomain::gprs, 5, AccessTech::umts},
        UrcCase{"CeregSearchingWithActIsNoNews", "+CEREG: 2,\"1A2B\",\"01ABCDEF\",7", true, RegDomain::eps, 2,
                std::nullopt},
        // CREG is circuit-switched: its AcT says nothing about the data link.
        UrcCase{"CregActIsNoNews", "+CREG: 1,\"1A2B\",\"01ABCDEF\",7", true, RegDomain::cs, 1, std::nullopt},
        UrcCase{"Unreadable", "+CEREG: x", false, RegDomain::eps, -1, std::nullopt},
        UrcCase{"FiveGBare", "+C5GREG: 1", true, RegDomain::fivegs, 1, std::nullopt},
        UrcCase{"FiveGWithNrAct", "+C5GREG: 1,1F00,79D903,11,6,ABCDEF", true, RegDomain::fivegs, 1, AccessTech::nr5g},
        // A read reply that came after its query had timed out: read by its own layout.
        UrcCase{"LateReadReply", "+CEREG: 2,5,\"1A2B\",\"01ABCDEF\",7", true, RegDomain::eps, 5, AccessTech::lte},
        UrcCase{"NovatelRacUrc", "+CEREG: 1, 1F00, 20 ,79D903 ,7", true, RegDomain::eps, 1, AccessTech::lte},
        UrcCase{"NotRegistration", "+CGEV: NW DETACH", false, RegDomain::eps, -1, std::nullopt}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(Registration, PacketAccessTechPrefersRegisteredLte) {
    RegistrationTracker t;
    EXPECT_FALSE(t.knows_packet_act());
    EXPECT_EQ(t.packet_access_tech(), std::nullopt);

    t.take_reply(RegDomain::cs, ok({"+CREG: 2,1,\"1A2B\",\"01ABCDEF\",7"}));
    EXPECT_FALSE(t.knows_packet_act()) << "CREG's AcT is not a packet domain's";

    t.take_reply(RegDomain::gprs, ok({"+CGREG: 2,1,\"D504\",\"80428B5\",2"}));
    EXPECT_TRUE(t.knows_packet_act());
    EXPECT_EQ(t.packet_access_tech(), AccessTech::umts);

    t.take_reply(RegDomain::eps, ok({"+CEREG: 2,2,\"1A2B\",\"01ABCDEF\",7"}));
    EXPECT_EQ(t.packet_access_tech(), AccessTech::umts) << "LTE is searching, GPRS carries the data";

    ASSERT_TRUE(t.take_urc("+CEREG: 1"));
    EXPECT_EQ(t.packet_access_tech(), AccessTech::lte) << "a URC without AcT keeps the last one";
}

// A module registered on the 5G core: the data link has a registration even though CEREG and
// CGREG say nothing, and its technology is NR.
TEST(Registration, FiveGCoreRegistrationCounts) {
    RegistrationTracker t;
    t.take_reply(RegDomain::eps, ok({"+CEREG: 2,0"}));
    t.take_reply(RegDomain::cs, ok({"+CREG: 2,2"}));
    EXPECT_FALSE(t.packet_registered());
    t.take_reply(RegDomain::fivegs, ok({"+C5GREG: 2,1,1F00,79D903,11,6,ABCDEF"}));
    EXPECT_EQ(t.stat(RegDomain::fivegs), 1);
    EXPECT_TRUE(t.packet_registered());
    EXPECT_EQ(t.effective(), Registration::home);
    EXPECT_EQ(t.packet_access_tech(), AccessTech::nr5g);
    ASSERT_TRUE(t.take_urc("+C5GREG: 2"));
    EXPECT_FALSE(t.packet_registered());
    EXPECT_EQ(t.effective(), Registration::searching);
}

TEST(Registration, ResetForgetsEverything) {
    auto t = with_stats(1, 1, 1);
    t.take_reply(RegDomain::eps, ok({"+CEREG: 2,1,\"1A2B\",\"01ABCDEF\",7"}));
    t.reset();
    EXPECT_EQ(t.effective(), Registration::unknown);
    EXPECT_FALSE(t.knows_packet_act());
    for (auto d : {RegDomain::cs, RegDomain::gprs, RegDomain::eps, RegDomain::fivegs}) EXPECT_EQ(t.stat(d), -1);
}

}  // namespace
}  // namespace cellgate::modem
