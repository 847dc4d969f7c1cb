// The platforms' message formats: uplink wrapping (Alink JSON for aliyun, OneJSON for onenet),
// the platform's replies to uplink posts, and downlink requests mapped to local topics and back.
// Each platform's own shapes are in its profile (platform_<name>.cpp). Pure functions,
// table-tested against the examples in the platforms' documentation.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/wall_clock.hpp"
#include "cloud/cloud_config.hpp"
#include "cloud/topics.hpp"

namespace cellgate::cloud {

// ---- uplink ----

enum class UplinkKind { raw, property, event };
struct UplinkFormat {
    UplinkKind kind = UplinkKind::raw;
    std::string event_id;  // for event: the thing model's event identifier
    bool operator==(const UplinkFormat&) const = default;
};
// "raw", "property", "event:<identifier>" (the route's `as:` and the outbox's format column).
std::expected<UplinkFormat, std::string> parse_uplink_format(std::string_view text);
std::string to_string(const UplinkFormat& f);
// Whether `f` is meaningful on `p` ("" if so): property/event need aliyun or onenet.
std::string check_uplink_format(Platform p, const UplinkFormat& f);

// The cloud topic a property/event post goes to (raw has none: the route names it).
std::expected<std::string, std::string> uplink_topic(Platform p, const UplinkFormat& f, const TopicFields& fields);

// Checks a local payload before it is accepted: property/event need a flat JSON object (values
// are numbers, strings, booleans, or, for event, also objects/arrays as the event's params).
// raw accepts any bytes. Returns why not.
std::expected<void, std::string> validate_uplink(const UplinkFormat& f, std::string_view local_payload);

// The bytes sent to the cloud. `id` is the platform message id (the outbox row id; aliyun wants
// a decimal string in 0..4294967295, so it is reduced modulo 2^32), `time_ms` the acceptance
// time, sent as each value's "time" unless it is before kPlausibleEpochMs (both platforms then
// stamp the arrival). Precondition: validate_uplink() passed.
std::string wrap_uplink(Platform p, const UplinkFormat& f, std::string_view local_payload, uint64_t id,
                        int64_t time_ms);

// ---- the platform's replies to posts ----

struct UplinkReply {
    uint32_t id = 0;           // the id of the post it answers (as sent: modulo 2^32)
    bool accepted = false;     // code 200
    std::string code;          // "200", "6207", ...
    std::string message;       // the platform's text, may be empty
};
// Filters to subscribe for replies to posts (empty for generic).
std::vector<std::string> reply_filters(Platform p, const TopicFields& fields);
// nullopt when `topic` is not a post reply of this platform or the payload is unreadable.
std::optional<UplinkReply> parse_uplink_reply(Platform p, std::string_view topic, std::string_view payload);

// ---- downlink ----

// Filters to subscribe for cloud->device requests (property set/get, service calls, OneNET
// commands). Empty for generic: there the downlink entry names its own filters.
std::vector<std::string> downlink_filters(Platform p, const TopicFields& fields);
// The local topic suffix for a cloud request: the cloud topic without the device's own prefix
// ("/sys/pk/dn/" or "$sys/pid/dn/"), e.g. "thing/service/property/set". nullopt when `topic` is
// not a downlink request of this device.
std::optional<std::string> downlink_suffix(Platform p, const TopicFields& fields, std::string_view cloud_topic);

struct CloudMessage {
    std::string topic;
    std::string payload;
};
// The local application's answer on `<to>/<suffix>/reply` (or on the platform's own reply name,
// e.g. `<to>/thing/service/property/set_reply`): `local_suffix` is the part after `<to>/`. Builds
// the platform's reply topic and payload (the id echoed from the local payload's "id", code 200
// unless the local payload gives "code"). Error when it answers nothing this platform knows or
// the payload is unusable.
std::expected<CloudMessage, std::string> downlink_reply(Platform p, const TopicFields& fields,
                                                        std::string_view local_suffix, std::string_view local_payload);
// The "id" of a JSON request or answer (what a reply echoes); nullopt without a usable one.
std::optional<std::string> message_id(std::string_view payload);
// An answer that names no request: with "id" set to `id` when it is a JSON object without one
// (an empty payload counts as {}); nullopt when it is not such an object.
std::optional<std::string> with_message_id(std::string_view answer, const std::string& id);

}  // namespace cellgate::cloud
