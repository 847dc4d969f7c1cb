// Topic matching and template expansion see broker-supplied topics and operator-written
// templates: any bytes must give an answer, never a crash, and the answers must agree with each
// other. Input: "filter\ntopic\ntemplate\ncapture1\ncapture2...".
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "cloud/platform_profile.hpp"
#include "cloud/topics.hpp"

using namespace cellgate::cloud;

namespace {

std::vector<std::string> split_lines(std::string_view s) {
    std::vector<std::string> out;
    size_t start = 0;
    while (true) {
        const size_t nl = s.find('\n', start);
        out.emplace_back(s.substr(start, nl == std::string_view::npos ? nl : nl - start));
        if (nl == std::string_view::npos) return out;
        start = nl + 1;
    }
}

// Substitutes the captures back into the filter's wildcard levels.
std::string rebuild(std::string_view filter, const std::vector<std::string>& caps) {
    std::string out;
    size_t start = 0;
    size_t next = 0;
    while (true) {
        const size_t end = filter.find('/', start);
        const std::string_view level = filter.substr(start, end == std::string_view::npos ? end : end - start);
        if (start != 0) out += '/';
        out += (level == "+" || level == "#") ? caps.at(next++) : std::string(level);
        if (end == std::string_view::npos) break;
        start = end + 1;
    }
    if (next != caps.size()) std::abort();
    return out;
}

void check_match(const std::string& filter, const std::string& topic) {
    std::vector<std::string> caps;
    const bool m = mqtt_topic_matches(filter, topic, &caps);
    if (m != mqtt_topic_matches(filter, topic)) std::abort();
    if (!m) {
        if (!caps.empty()) std::abort();
        return;
    }
    if (!valid_topic_filter(filter) || !valid_topic_name(topic)) std::abort();
    const std::string back = rebuild(filter, caps);
    // "a/#" also matches "a" with an empty capture, which rebuilds as "a/".
    const bool parent = filter.ends_with("#") && caps.back().empty() && back == topic + "/";
    if (back != topic && !parent && !(filter == "#" && back == topic)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        const auto lines = split_lines(std::string_view(reinterpret_cast<const char*>(data), size));
        const std::string& filter = lines[0];
        const std::string topic = lines.size() > 1 ? lines[1] : std::string();
        check_match(filter, topic);

        // A valid topic name is a wildcard-free filter that matches itself; "#" matches it
        // unless it is a $ topic.
        if (valid_topic_name(topic)) {
            if (!valid_topic_filter(topic) || !mqtt_topic_matches(topic, topic)) std::abort();
            if (mqtt_topic_matches("#", topic) == topic.starts_with('$')) std::abort();
        }

        const std::string tmpl = lines.size() > 2 ? lines[2] : filter;
        const std::vector<std::string> caps(lines.begin() + (lines.size() > 3 ? 3 : static_cast<long>(lines.size())),
                                            lines.end());
        const TopicFields fields{{"product_key", "pk"}, {"device_name", "dn"}, {"product_id", "238322"}};
        std::string error;
        if (const auto out = expand_topic(tmpl, fields, caps, error)) {
            if (!valid_topic_name(*out) || out->find("//") != std::string::npos || out->back() == '/') std::abort();
            check_match(*out, *out);
            for (const PlatformProfile* p : platform_profiles()) (void)check_publish_topic(p->id(), *out, fields);
        } else if (error.empty()) {
            std::abort();
        }
        error.clear();
        if (const auto f = topic_filter(tmpl, fields, error)) {
            if (!valid_topic_filter(*f)) std::abort();
            check_match(*f, topic);
        } else if (error.empty()) {
            std::abort();
        }
    } catch (...) {
        std::abort();
    }
    return 0;
}
