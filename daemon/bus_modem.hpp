// The org.cellgate.Gateway1.Modem property table: one row per D-Bus property, mapping it to the
// ModemStatus field it shows (daemon/bus_property_table.hpp).
#pragma once

#include "daemon/bus_property_table.hpp"
#include "modem/modem_status.hpp"

namespace cellgate {

const PropertyTable<modem::ModemStatus>& modem_properties();

}  // namespace cellgate
