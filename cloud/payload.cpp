// The message formats around the platform's own (platform_<name>.cpp): format names, local
// payload checks, and the topic matching that finds which request a cloud message is and where
// its answer goes.
#include "cloud/payload.hpp"

#include <algorithm>
#include <cstdint>

#include "base/wall_clock.hpp"
#include "cloud/payload_detail.hpp"
#include "cloud/platform_profile.hpp"

namespace cellgate::cloud {
namespace detail {

std::optional<Json> parse_json(std::string_view text) {
    bool too_deep = false;
    const Json::parser_callback_t depth_guard = [&too_deep](int depth, Json::parse_event_t, Json&) {
        if (depth > kMaxJsonDepth) too_deep = true;
        return !too_deep;
    };
    Json j = Json::parse(text.begin(), text.end(), depth_guard, false);
    if (too_deep || j.is_discarded()) return std::nullopt;
    return j;
}

std::optional<Json> parse_object(std::string_view text) {
    auto j = parse_json(text);
    if (!j || !j->is_object()) return std::nullopt;
    return j;
}

std::string dump(const Json& j) {
    // Parsed strings are valid UTF-8 already; replace keeps this from ever throwing.
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Json post_head(uint64_t id) {
    Json out;
    out["id"] = std::to_string(id % kPostIdModulus);
    out["version"] = "1.0";
    return out;
}

Json stamped(Json value, int64_t time_ms) {
    Json v{{"value", std::move(value)}};
    if (time_ms >= kPlausibleEpochMs) v["time"] = time_ms;
    return v;
}

Json property_params(Json local, int64_t time_ms) {
    Json params = Json::object();
    for (auto& [key, value] : local.items()) params[key] = stamped(std::move(value), time_ms);
    return params;
}

}  // namespace detail

namespace {

using detail::dump;
using detail::Json;
using detail::parse_json;

constexpr size_t kMaxRequestId = 64;

bool is_identifier(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
    });
}

bool is_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
}

const char* json_type(const Json& v) {
    return v.is_null() ? "null" : v.is_object() ? "an object" : v.is_array() ? "an array" : v.type_name();
}

// "aliyun or onenet": the platforms with a thing model, for messages.
std::string thing_model_platforms() {
    std::vector<const char*> names;
    for (const PlatformProfile* each : platform_profiles())
        if (each->thing_model()) names.push_back(each->name());
    std::string out;
    for (size_t i = 0; i < names.size(); ++i) {
        if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
        out += names[i];
    }
    return out;
}

// The device fields only: per-message fields become '+' in filters.
TopicFields device_fields(const TopicFields& fields) {
    TopicFields out = fields;
    for (const char* k : {"event_id", "service_id", "message_id", "cmd_id"}) out.erase(std::string(k));
    return out;
}

std::optional<std::string> filter_of(Platform p, std::string_view name, const TopicFields& fields) {
    const TopicTemplate* t = find_topic_template(p, name);
    if (t == nullptr) return std::nullopt;
    std::string error;
    return topic_filter(t->pattern, fields, error);
}

// The first `{field}` of `pattern` that `fields` does not give: the per-message part.
std::string open_field(std::string_view pattern, const TopicFields& fields) {
    size_t i = 0;
    while ((i = pattern.find('{', i)) != std::string_view::npos) {
        const size_t close = pattern.find('}', i);
        if (close == std::string_view::npos) break;
        const std::string_view name = pattern.substr(i + 1, close - i - 1);
        if (!fields.contains(name)) return std::string(name);
        i = close + 1;
    }
    return {};
}

// A string of digits or a non-negative integer, within `max`.
std::optional<uint64_t> json_uint(const Json& v, uint64_t max) {
    uint64_t n = 0;
    if (v.is_number_unsigned()) {
        n = v.get<uint64_t>();
    } else if (v.is_number_integer()) {
        const auto s = v.get<int64_t>();
        if (s < 0) return std::nullopt;
        n = static_cast<uint64_t>(s);
    } else if (v.is_string()) {
        const auto& s = v.get_ref<const std::string&>();
        if (!is_digits(s) || s.size() > 20) return std::nullopt;
        try {
            n = std::stoull(s);
        } catch (...) {
            return std::nullopt;
        }
    } else {
        return std::nullopt;
    }
    if (n > max) return std::nullopt;
    return n;
}

