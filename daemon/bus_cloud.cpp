#include "daemon/bus_cloud.hpp"

#include <algorithm>
#include <array>

#include "bridge/bridge.hpp"
#include "daemon/bus.hpp"

namespace cellgate {
namespace {

using cloud::SessionStatus;

CloudPropertyValue str(const char* s) { return std::string(s); }

constexpr std::array kCloudProperties{
    CloudProperty{"Name", "s", [](const SessionStatus& s) { return CloudPropertyValue{s.name}; }},
    CloudProperty{"Platform", "s", [](const SessionStatus& s) { return CloudPropertyValue{s.platform}; }},
    CloudProperty{"Endpoint", "s", [](const SessionStatus& s) { return CloudPropertyValue{s.endpoint}; }},
    CloudProperty{"ClientId", "s", [](const SessionStatus& s) { return CloudPropertyValue{s.client_id}; }},
    CloudProperty{"State", "s", [](const SessionStatus& s) { return str(to_string(s.state)); }},
    CloudProperty{"KeepAlive", "u", [](const SessionStatus& s) { return CloudPropertyValue{s.keepalive_s}; }},
    CloudProperty{"ConnectedSince", "t",
                  [](const SessionStatus& s) { return CloudPropertyValue{s.connected_since_us}; }},
    CloudProperty{"Reconnects", "u", [](const SessionStatus& s) { return CloudPropertyValue{s.reconnects}; }},
    CloudProperty{"LastDisconnectReason", "s",
                  [](const SessionStatus& s) { return CloudPropertyValue{s.last_disconnect_reason}; }},
    CloudProperty{"NextRetryIn", "u", [](const SessionStatus& s) { return CloudPropertyValue{s.next_retry_in_s}; }},
    CloudProperty{"Published", "t", [](const SessionStatus& s) { return CloudPropertyValue{s.published}; }},
    CloudProperty{"Received", "t", [](const SessionStatus& s) { return CloudPropertyValue{s.received}; }},
    CloudProperty{"Pings", "t", [](const SessionStatus& s) { return CloudPropertyValue{s.pings}; }},
};

using bridge::DeliveryStatus;

constexpr std::array kDeliveryProperties{
    DeliveryProperty{"Queued", "t", [](const DeliveryStatus& s) { return CloudPropertyValue{s.queued}; }},
    DeliveryProperty{"Dropped", "t", [](const DeliveryStatus& s) { return CloudPropertyValue{s.dropped}; }},
    DeliveryProperty{"Invalid", "t", [](const DeliveryStatus& s) { return CloudPropertyValue{s.invalid}; }},
    DeliveryProperty{"Accepted", "t", [](const DeliveryStatus& s) { return CloudPropertyValue{s.accepted}; }},
    DeliveryProperty{"Rejected", "t", [](const DeliveryStatus& s) { return CloudPropertyValue{s.rejected}; }},
    DeliveryProperty{"LastRejection", "s",
                     [](const DeliveryStatus& s) { return CloudPropertyValue{s.last_rejection}; }},
};

}  // namespace

std::span<const CloudProperty> cloud_properties() { return kCloudProperties; }

std::span<const DeliveryProperty> delivery_properties() { return kDeliveryProperties; }

const DeliveryProperty* find_delivery_property(std::string_view name) {
    for (const auto& p : kDeliveryProperties)
        if (name == p.name) return &p;
    return nullptr;
}

std::vector<const char*> changed_delivery_properties(const DeliveryStatus& before, const DeliveryStatus& after) {
    std::vector<const char*> names;
    if (before == after) return names;
    for (const auto& p : kDeliveryProperties)
        if (p.get(before) != p.get(after)) names.push_back(p.name);
    return names;
}

const CloudProperty* find_cloud_property(std::string_view name) {
    for (const auto& p : kCloudProperties)
        if (name == p.name) return &p;
    return nullptr;
}

std::vector<const char*> changed_cloud_properties(const SessionStatus& before, const SessionStatus& after) {
    std::vector<const char*> names;
    if (before == after) return names;
    for (const auto& p : kCloudProperties)
        if (p.get(before) != p.get(after)) names.push_back(p.name);
    return names;
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
