#include "bridge/delivery_lane.hpp"

#include <algorithm>
#include <chrono>
#include <utility>

#include "base/guarded.hpp"
#include "base/log.hpp"
#include "cloud/platform.hpp"
#include "cloud/session.hpp"

namespace cellgate::bridge {

using cloud::Session;
using cloud::SessionState;
using cloud::TokenBucket;
using cloud::UplinkKind;
using cloud::UplinkReply;
using cloud::check_publish_topic;
using cloud::max_payload;
using cloud::parse_uplink_format;
using cloud::topic_fields;
using cloud::wrap_uplink;

DeliveryLane::DeliveryLane(Scheduler& sched, Outbox& outbox, Session& session, TokenBucket& bucket,
                           DeliveryTuning tuning)
    : sched_(sched),
      outbox_(outbox),
      session_(session),
      tuning_(tuning),
      name_(session.config().name),
      where_("cloud " + name_ + ": delivery"),
      platform_(session.config().platform),
      fields_(topic_fields(session.config())),
      bucket_(bucket),
      probe_(sched, name_, tuning.poison_strikes, tuning.poison_window, [this](uint64_t row) { drop_guilty(row); }) {
    timer_ = sched_.make_timer([this] { guarded(where_.c_str(), [this] { drain(); }); });
    ack_timer_ = sched_.make_timer([this] { guarded(where_.c_str(), [this] { check_acks(); }); });
}

DeliveryLane::~DeliveryLane() = default;

void DeliveryLane::on_connected() {
    connected_ = true;
    refusals_ = 0;
    probe_.connected();
    drain();
}

void DeliveryLane::on_disconnected() {
    connected_ = false;
    timer_->cancel();
    ack_timer_->cancel();
    buffer_.clear();
    std::vector<uint64_t> lost = std::exchange(orphans_, {});
    if (const uint64_t held = probe_.held_back()) lost.push_back(held);  // innocent: the connection died without it
    probe_.connection_lost(oldest_in_flight(), session_.status().state == SessionState::waiting_link);
    for (const auto& [mid, f] : inflight_) lost.push_back(f.id);
    inflight_.clear();
    if (lost.empty()) return;
    for (const uint64_t id : lost) resend_.insert(id);
    resend_until_ = std::max(resend_until_, cursor_);
    cursor_ = std::min(cursor_, *std::min_element(lost.begin(), lost.end()) - 1);
    log::debug("cloud ", name_, ": ", lost.size(), " publishes unacknowledged; resent on the next connection");
}

void DeliveryLane::on_published(int mid) {
    const auto it = inflight_.find(mid);
    if (it == inflight_.end()) return;  // a downlink answer, or a publish of an earlier connection
    probe_.acknowledged(it->second.id);
    outbox_.acknowledge(it->second.id);
    inflight_.erase(it);
    drain();
}

std::optional<PoisonProbe::Sent> DeliveryLane::oldest_in_flight() const {
    const Flight* oldest = nullptr;
    for (const auto& [mid, f] : inflight_)
        if (!oldest || f.id < oldest->id) oldest = &f;
    if (!oldest) return std::nullopt;
    return PoisonProbe::Sent{oldest->id, oldest->sent};
}

void DeliveryLane::drop_guilty(uint64_t row) {
    outbox_.drop(row);
    count_dropped();
    drain();
}

void DeliveryLane::check_acks() {
    if (!connected_) return;
    const auto now = sched_.now();
    Clock::time_point oldest = now;
    uint64_t oldest_id = 0;
    for (const auto& [mid, f] : inflight_)
        if (f.sent < oldest) {
            oldest = f.sent;
            oldest_id = f.id;
        }
    if (orphans_.empty() && (inflight_.empty() || now - oldest < tuning_.puback_timeout)) {
        if (!inflight_.empty())
            ack_timer_->arm(std::chrono::ceil<milliseconds>(oldest + tuning_.puback_timeout - now));
        return;
    }
    const std::string why =
        orphans_.empty()
            ? "no PUBACK for message " + std::to_string(oldest_id) + " in " +
                  std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now - oldest).count()) + " s"
            : "the client reused the message id of an unacknowledged publish";
    log::warning("cloud ", name_, ": ", why, "; connecting again to send ", inflight_.size() + orphans_.size(),
                 " unacknowledged message", inflight_.size() + orphans_.size() == 1 ? "" : "s", " again");
    probe_.reconnect_requested();
    session_.reconnect(why);
}

void DeliveryLane::on_available() { drain(); }

void DeliveryLane::charge() { bucket_.take(sched_.now()); }

void DeliveryLane::on_reply(const UplinkReply& reply) {
    const auto post = posts_.find(reply.id);
    if (post == posts_.end()) {
        log::debug("cloud ", name_, ": reply ", reply.code, " to id ", reply.id, " matches no post of ours");
        return;
    }
    if (post->second) {
        log::debug("cloud ", name_, ": reply ", reply.code, " to id ", reply.id, " again (the post was resent)");
        return;
    }
    post->second = true;
    if (reply.accepted) {
        ++counts_.accepted;
    } else {
        ++counts_.rejected;
        counts_.last_rejection = reply.message.empty() ? reply.code : reply.code + " " + reply.message;
        log::warning("cloud ", name_, ": the platform rejected post ", reply.id, ": ", counts_.last_rejection);
    }
    changed();
}

