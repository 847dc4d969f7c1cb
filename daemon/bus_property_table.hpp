// A D-Bus property table: one row per property, mapping it to the field of a status snapshot it
// shows. The adapter (daemon/bus.cpp) builds an interface's vtable, its getter and its
// PropertiesChanged diff from the one table, so a property cannot be exported without also being
// diffed. The tables: Modem (bus_modem.hpp), CloudSession and its delivery counters (bus_cloud.hpp).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace cellgate {

// The D-Bus types a property may have: s, u, i, t, as.
using BusValue = std::variant<std::string, uint32_t, int32_t, uint64_t, std::vector<std::string>>;

// The D-Bus signature of the alternative `v` holds, in BusValue's order.
inline const char* bus_signature_of(const BusValue& v) {
    static constexpr const char* kSignatures[] = {"s", "u", "i", "t", "as"};
    return kSignatures[v.index()];
}

template <class Status>
struct Property {
    const char* name;       // D-Bus property name
    const char* signature;  // the bus_signature_of() what get() returns
    BusValue (*get)(const Status&);
};

template <class Status>
class PropertyTable {
public:
    using Row = Property<Status>;

    template <size_t N>
    constexpr explicit PropertyTable(const std::array<Row, N>& rows) : rows_(rows) {}

    // In introspection order.
    std::span<const Row> rows() const { return rows_; }

    const Row* find(std::string_view name) const {
        for (const auto& p : rows_)
            if (name == p.name) return &p;
        return nullptr;
    }

    // Names (static storage, table order) of the properties whose D-Bus values differ.
    std::vector<const char*> changed(const Status& before, const Status& after) const {
        std::vector<const char*> names;
        if (before == after) return names;
        for (const auto& p : rows_)
            if (p.get(before) != p.get(after)) names.push_back(p.name);
        return names;
    }

private:
    std::span<const Row> rows_;
};

}  // namespace cellgate
