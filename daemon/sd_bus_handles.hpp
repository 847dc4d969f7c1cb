// Owners of sd-bus handles, for every part of the daemon that talks on the bus.
#pragma once

#include <systemd/sd-bus.h>

#include <memory>

namespace cellgate {

struct SdBusDeleter {
    // Flush so replies and the last PropertiesChanged still go out when the daemon stops.
    void operator()(sd_bus* b) const noexcept { sd_bus_flush_close_unref(b); }
};
using SdBusPtr = std::unique_ptr<sd_bus, SdBusDeleter>;

struct SdBusSlotDeleter {
    void operator()(sd_bus_slot* s) const noexcept { sd_bus_slot_unref(s); }
};
using SdBusSlotPtr = std::unique_ptr<sd_bus_slot, SdBusSlotDeleter>;

struct SdBusMessageDeleter {
    void operator()(sd_bus_message* m) const noexcept { sd_bus_message_unref(m); }
};
using SdBusMessagePtr = std::unique_ptr<sd_bus_message, SdBusMessageDeleter>;

}  // namespace cellgate