// ---- downlink ----

// What is stripped from a request topic to name it locally.
std::optional<std::string> device_prefix(Platform p, const TopicFields& fields) {
    std::string_view tmpl = profile(p).request_prefix();
    if (tmpl.empty()) return std::nullopt;
    const bool slash = tmpl.ends_with('/');
    if (slash) tmpl.remove_suffix(1);
    std::string error;
    auto out = expand_topic(tmpl, fields, {}, error);
    if (out && slash) *out += '/';
    return out;
}

struct MatchedRequest {
    const DownlinkRoute* route = nullptr;
    std::vector<std::string> captures;
};

// The request a cloud topic is, if any.
std::optional<MatchedRequest> match_request(Platform p, const TopicFields& dev, std::string_view topic) {
    for (const auto& route : profile(p).downlink_routes()) {
        const auto filter = filter_of(p, route.request, dev);
        MatchedRequest m{&route, {}};
        if (!filter || !mqtt_topic_matches(*filter, topic, &m.captures)) continue;
        // service/+ also matches this device's own "<service>_reply" when a broker echoes it.
        const bool is_answer = std::any_of(m.captures.begin(), m.captures.end(),
                                           [](const std::string& c) { return c.empty() || c.ends_with("_reply"); });
        if (is_answer) continue;
        return m;
    }
    return std::nullopt;
}

std::expected<std::string, std::string> request_id(const Json& local) {
    const auto it = local.find("id");
    if (it == local.end()) return std::unexpected("the reply has no \"id\" (echo the request's id)");
    if (it->is_string()) {
        const auto& s = it->get_ref<const std::string&>();
        if (s.empty() || s.size() > kMaxRequestId) return std::unexpected("the reply's \"id\" is empty or too long");
        return s;
    }
    if (it->is_number_unsigned() || (it->is_number_integer() && it->get<int64_t>() >= 0)) return dump(*it);
    return std::unexpected(std::string("the reply's \"id\" is ") + json_type(*it) + ", not the request's id");
}

}  // namespace

namespace detail {

std::expected<LocalAnswer, std::string> read_local_answer(std::string_view local_payload) {
    auto local = parse_object(local_payload);
    if (!local) return std::unexpected("the reply is not a JSON object");
    auto id = request_id(*local);
    if (!id) return std::unexpected(id.error());
    Json code = 200;
    if (const auto it = local->find("code"); it != local->end()) {
        const auto n = json_uint(*it, 999999999);
        if (!n) return std::unexpected("the reply's \"code\" is not a number");
        code = *n;
    }
    return LocalAnswer{std::move(*id), std::move(code), std::move(*local)};
}

Json answer_head(const LocalAnswer& a) {
    Json out;
    out["id"] = a.id;
    out["code"] = a.code;
    return out;
}

}  // namespace detail

// ---- uplink ----

std::expected<UplinkFormat, std::string> parse_uplink_format(std::string_view text) {
    if (text == "raw") return UplinkFormat{UplinkKind::raw, {}};
    if (text == "property") return UplinkFormat{UplinkKind::property, {}};
    if (text.starts_with("event:")) {
        const std::string_view id = text.substr(6);
        // Thing-model identifiers; "property" would post to the property topic on aliyun.
        if (!is_identifier(id) || id == "property") {
            return std::unexpected("\"" + std::string(text) +
                                   "\": the event identifier must be letters, digits and _ (and not \"property\")");
        }
        return UplinkFormat{UplinkKind::event, std::string(id)};
    }
    return std::unexpected("unknown format \"" + std::string(text) + "\" (raw, property or event:<identifier>)");
}

std::string to_string(const UplinkFormat& f) {
    switch (f.kind) {
        case UplinkKind::raw: return "raw";
        case UplinkKind::property: return "property";
        case UplinkKind::event: return "event:" + f.event_id;
    }
    return "raw";
}

std::string check_uplink_format(Platform p, const UplinkFormat& f) {
    if (f.kind == UplinkKind::raw) return {};
    if (f.kind == UplinkKind::event && (!is_identifier(f.event_id) || f.event_id == "property")) {
        return "event format without a valid event identifier";
    }
    if (!profile(p).thing_model()) {
        return "\"" + to_string(f) + "\" needs an " + thing_model_platforms() + " session; " + to_string(p) +
               " has no thing model (use raw)";
    }
    return {};
}

