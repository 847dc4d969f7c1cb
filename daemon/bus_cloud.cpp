#include "daemon/bus_cloud.hpp"

#include <algorithm>
#include <array>

#include "bridge/bridge.hpp"
#include "daemon/bus.hpp"

namespace cellgate {
namespace {

using bridge::DeliveryStatus;
using cloud::SessionStatus;
using SessionRow = Property<SessionStatus>;
using DeliveryRow = Property<DeliveryStatus>;

BusValue str(const char* s) { return std::string(s); }

constexpr std::array kCloudProperties{
    SessionRow{"Name", "s", [](const SessionStatus& s) { return BusValue{s.name}; }},
    SessionRow{"Platform", "s", [](const SessionStatus& s) { return BusValue{s.platform}; }},
    SessionRow{"Endpoint", "s", [](const SessionStatus& s) { return BusValue{s.endpoint}; }},
    SessionRow{"ClientId", "s", [](const SessionStatus& s) { return BusValue{s.client_id}; }},
    SessionRow{"Transport", "s", [](const SessionStatus& s) { return BusValue{s.transport}; }},
    SessionRow{"State", "s", [](const SessionStatus& s) { return str(to_string(s.state)); }},
    SessionRow{"KeepAlive", "u", [](const SessionStatus& s) { return BusValue{s.keepalive_s}; }},
    SessionRow{"ConnectedSince", "t", [](const SessionStatus& s) { return BusValue{s.connected_since_us}; }},
    SessionRow{"Reconnects", "u", [](const SessionStatus& s) { return BusValue{s.reconnects}; }},
    SessionRow{"LastDisconnectReason", "s",
               [](const SessionStatus& s) { return BusValue{s.last_disconnect_reason}; }},
    SessionRow{"NextRetryIn", "u", [](const SessionStatus& s) { return BusValue{s.next_retry_in_s}; }},
    SessionRow{"Published", "t", [](const SessionStatus& s) { return BusValue{s.published}; }},
    SessionRow{"Received", "t", [](const SessionStatus& s) { return BusValue{s.received}; }},
    SessionRow{"Pings", "t", [](const SessionStatus& s) { return BusValue{s.pings}; }},
};

constexpr std::array kDeliveryProperties{
    DeliveryRow{"Queued", "t", [](const DeliveryStatus& s) { return BusValue{s.queued}; }},
    DeliveryRow{"Dropped", "t", [](const DeliveryStatus& s) { return BusValue{s.dropped}; }},
    DeliveryRow{"Invalid", "t", [](const DeliveryStatus& s) { return BusValue{s.invalid}; }},
    DeliveryRow{"Accepted", "t", [](const DeliveryStatus& s) { return BusValue{s.accepted}; }},
    DeliveryRow{"Rejected", "t", [](const DeliveryStatus& s) { return BusValue{s.rejected}; }},
    DeliveryRow{"LastRejection", "s", [](const DeliveryStatus& s) { return BusValue{s.last_rejection}; }},
};

}  // namespace

const PropertyTable<SessionStatus>& cloud_properties() {
    static constexpr PropertyTable<SessionStatus> kTable{kCloudProperties};
    return kTable;
}

const PropertyTable<DeliveryStatus>& delivery_properties() {
    static constexpr PropertyTable<DeliveryStatus> kTable{kDeliveryProperties};
    return kTable;
}

bool is_counter_property(std::string_view name) {
    static constexpr std::string_view kCounters[] = {"Published", "Received", "Pings",    "Queued",
                                                     "Dropped",   "Invalid",  "Accepted", "Rejected"};
    return std::find(std::begin(kCounters), std::end(kCounters), name) != std::end(kCounters);
}

const char* publish_error_name(bridge::PublishError e) {
    switch (e) {
        case bridge::PublishError::invalid_topic: return kErrorInvalidTopic;
        case bridge::PublishError::too_large: return kErrorPayloadTooLarge;
        case bridge::PublishError::qos_not_supported: return kErrorQosNotSupported;
        case bridge::PublishError::not_connected: return kErrorNotConnected;
        case bridge::PublishError::outbox_full: return kErrorOutboxFull;
        case bridge::PublishError::outbox_failed: return kErrorOutboxFailed;
    }
    return kErrorOutboxFailed;
}

std::string escape_path_element(std::string_view name) {
    if (name.empty()) return "_";
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < name.size(); ++i) {
        const auto c = static_cast<unsigned char>(name[i]);
        const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        const bool digit = c >= '0' && c <= '9';
        if (alpha || (digit && i > 0)) {
            out += static_cast<char>(c);
        } else {
            out += '_';
            out += kHex[c >> 4];
            out += kHex[c & 0xf];
        }
    }
    return out;
}

std::string cloud_object_path(std::string_view name) {
    return std::string(kCloudPath) + "/" + escape_path_element(name);
}

}  // namespace cellgate
