// The org.cellgate.Gateway1.Modem property table: one row per D-Bus property, mapping it to the
// ModemStatus field it shows. The vtable, the getters and the PropertiesChanged diff all come
// from this table, so a property cannot be exported without also being diffed.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "modem/modem_status.hpp"

namespace cellgate {

using PropertyValue = std::variant<std::string, uint32_t, int32_t>;

struct ModemProperty {
    const char* name;       // D-Bus property name
    const char* signature;  // "s", "u" or "i"; matches the PropertyValue alternative
    PropertyValue (*get)(const modem::ModemStatus&);
};

// In introspection order.
std::span<const ModemProperty> modem_properties();
const ModemProperty* find_modem_property(std::string_view name);

// Names (static storage, table order) of the properties whose D-Bus values differ.
std::vector<const char*> changed_modem_properties(const modem::ModemStatus& before,
                                                  const modem::ModemStatus& after);

}  // namespace cellgate