std::expected<std::string, std::string> uplink_topic(Platform p, const UplinkFormat& f, const TopicFields& fields) {
    if (f.kind == UplinkKind::raw) return std::unexpected("raw messages have no platform topic (the route names it)");
    if (auto why = check_uplink_format(p, f); !why.empty()) return std::unexpected(why);
    const TopicTemplate* t = find_topic_template(p, f.kind == UplinkKind::property ? "property_post" : "event_post");
    if (t == nullptr) return std::unexpected(std::string("no post topic for ") + to_string(p));
    TopicFields with_event = device_fields(fields);
    if (f.kind == UplinkKind::event) with_event["event_id"] = f.event_id;
    std::string error;
    auto topic = expand_topic(t->pattern, with_event, {}, error);
    if (!topic) return std::unexpected(error);
    return *topic;
}

std::expected<void, std::string> validate_uplink(const UplinkFormat& f, std::string_view local_payload) {
    if (f.kind == UplinkKind::raw) return {};
    const auto j = parse_json(local_payload);
    if (!j) return std::unexpected("not JSON (or nested deeper than " + std::to_string(detail::kMaxJsonDepth) + ")");
    if (!j->is_object()) return std::unexpected(std::string("a JSON object is needed, got ") + json_type(*j));
    if (f.kind == UplinkKind::property && j->empty()) return std::unexpected("no properties in the object");
    for (const auto& [key, value] : j->items()) {
        if (key.empty()) return std::unexpected("an empty key");
        const bool scalar = value.is_number() || value.is_string() || value.is_boolean();
        // An event's output parameters may be structs and arrays; properties stay flat.
        const bool ok = scalar || (f.kind == UplinkKind::event && (value.is_object() || value.is_array()));
        if (!ok) {
            const char* rule = f.kind == UplinkKind::property ? "; property values must be numbers, strings or booleans"
                                                              : "; event parameters must not be null";
            return std::unexpected("\"" + key + "\" is " + json_type(value) + rule);
        }
    }
    return {};
}

std::string wrap_uplink(Platform p, const UplinkFormat& f, std::string_view local_payload, uint64_t id,
                        int64_t time_ms) {
    const PlatformProfile& platform = profile(p);
    if (f.kind == UplinkKind::raw || !platform.thing_model()) return std::string(local_payload);
    // A broken precondition gives an empty payload, never a half-formed message.
    return platform.wrap_uplink(f, local_payload, id, time_ms);
}

std::optional<std::string> message_id(std::string_view payload) {
    const auto j = parse_json(payload);
    if (!j || !j->is_object()) return std::nullopt;
    auto id = request_id(*j);
    if (!id) return std::nullopt;
    return *id;
}

std::optional<std::string> with_message_id(std::string_view answer, const std::string& id) {
    auto j = answer.empty() ? std::optional<Json>(Json::object()) : parse_json(answer);
    if (!j || !j->is_object() || j->contains("id")) return std::nullopt;
    (*j)["id"] = id;
    return dump(*j);
}

// ---- the platform's replies to posts ----

std::vector<std::string> reply_filters(Platform p, const TopicFields& fields) {
    std::vector<std::string> out;
    const TopicFields dev = device_fields(fields);
    for (const auto name : profile(p).post_reply_templates()) {
        if (auto f = filter_of(p, name, dev)) out.push_back(std::move(*f));
    }
    return out;
}

std::optional<UplinkReply> parse_uplink_reply(Platform p, std::string_view topic, std::string_view payload) {
    const PlatformProfile& platform = profile(p);
    const auto replies = platform.post_reply_templates();
    const bool is_reply = std::any_of(replies.begin(), replies.end(), [&](std::string_view n) {
        const auto f = filter_of(p, n, {});
        return f && mqtt_topic_matches(*f, topic);
    });
    if (!is_reply) return std::nullopt;
    const auto j = detail::parse_object(payload);
    if (!j) return std::nullopt;
    // A reply without our id (onenet answers malformed posts with "id":null) matches nothing.
    const auto id = j->find("id");
    const auto code = j->find("code");
    if (id == j->end() || code == j->end()) return std::nullopt;
    const auto id_n = json_uint(*id, detail::kPostIdModulus - 1);
    const auto code_n = json_uint(*code, UINT64_MAX);
    if (!id_n || !code_n) return std::nullopt;

    UplinkReply r;
    r.id = static_cast<uint32_t>(*id_n);
    r.code = std::to_string(*code_n);
    r.accepted = *code_n == 200;
    for (const char* key : platform.reply_message_keys()) {
        if (const auto m = j->find(key); m != j->end() && m->is_string()) {
            r.message = m->get<std::string>();
            break;
        }
    }
    return r;
}

