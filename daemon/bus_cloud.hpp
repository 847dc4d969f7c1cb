// The org.cellgate.Gateway1.CloudSession property table: one row per D-Bus property, mapping it to
// the SessionStatus field it shows (the same scheme as daemon/bus_modem.hpp). The vtable, the
// getters and the PropertiesChanged diff all come from this table. There is deliberately no row
// for any credential: a session's password or token never reaches the bus.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "bridge/delivery_status.hpp"
#include "cloud/session_status.hpp"

namespace cellgate {

namespace bridge {
enum class PublishError;
}

using CloudPropertyValue = std::variant<std::string, uint32_t, uint64_t>;

struct CloudProperty {
    const char* name;       // D-Bus property name
    const char* signature;  // "s", "u" or "t"; matches the CloudPropertyValue alternative
    CloudPropertyValue (*get)(const cloud::SessionStatus&);
};

// In introspection order.
std::span<const CloudProperty> cloud_properties();
const CloudProperty* find_cloud_property(std::string_view name);

// Names (static storage, table order) of the properties whose D-Bus values differ.
std::vector<const char*> changed_cloud_properties(const cloud::SessionStatus& before,
                                                  const cloud::SessionStatus& after);

// Message counters (Published, Queued, ...): they move with every message, so their changes are
// announced at most a few times a second; everything else at once.
bool is_counter_property(std::string_view name);

// The same interface's delivery properties (Queued, Dropped, ...), from the bridge's
// DeliveryStatus; exported after the session's.
struct DeliveryProperty {
    const char* name;
    const char* signature;
    CloudPropertyValue (*get)(const bridge::DeliveryStatus&);
};
std::span<const DeliveryProperty> delivery_properties();
const DeliveryProperty* find_delivery_property(std::string_view name);
std::vector<const char*> changed_delivery_properties(const bridge::DeliveryStatus& before,
                                                     const bridge::DeliveryStatus& after);

// The D-Bus error name (kError*, daemon/bus.hpp) a Publish() gets for the bridge's refusal.
const char* publish_error_name(bridge::PublishError e);

// One object path element for a session name, escaped exactly like sd_bus_path_encode(): every
// byte but A-Z a-z and non-leading 0-9 becomes _xx (lower-case hex), "" becomes "_". Injective,
// so two config names can never share a path, and sd_bus_path_decode() gives the name back.
std::string escape_path_element(std::string_view name);

// "/org/cellgate/Gateway1/Cloud/<escaped name>"
std::string cloud_object_path(std::string_view name);

}  // namespace cellgate
