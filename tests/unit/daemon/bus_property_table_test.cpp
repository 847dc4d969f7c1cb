// The property table scheme on a toy status: lookup by name, the diff in table order, and the
// D-Bus type of each value alternative.
#include "daemon/bus_property_table.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

namespace cellgate {
namespace {

struct Toy {
    std::string label;
    uint32_t count = 0;
    int32_t level = 0;
    uint64_t total = 0;
    bool operator==(const Toy&) const = default;
};

constexpr std::array kToyRows{
    Property<Toy>{"Label", "s", [](const Toy& t) { return BusValue{t.label}; }},
    Property<Toy>{"Count", "u", [](const Toy& t) { return BusValue{t.count}; }},
    Property<Toy>{"Level", "i", [](const Toy& t) { return BusValue{t.level}; }},
    Property<Toy>{"Total", "t", [](const Toy& t) { return BusValue{t.total}; }},
};
constexpr PropertyTable<Toy> kToy{kToyRows};

TEST(PropertyTable, FindsRowsByTheirExactName) {
    ASSERT_EQ(kToy.rows().size(), 4u);
    EXPECT_EQ(kToy.find("Count"), &kToy.rows()[1]);
    EXPECT_EQ(kToy.find("count"), nullptr);
    EXPECT_EQ(kToy.find(""), nullptr);
}

TEST(PropertyTable, ChangedNamesTheDifferingPropertiesInTableOrder) {
    Toy before, after;
    EXPECT_TRUE(kToy.changed(before, after).empty());
    after.total = 7;
    after.label = "x";
    const auto names = kToy.changed(before, after);
    EXPECT_EQ(std::vector<std::string>(names.begin(), names.end()), (std::vector<std::string>{"Label", "Total"}));
}

TEST(PropertyTable, EachValueAlternativeHasItsDBusType) {
    EXPECT_STREQ(bus_signature_of(BusValue{std::string("a")}), "s");
    EXPECT_STREQ(bus_signature_of(BusValue{uint32_t{1}}), "u");
    EXPECT_STREQ(bus_signature_of(BusValue{int32_t{-1}}), "i");
    EXPECT_STREQ(bus_signature_of(BusValue{uint64_t{1}}), "t");
    EXPECT_STREQ(bus_signature_of(BusValue{std::vector<std::string>{"a"}}), "as");
    for (const auto& row : kToy.rows()) EXPECT_EQ(std::string(bus_signature_of(row.get(Toy{}))), row.signature);
}

}  // namespace
}  // namespace cellgate