// ---- downlink ----

std::vector<std::string> downlink_filters(Platform p, const TopicFields& fields) {
    std::vector<std::string> out;
    const PlatformProfile& platform = profile(p);
    if (!platform.subscribes_to_requests()) return out;
    const TopicFields dev = device_fields(fields);
    for (const auto& route : platform.downlink_routes()) {
        if (auto f = filter_of(p, route.request, dev)) out.push_back(std::move(*f));
    }
    return out;
}

std::optional<std::string> downlink_suffix(Platform p, const TopicFields& fields, std::string_view cloud_topic) {
    const TopicFields dev = device_fields(fields);
    const auto prefix = device_prefix(p, dev);
    if (!prefix || !cloud_topic.starts_with(*prefix) || cloud_topic.size() == prefix->size()) return std::nullopt;
    if (!match_request(p, dev, cloud_topic)) return std::nullopt;
    return std::string(cloud_topic.substr(prefix->size()));
}

std::expected<CloudMessage, std::string> downlink_reply(Platform p, const TopicFields& fields,
                                                        std::string_view local_suffix, std::string_view local_payload) {
    const TopicFields dev = device_fields(fields);
    const auto prefix = device_prefix(p, dev);
    if (!prefix) return std::unexpected(std::string(to_string(p)) + " sends no downlink requests to answer");
    const std::string full = *prefix + std::string(local_suffix);

    // Accepted names: "<request>/reply", the platform's own reply topic, or "<request>_reply"
    // (aliyun's "<service>_reply", which is not a whole level and so has no filter).
    const std::string_view view(full);
    std::optional<MatchedRequest> m;
    if (view.ends_with("/reply")) m = match_request(p, dev, view.substr(0, view.size() - 6));
    for (const auto& r : profile(p).downlink_routes()) {
        if (m) break;
        const auto reply_filter = filter_of(p, r.reply, dev);
        std::vector<std::string> caps;
        if (reply_filter && mqtt_topic_matches(*reply_filter, full, &caps) &&
            std::none_of(caps.begin(), caps.end(), [](const std::string& c) { return c.empty(); })) {
            m = MatchedRequest{&r, std::move(caps)};
        }
    }
    if (!m && view.ends_with("_reply")) m = match_request(p, dev, view.substr(0, view.size() - 6));
    if (!m) return std::unexpected("\"" + std::string(local_suffix) + "\" answers no " + to_string(p) + " request");
    const DownlinkRoute* route = m->route;
    const std::vector<std::string>& captures = m->captures;

    const TopicTemplate* reply = find_topic_template(p, route->reply);
    if (reply == nullptr) return std::unexpected("no reply topic");
    TopicFields with_id = dev;
    if (const std::string name = open_field(reply->pattern, dev); !name.empty()) {
        if (captures.empty()) return std::unexpected("the request topic carries no id");
        with_id[name] = captures.front();
    }
    std::string error;
    auto topic = expand_topic(reply->pattern, with_id, {}, error);
    if (!topic) return std::unexpected(error);
    if (auto why = check_publish_topic(p, *topic, dev); !why.empty()) return std::unexpected(why);

    if (!route->json) {
        if (route->max_reply > 0 && local_payload.size() >= route->max_reply) {
            return std::unexpected("a command response must be under " + std::to_string(route->max_reply / 1024) +
                                   " KB, got " + std::to_string(local_payload.size()) + " bytes");
        }
        return CloudMessage{std::move(*topic), std::string(local_payload)};
    }
    auto payload = profile(p).reply_payload(local_payload);
    if (!payload) return std::unexpected(payload.error());
    return CloudMessage{std::move(*topic), std::move(*payload)};
}

}  // namespace cellgate::cloud
