#include "cloud/topics.hpp"

#include <algorithm>
#include <array>

namespace cellgate::cloud {
namespace {

using D = TopicDirection;
constexpr size_t kMaxTopic = 65535;  // a 16-bit length in PUBLISH

// aliyun.md §4.1/§4.2 (SDK-4.x aiot_dm_api.c, SDK-Py, SDK-Node). Replies to the platform's
// requests end in "_reply" within the same level.
constexpr std::array kAliyun{
    TopicTemplate{"property_post", "/sys/{product_key}/{device_name}/thing/event/property/post", D::up},
    TopicTemplate{"property_post_reply", "/sys/{product_key}/{device_name}/thing/event/property/post_reply", D::down},
    TopicTemplate{"property_batch_post", "/sys/{product_key}/{device_name}/thing/event/property/batch/post", D::up},
    TopicTemplate{"property_batch_post_reply", "/sys/{product_key}/{device_name}/thing/event/property/batch/post_reply",
                  D::down},
    TopicTemplate{"event_post", "/sys/{product_key}/{device_name}/thing/event/{event_id}/post", D::up},
    TopicTemplate{"event_post_reply", "/sys/{product_key}/{device_name}/thing/event/{event_id}/post_reply", D::down},
    TopicTemplate{"property_set", "/sys/{product_key}/{device_name}/thing/service/property/set", D::down},
    TopicTemplate{"property_set_reply", "/sys/{product_key}/{device_name}/thing/service/property/set_reply", D::up},
    TopicTemplate{"service_call", "/sys/{product_key}/{device_name}/thing/service/{service_id}", D::down},
    TopicTemplate{"service_reply", "/sys/{product_key}/{device_name}/thing/service/{service_id}_reply", D::up},
    TopicTemplate{"desired_get", "/sys/{product_key}/{device_name}/thing/property/desired/get", D::up},
    TopicTemplate{"desired_get_reply", "/sys/{product_key}/{device_name}/thing/property/desired/get_reply", D::down},
    TopicTemplate{"rrpc_request", "/sys/{product_key}/{device_name}/rrpc/request/{message_id}", D::down},
    TopicTemplate{"rrpc_response", "/sys/{product_key}/{device_name}/rrpc/response/{message_id}", D::up},
    TopicTemplate{"ntp_request", "/ext/ntp/{product_key}/{device_name}/request", D::up},
    TopicTemplate{"ntp_response", "/ext/ntp/{product_key}/{device_name}/response", D::down},
    TopicTemplate{"user_update", "/{product_key}/{device_name}/user/update", D::up},
    TopicTemplate{"user_get", "/{product_key}/{device_name}/user/get", D::down},
};

// onenet.md §4.1 (thing model) and §4.2 (data streams). Replies to the platform's requests end
// in "_reply"; the platform's replies are a "/reply" level.
constexpr std::array kOnenet{
    TopicTemplate{"property_post", "$sys/{product_id}/{device_name}/thing/property/post", D::up},
    TopicTemplate{"property_post_reply", "$sys/{product_id}/{device_name}/thing/property/post/reply", D::down},
    TopicTemplate{"property_set", "$sys/{product_id}/{device_name}/thing/property/set", D::down},
    TopicTemplate{"property_set_reply", "$sys/{product_id}/{device_name}/thing/property/set_reply", D::up},
    TopicTemplate{"property_get", "$sys/{product_id}/{device_name}/thing/property/get", D::down},
    TopicTemplate{"property_get_reply", "$sys/{product_id}/{device_name}/thing/property/get_reply", D::up},
    TopicTemplate{"desired_get", "$sys/{product_id}/{device_name}/thing/property/desired/get", D::up},
    TopicTemplate{"desired_get_reply", "$sys/{product_id}/{device_name}/thing/property/desired/get/reply", D::down},
    TopicTemplate{"desired_delete", "$sys/{product_id}/{device_name}/thing/property/desired/delete", D::up},
    TopicTemplate{"desired_delete_reply", "$sys/{product_id}/{device_name}/thing/property/desired/delete/reply",
                  D::down},
    TopicTemplate{"event_post", "$sys/{product_id}/{device_name}/thing/event/post", D::up},
    TopicTemplate{"event_post_reply", "$sys/{product_id}/{device_name}/thing/event/post/reply", D::down},
    TopicTemplate{"service_invoke", "$sys/{product_id}/{device_name}/thing/service/{service_id}/invoke", D::down},
    TopicTemplate{"service_invoke_reply", "$sys/{product_id}/{device_name}/thing/service/{service_id}/invoke_reply",
                  D::up},
    TopicTemplate{"pack_post", "$sys/{product_id}/{device_name}/thing/pack/post", D::up},
    TopicTemplate{"pack_post_reply", "$sys/{product_id}/{device_name}/thing/pack/post/reply", D::down},
    TopicTemplate{"history_post", "$sys/{product_id}/{device_name}/thing/history/post", D::up},
    TopicTemplate{"history_post_reply", "$sys/{product_id}/{device_name}/thing/history/post/reply", D::down},
    TopicTemplate{"dp_post", "$sys/{product_id}/{device_name}/dp/post/json", D::up},
    TopicTemplate{"dp_post_accepted", "$sys/{product_id}/{device_name}/dp/post/json/accepted", D::down},
    TopicTemplate{"dp_post_rejected", "$sys/{product_id}/{device_name}/dp/post/json/rejected", D::down},
    TopicTemplate{"cmd_request", "$sys/{product_id}/{device_name}/cmd/request/{cmd_id}", D::down},
    TopicTemplate{"cmd_response", "$sys/{product_id}/{device_name}/cmd/response/{cmd_id}", D::up},
    TopicTemplate{"ota_inform", "$sys/{product_id}/{device_name}/ota/inform", D::down},
    TopicTemplate{"ota_inform_reply", "$sys/{product_id}/{device_name}/ota/inform_reply", D::up},
};

// onenet.md §6: commands arrive without a SUBSCRIBE (devices cannot subscribe to $ topics).
constexpr std::array kOnenetLegacy{
    TopicTemplate{"dp", "$dp", D::up},
    TopicTemplate{"cmd_request", "$creq/{cmd_id}", D::down},
    TopicTemplate{"cmd_response", "$crsp/{cmd_id}", D::up},
};

bool is_identifier(std::string_view s) {
    if (s.empty() || (s.front() >= '0' && s.front() <= '9')) return false;
    return std::all_of(s.begin(), s.end(), [](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
    });
}

bool is_number(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
}

// Shared by expand_topic (captures given) and topic_filter (captures == nullptr: missing fields
// become '+').
std::optional<std::string> render(std::string_view tmpl, const TopicFields& fields,
                                  const std::vector<std::string>* captures, std::string& error) {
    std::string out;
    size_t i = 0;
    while (i < tmpl.size()) {
        const char ch = tmpl[i];
        if (ch == '}') {
            error = "unmatched } in topic template";
            return std::nullopt;
        }
        if (ch != '{') {
            out += ch;
            ++i;
            continue;
        }
        const size_t close = tmpl.find('}', i + 1);
        if (close == std::string_view::npos) {
            error = "unterminated { in topic template";
            return std::nullopt;
        }
        const std::string_view name = tmpl.substr(i + 1, close - i - 1);
        if (is_number(name)) {
            if (captures == nullptr) {
                error = "a subscription filter cannot use the capture {" + std::string(name) + "}";
                return std::nullopt;
            }
            // Bounded length so the conversion cannot overflow; anything that long is out of range.
            const size_t n = name.size() > 6 ? 0 : std::stoul(std::string(name));
            if (n == 0 || n > captures->size()) {
                error = "capture {" + std::string(name) + "} does not exist (" + std::to_string(captures->size()) +
                        " captured)";
                return std::nullopt;
            }
            out += (*captures)[n - 1];
        } else if (is_identifier(name)) {
            if (const auto it = fields.find(name); it != fields.end()) {
                out += it->second;
            } else if (captures == nullptr && (i == 0 || tmpl[i - 1] == '/') &&
                       (close + 1 == tmpl.size() || tmpl[close + 1] == '/')) {
                out += '+';
            } else {
                error = "unknown field {" + std::string(name) + "} in topic template";
                return std::nullopt;
            }
        } else {
            error = "bad placeholder {" + std::string(name) + "} in topic template";
            return std::nullopt;
        }
        i = close + 1;
    }
    return out;
}

}  // namespace

std::span<const TopicTemplate> topic_templates(Platform p) {
    switch (p) {
        case Platform::aliyun: return kAliyun;
        case Platform::onenet: return kOnenet;
        case Platform::onenet_legacy: return kOnenetLegacy;
        case Platform::generic: return {};
    }
    return {};
}

const TopicTemplate* find_topic_template(Platform p, std::string_view name) {
    for (const auto& t : topic_templates(p)) {
        if (t.name == name) return &t;
    }
    return nullptr;
}

TopicFields topic_fields(const CloudConfig& c) {
    TopicFields f{{"name", c.name}};
    switch (c.platform) {
        case Platform::aliyun:
            f["product_key"] = c.product_key;
            f["device_name"] = c.device_name;
            break;
        case Platform::onenet:
            f["product_id"] = c.product_id;
            f["device_name"] = c.device_name;
            break;
        case Platform::onenet_legacy:
            f["product_id"] = c.product_id;
            f["device_id"] = c.device_id;
            break;
        case Platform::generic:
            f["client_id"] = c.client_id;
            // A generic broker has no device name of its own; the client id is what identifies the
            // gateway there, and routes written for a platform keep working.
            f["device_name"] = c.device_name.empty() ? c.client_id : c.device_name;
            break;
    }
    return f;
}

std::optional<std::string> expand_topic(std::string_view tmpl, const TopicFields& fields,
                                        const std::vector<std::string>& wildcard_captures, std::string& error) {
    auto out = render(tmpl, fields, &wildcard_captures, error);
    if (!out) return std::nullopt;
    if (out->empty()) {
        error = "topic is empty";
    } else if (out->size() > kMaxTopic) {
        error = "topic is longer than 65535 bytes";
    } else if (out->find_first_of(std::string_view("+#\0", 3)) != std::string::npos) {
        error = "topic \"" + *out + "\" contains a wildcard or NUL";
    } else if (out->find("//") != std::string::npos || out->back() == '/') {
        // A leading '/' is Aliyun's style and allowed; any other empty level is a missing value.
        error = "topic \"" + *out + "\" has an empty level";
    } else {
        return out;
    }
    return std::nullopt;
}

std::optional<std::string> topic_filter(std::string_view tmpl, const TopicFields& fields, std::string& error) {
    auto out = render(tmpl, fields, nullptr, error);
    if (!out) return std::nullopt;
    if (!valid_topic_filter(*out)) {
        error = "\"" + *out + "\" is not a valid topic filter";
        return std::nullopt;
    }
    return out;
}

bool valid_topic_name(std::string_view topic) {
    return !topic.empty() && topic.size() <= kMaxTopic &&
           topic.find_first_of(std::string_view("+#\0", 3)) == std::string_view::npos;
}

bool valid_topic_filter(std::string_view filter) {
    if (filter.empty() || filter.size() > kMaxTopic || filter.find('\0') != std::string_view::npos) return false;
    size_t start = 0;
    while (true) {
        const size_t end = filter.find('/', start);
        const std::string_view level = filter.substr(start, end == std::string_view::npos ? end : end - start);
        if (level.find_first_of("+#") != std::string_view::npos) {
            if (level != "+" && level != "#") return false;
            if (level == "#" && end != std::string_view::npos) return false;
        }
        if (end == std::string_view::npos) return true;
        start = end + 1;
    }
}

bool mqtt_topic_matches(std::string_view filter, std::string_view topic, std::vector<std::string>* captures_out) {
    if (captures_out != nullptr) captures_out->clear();
    if (!valid_topic_filter(filter) || !valid_topic_name(topic)) return false;
    // §4.7.2: wildcards at the first level do not match $-topics.
    if (topic.front() == '$' && (filter.front() == '+' || filter.front() == '#')) return false;

    std::vector<std::string> captures;
    size_t fpos = 0;
    size_t tpos = 0;
    bool topic_done = false;
    while (true) {
        const size_t fend = filter.find('/', fpos);
        const std::string_view flevel = filter.substr(fpos, fend == std::string_view::npos ? fend : fend - fpos);
        if (flevel == "#") {
            // '#' also matches the parent level ("a/#" matches "a"), capturing nothing.
            captures.emplace_back(topic_done ? std::string_view() : topic.substr(tpos));
            break;
        }
        if (topic_done) return false;
        const size_t tend = topic.find('/', tpos);
        const std::string_view tlevel = topic.substr(tpos, tend == std::string_view::npos ? tend : tend - tpos);
        if (flevel == "+") {
            captures.emplace_back(tlevel);
        } else if (flevel != tlevel) {
            return false;
        }
        if (fend == std::string_view::npos) {
            if (tend != std::string_view::npos) return false;
            break;
        }
        fpos = fend + 1;
        if (tend == std::string_view::npos) {
            topic_done = true;
        } else {
            tpos = tend + 1;
        }
    }
    if (captures_out != nullptr) *captures_out = std::move(captures);
    return true;
}

std::string check_publish_topic(Platform p, std::string_view topic, const TopicFields& fields) {
    if (!valid_topic_name(topic)) return "not a valid MQTT topic name";
    switch (p) {
        case Platform::aliyun:
            // SDK-4.x refuses 128 bytes and more (aliyun.md §5).
            if (topic.size() >= 128) return "aliyun topics must be shorter than 128 bytes";
            break;
        case Platform::onenet:
        case Platform::onenet_legacy: {
            // onenet.md §4/§5.1: publishing to an illegal topic disconnects the device.
            const std::string_view body = topic.front() == '$' ? topic.substr(1) : topic;
            const bool charset_ok = std::all_of(body.begin(), body.end(), [](char ch) {
                return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                       ch == '/' || ch == '_' || ch == '-';
            });
            if (!charset_ok) return "onenet topics may only contain letters, digits, / _ and - after a leading $";
            if (p == Platform::onenet && std::count(topic.begin(), topic.end(), '/') >= 8) {
                return "onenet topics have at most 8 levels";
            }
            if (p == Platform::onenet) {
                const auto field = [&](const char* k) {
                    const auto it = fields.find(k);
                    return it == fields.end() ? std::string() : it->second;
                };
                const std::string own = "$sys/" + field("product_id") + "/" + field("device_name") + "/";
                if (!topic.starts_with(own)) return "onenet devices may only publish under " + own;
            }
            break;
        }
        case Platform::generic: break;
    }
    return {};
}

}  // namespace cellgate::cloud