void DeliveryLane::count_invalid() {
    ++counts_.invalid;
    changed();
}

void DeliveryLane::count_dropped() {
    ++counts_.dropped;
    changed();
}

DeliveryStatus DeliveryLane::status() const {
    DeliveryStatus s = counts_;
    const OutboxCounters c = outbox_.counters(name_);
    s.queued = c.queued;
    s.dropped += c.dropped;
    return s;
}

void DeliveryLane::changed() {
    if (on_change) on_change();
}

void DeliveryLane::drain() {
    // send() may end the connection (through the client's callbacks) and re-enter.
    if (draining_ || !connected_) return;
    draining_ = true;
    struct Done {
        bool& flag;
        ~Done() { flag = false; }
    } done{draining_};
    while (connected_ && inflight_.size() < tuning_.window) {
        if (buffer_.empty()) {
            // No more than the window can take: a row recovered from the file is read back on
            // the loop, and a backlog of 256 KB payloads must not stall it for long.
            auto rows = outbox_.next(name_, cursor_, std::min(tuning_.batch, tuning_.window - inflight_.size()));
            if (rows.empty()) break;
            buffer_.assign(std::make_move_iterator(rows.begin()), std::make_move_iterator(rows.end()));
        }
        const OutboxMessage& m = buffer_.front();
        if (m.id <= cursor_) {
            buffer_.pop_front();
            continue;
        }
        if (resend_until_ != 0 && m.id > resend_until_) {
            resend_.clear();
            resend_until_ = 0;
        }
        if (resend_until_ != 0 && !resend_.contains(m.id)) {
            // Acknowledged on an earlier connection (the outbox may still hand it out).
            cursor_ = m.id;
            buffer_.pop_front();
            continue;
        }
        if (m.id == probe_.held_back()) {
            // The probe: everything but the suspect (it is sent again if this connection dies).
            resend_.erase(m.id);
            cursor_ = m.id;
            buffer_.pop_front();
            continue;
        }
        OutboxMessage next = std::move(buffer_.front());
        buffer_.pop_front();
        const bool sent = send(next);
        if (!connected_) break;  // the connection ended meanwhile and reset the lane
        if (!sent) {
            buffer_.push_front(std::move(next));
            break;
        }
        resend_.erase(next.id);
        cursor_ = next.id;
    }
}

bool DeliveryLane::send(const OutboxMessage& m) {
    const auto now = sched_.now();
    if (!bucket_.try_take(now)) {
        timer_->arm(std::max(bucket_.wait(now), milliseconds(1)));
        return false;
    }
    const auto format = parse_uplink_format(m.format);
    if (!format) {
        give_up(m, "unknown format " + m.format);
        return true;
    }
    // Accepted under other settings (a reload changed the device's name, say): what the platform
    // would refuse -- OneNET by disconnecting -- is dropped rather than sent on every connection.
    if (auto why = check_publish_topic(platform_, m.topic, fields_); !why.empty()) {
        give_up(m, "the cloud topic " + why);
        return true;
    }
    const std::string payload = wrap_uplink(platform_, *format, m.payload, m.id, m.created_ms);
    if (payload.size() > max_payload(platform_)) {
        give_up(m, std::to_string(payload.size()) + " bytes are over " + to_string(platform_) + "'s " +
                       std::to_string(max_payload(platform_)));
        return true;
    }
    const int mid = session_.publish(m.topic, payload, m.qos);
    if (mid < 0) {
        if (!connected_) return false;
        if (++refusals_ >= tuning_.max_refusals) {
            give_up(m, "the MQTT client refused it " + std::to_string(refusals_) + " times");
            refusals_ = 0;
            return true;
        }
        timer_->arm(tuning_.retry);
        return false;
    }
    refusals_ = 0;
    if (!connected_) return false;
    const auto [slot, fresh] = inflight_.try_emplace(mid, Flight{m.id, now});
    if (!fresh) {
        orphans_.push_back(slot->second.id);
        slot->second = Flight{m.id, now};
        ack_timer_->arm(milliseconds(0));  // check_acks() reconnects, outside this send
    } else if (!ack_timer_->armed()) {
        ack_timer_->arm(tuning_.puback_timeout);
    }
    if (format->kind != UplinkKind::raw) remember_post(m.id);
    return true;
}

// A row that can never be sent must not block the ones behind it.
void DeliveryLane::give_up(const OutboxMessage& m, const std::string& why) {
    log::error("cloud ", name_, ": dropping queued message ", m.id, " for ", m.topic, ": ", why);
    outbox_.drop(m.id);
    count_dropped();
}

void DeliveryLane::remember_post(uint64_t id) {
    const auto wire = static_cast<uint32_t>(id);
    if (!posts_.try_emplace(wire, false).second) return;
    posts_order_.push_back(wire);
    while (posts_order_.size() > tuning_.reply_memory) {
        posts_.erase(posts_order_.front());
        posts_order_.pop_front();
    }
}

}  // namespace cellgate::bridge
