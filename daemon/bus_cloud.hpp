// The org.cellgate.Gateway1.CloudSession property tables: one row per D-Bus property, mapping it
// to the SessionStatus or DeliveryStatus field it shows (daemon/bus_property_table.hpp). There is
// deliberately no row for any credential: a session's password or token never reaches the bus.
#pragma once

#include <string>
#include <string_view>

#include "bridge/delivery_status.hpp"
#include "cloud/session_status.hpp"
#include "daemon/bus_property_table.hpp"

namespace cellgate {

namespace bridge {
enum class PublishError;
}

const PropertyTable<cloud::SessionStatus>& cloud_properties();

// Message counters (Published, Queued, ...): they move with every message, so their changes are
// announced at most a few times a second; everything else at once.
bool is_counter_property(std::string_view name);

// The same interface's delivery properties (Queued, Dropped, ...), from the bridge's
// DeliveryStatus; exported after the session's.
const PropertyTable<bridge::DeliveryStatus>& delivery_properties();

// The D-Bus error name (kError*, daemon/bus.hpp) a Publish() gets for the bridge's refusal.
const char* publish_error_name(bridge::PublishError e);

// One object path element for a session name, escaped exactly like sd_bus_path_encode(): every
// byte but A-Z a-z and non-leading 0-9 becomes _xx (lower-case hex), "" becomes "_". Injective,
// so two config names can never share a path, and sd_bus_path_decode() gives the name back.
std::string escape_path_element(std::string_view name);

// "/org/cellgate/Gateway1/Cloud/<escaped name>"
std::string cloud_object_path(std::string_view name);

}  // namespace cellgate
