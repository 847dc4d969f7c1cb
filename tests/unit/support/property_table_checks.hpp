// The two checks every D-Bus property table (daemon/bus_property_table.hpp) must pass: it exports
// exactly the documented properties with their signatures, and no field of its Status is left
// out of the PropertiesChanged diff.
#pragma once

#include <gtest/gtest.h>

#include <set>
#include <span>
#include <string>
#include <type_traits>
#include <utility>

#include "daemon/bus_property_table.hpp"

namespace cellgate::testing {

using PropertySpec = std::pair<std::string, std::string>;  // name, D-Bus signature

// `expected` in introspection order. Each getter's value must have the D-Bus type its row
// announces, each row is found by its name, and `unknown` is not found.
template <class Status>
void expect_documented_properties(const PropertyTable<Status>& table, std::span<const PropertySpec> expected,
                                  const char* unknown) {
    const auto rows = table.rows();
    ASSERT_EQ(rows.size(), expected.size());
    const Status s{};
    for (size_t i = 0; i < rows.size(); ++i) {
        EXPECT_EQ(rows[i].name, expected[i].first);
        EXPECT_EQ(rows[i].signature, expected[i].second) << rows[i].name;
        EXPECT_EQ(std::string(bus_signature_of(rows[i].get(s))), expected[i].second) << rows[i].name;
        EXPECT_EQ(table.find(expected[i].first), &rows[i]);
    }
    EXPECT_EQ(table.find(unknown), nullptr);
}

// Each mutation sets one field of a default Status. Each must change exactly one property, and
// together they must reach every property: a field added to Status but missing from the table
// would never be published.
template <class Status>
void expect_every_field_covered(const PropertyTable<Status>& table,
                                std::type_identity_t<std::span<void (*const)(Status&)>> mutations) {
    std::set<std::string> seen;
    for (auto mutate : mutations) {
        Status a{}, b{};
        mutate(b);
        const auto names = table.changed(a, b);
        ASSERT_EQ(names.size(), 1u);
        seen.insert(names[0]);
    }
    EXPECT_EQ(seen.size(), table.rows().size());
}

}  // namespace cellgate::testing
