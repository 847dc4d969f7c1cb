// One `downlink:` entry: which cloud requests of a session land where on the local broker, and
// which local answers go back to the cloud, in what shape. Pure: the Bridge does the publishing.
//
// A platform with its own request topics (Aliyun, OneNET) has its requests named by the platform:
// a request on "/sys/<pk>/<dn>/thing/service/property/set" lands on
// "<to>/thing/service/property/set", and the local answer on ".../set/reply" (or "..._reply", or
// the platform's own reply topic) goes back in the platform's reply format. An answer that carries
// no id answers the oldest request of its topic not yet answered. A platform without a reply
// convention (generic) forwards what matches the entry's filters and takes the answer raw on
// "<request topic>/reply".
#pragma once

#include <cstddef>
#include <deque>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bridge/bridge_config.hpp"
#include "cloud/payload.hpp"
#include "cloud/topics.hpp"

namespace cellgate::bridge {

class Downlink {
public:
    Downlink(DownlinkConfig config, cloud::Platform platform, cloud::TopicFields fields);

    const DownlinkConfig& config() const { return config_; }
    // What to subscribe to on the cloud session for this entry's requests.
    const std::vector<std::string>& cloud_filters() const { return filters_; }
    // What to subscribe to on the local broker for the answers ("<to>/#"); our own requests come
    // back on it too and answer nothing.
    std::string local_filter() const { return config_.to + "/#"; }

    // The part of `local_topic` under this entry's prefix, nullopt when it is not under it.
    std::optional<std::string_view> local_suffix(std::string_view local_topic) const;

    // A cloud message -> the local topic to publish it on, nullopt when it is no request of this
    // entry. Its id (when it has one) is remembered for an answer that names none.
    std::optional<std::string> request(std::string_view cloud_topic, std::string_view payload);

    // A local message on "<to>/<suffix>" -> what to publish to the cloud, or why it answers
    // nothing. A request answered here is forgotten.
    std::expected<cloud::CloudMessage, std::string> answer(std::string_view suffix, const std::string& payload);

    // Whether a suffix is named like an answer: only a failure on such a name is worth a warning
    // (the requests we forwarded come back on our own subscription and answer nothing).
    static bool looks_like_answer(std::string_view suffix);

    // A few requests per topic, a few topics: what a device answers within seconds. Older ones
    // are forgotten (an answer to them must then carry its id).
    static constexpr size_t kUnansweredPerTopic = 16;
    static constexpr size_t kUnansweredTopics = 64;

    // Ids of requests forwarded and not yet answered on `suffix`, oldest first (for tests).
    std::vector<std::string> unanswered(std::string_view suffix) const;

private:
    void remember(const std::string& suffix, std::string id);

    DownlinkConfig config_;
    cloud::Platform platform_;
    cloud::TopicFields fields_;
    std::vector<std::string> filters_;
    bool platform_topics_ = false;  // the platform names requests (downlink_suffix applies)
    // By local request suffix, oldest first.
    std::map<std::string, std::deque<std::string>, std::less<>> unanswered_;
};

}  // namespace cellgate::bridge
