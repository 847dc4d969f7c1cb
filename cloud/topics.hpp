// The platforms' standard topics as named templates, their expansion, and MQTT topic-filter
// matching. Pure functions.
//
// Template syntax: `{name}` is a field (product_key, device_name, event_id, ...), `{1}`, `{2}` ...
// are the levels captured by the `+`/`#` wildcards of the filter a message arrived on, so a reply
// topic can be derived from a request topic: a message on `/sys/pk/dn/thing/service/+` with
// capture "reboot" answers on `/sys/{product_key}/{device_name}/thing/service/{1}_reply`.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloud/cloud_config.hpp"

namespace cellgate::cloud {

enum class TopicDirection {
    up,    // the device publishes
    down,  // the device subscribes
};

struct TopicTemplate {
    std::string_view name;     // e.g. "property_post"
    std::string_view pattern;  // e.g. "/sys/{product_key}/{device_name}/thing/event/property/post"
    TopicDirection direction;
};

// The platform's template of that name (its profile's topic_templates()); nullptr when it has none.
const TopicTemplate* find_topic_template(Platform p, std::string_view name);

using TopicFields = std::map<std::string, std::string, std::less<>>;
// The fields a config provides: `name` always, and the ids its platform's templates use (aliyun
// product_key, device_name; onenet product_id, device_name; onenet-legacy product_id, device_id;
// generic client_id and device_name, the client id unless the entry sets one).
TopicFields topic_fields(const CloudConfig& c);

// Expands `{name}` from `fields` and `{N}` from `wildcard_captures` (1-based). nullopt with
// `error` set on an unknown field or capture, bad brace syntax, or a result that is not a
// publishable topic: empty, containing + # or NUL, an empty level (a leading '/' as in Aliyun's
// topics is allowed), or longer than 65535 bytes.
std::optional<std::string> expand_topic(std::string_view tmpl, const TopicFields& fields,
                                        const std::vector<std::string>& wildcard_captures, std::string& error);

// A subscription filter from a template: known fields are expanded, a field missing from
// `fields` becomes `+` (it must fill a whole level). Captures are an error here.
std::optional<std::string> topic_filter(std::string_view tmpl, const TopicFields& fields, std::string& error);

// MQTT 3.1.1 topic name and filter syntax.
bool valid_topic_name(std::string_view topic);     // for PUBLISH: no wildcards
bool valid_topic_filter(std::string_view filter);  // for SUBSCRIBE: + and # on whole levels, # last

// Whether `topic` matches `filter` (+ one level, # the rest including the parent level, and
// wildcards at the first level never match topics starting with '$'). On a match the wildcard
// levels are stored in `captures_out` in order (a # capture is the remaining levels joined with
// '/', "" when it matched the parent); on no match `captures_out` is left empty. Invalid filters
// or topic names never match.
bool mqtt_topic_matches(std::string_view filter, std::string_view topic,
                        std::vector<std::string>* captures_out = nullptr);

// "" when `topic` may be published on the platform by the device `fields` name (topic_fields()),
// else why not: a valid topic name, and what the platform's profile adds (Aliyun: under 128 bytes;
// OneNET: only the device's own $sys/<product_id>/<device_name>/ topics, since anything else
// disconnects it, charset [A-Za-z0-9/_-] after the '$', at most 8 levels).
std::string check_publish_topic(Platform p, std::string_view topic, const TopicFields& fields);

}  // namespace cellgate::cloud
