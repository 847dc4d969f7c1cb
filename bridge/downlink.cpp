#include "bridge/downlink.hpp"

#include <algorithm>
#include <utility>

namespace cellgate::bridge {

using cloud::CloudMessage;
using cloud::downlink_filters;
using cloud::downlink_reply;
using cloud::downlink_suffix;
using cloud::message_id;
using cloud::mqtt_topic_matches;
using cloud::valid_topic_name;
using cloud::with_message_id;

namespace {

// "<request>/reply" and "<request>_reply" (every JSON reply name of both platforms) -> "<request>".
std::optional<std::string_view> request_of_answer(std::string_view suffix) {
    if (suffix.ends_with("/reply") || suffix.ends_with("_reply")) return suffix.substr(0, suffix.size() - 6);
    return std::nullopt;
}

}  // namespace

Downlink::Downlink(DownlinkConfig config, cloud::Platform platform, cloud::TopicFields fields)
    : config_(std::move(config)), platform_(platform), fields_(std::move(fields)) {
    filters_ = downlink_filters(platform_, fields_);
    platform_topics_ = !filters_.empty();
    if (!platform_topics_) filters_ = config_.filters;
}

std::optional<std::string_view> Downlink::local_suffix(std::string_view local_topic) const {
    const std::string_view to = config_.to;
    if (local_topic.size() > to.size() + 1 && local_topic.starts_with(to) && local_topic[to.size()] == '/')
        return local_topic.substr(to.size() + 1);
    return std::nullopt;
}

std::optional<std::string> Downlink::request(std::string_view cloud_topic, std::string_view payload) {
    if (platform_topics_) {
        auto suffix = downlink_suffix(platform_, fields_, cloud_topic);
        if (!suffix) return std::nullopt;
        if (auto id = message_id(payload)) remember(*suffix, std::move(*id));
        return config_.to + "/" + *suffix;
    }
    for (const auto& f : filters_)
        if (mqtt_topic_matches(f, cloud_topic)) return config_.to + "/" + std::string(cloud_topic);
    return std::nullopt;
}

void Downlink::remember(const std::string& suffix, std::string id) {
    if (!unanswered_.contains(suffix) && unanswered_.size() >= kUnansweredTopics) unanswered_.erase(unanswered_.begin());
    auto& q = unanswered_[suffix];
    q.push_back(std::move(id));
    if (q.size() > kUnansweredPerTopic) q.pop_front();
}

std::expected<CloudMessage, std::string> Downlink::answer(std::string_view suffix, const std::string& payload) {
    if (!platform_topics_) {
        // Platforms without a reply convention get the answer raw on `<request topic>/reply`.
        if (suffix.ends_with("/reply") && valid_topic_name(suffix)) return CloudMessage{std::string(suffix), payload};
        return std::unexpected(std::string("answers are published on <request topic>/reply"));
    }
    // Which request this answers: the one it names, else the oldest unanswered of its topic.
    std::deque<std::string>* pending = nullptr;
    if (const auto request = request_of_answer(suffix)) {
        const auto it = unanswered_.find(*request);
        if (it != unanswered_.end()) pending = &it->second;
    }
    std::optional<std::string> id = message_id(payload);
    std::optional<std::string> filled;
    if (!id && pending && !pending->empty() && (filled = with_message_id(payload, pending->front())))
        id = pending->front();
    auto msg = downlink_reply(platform_, fields_, suffix, filled ? *filled : payload);
    if (msg && id && pending) std::erase(*pending, *id);
    return msg;
}

bool Downlink::looks_like_answer(std::string_view suffix) {
    // "<request>/reply", "<request>_reply", or the platform's own reply topic (OneNET's
    // cmd/response/<id>, crsp/...).
    return suffix.ends_with("reply") || suffix.find("/response/") != std::string_view::npos ||
           suffix.starts_with("crsp/");
}

std::vector<std::string> Downlink::unanswered(std::string_view suffix) const {
    const auto it = unanswered_.find(suffix);
    if (it == unanswered_.end()) return {};
    return {it->second.begin(), it->second.end()};
}

}  // namespace cellgate::bridge
