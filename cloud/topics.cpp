#include "cloud/topics.hpp"

#include <algorithm>

#include "cloud/platform_profile.hpp"

namespace cellgate::cloud {
namespace {

constexpr size_t kMaxTopic = 65535;  // a 16-bit length in PUBLISH

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

const TopicTemplate* find_topic_template(Platform p, std::string_view name) {
    for (const auto& t : profile(p).topic_templates()) {
        if (t.name == name) return &t;
    }
    return nullptr;
}

TopicFields topic_fields(const CloudConfig& c) {
    TopicFields f{{"name", c.name}};
    profile(c.platform).add_topic_fields(c, f);
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
    // Wildcards at the first level do not match $-topics (MQTT 3.1.1, topic semantics).
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
    return profile(p).publish_topic_problem(topic, fields);
}

}  // namespace cellgate::cloud
