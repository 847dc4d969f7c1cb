#include "bridge/bridge.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <set>

#include "base/guarded.hpp"
#include "base/lifetime.hpp"
#include "base/log.hpp"
#include "base/wall_clock.hpp"
#include "bridge/downlink.hpp"
#include "bridge/local_intake.hpp"
#include "cloud/payload.hpp"
#include "cloud/platform.hpp"
#include "cloud/session.hpp"
#include "cloud/topics.hpp"

namespace cellgate::bridge {

using cloud::CloudConfig;
using cloud::Platform;
using cloud::RateBuckets;
using cloud::Session;
using cloud::TokenBucket;
using cloud::TopicFields;
using cloud::UplinkFormat;
using cloud::UplinkKind;
using cloud::check_publish_topic;
using cloud::default_rate_limit;
using cloud::expand_topic;
using cloud::max_payload;
using cloud::max_qos;
using cloud::mqtt_topic_matches;
using cloud::parse_uplink_reply;
using cloud::reply_filters;
using cloud::topic_fields;
using cloud::uplink_topic;
using cloud::valid_topic_name;
using cloud::validate_uplink;
using cloud::wrap_uplink;

using namespace std::chrono_literals;

const char* to_string(PublishError e) {
    switch (e) {
        case PublishError::invalid_topic: return "invalid-topic";
        case PublishError::too_large: return "too-large";
        case PublishError::qos_not_supported: return "qos-not-supported";
        case PublishError::not_connected: return "not-connected";
        case PublishError::outbox_full: return "outbox-full";
        case PublishError::outbox_failed: return "outbox-failed";
    }
    return "unknown";
}

namespace {

// Subscriptions on either side: QoS 1, so neither broker drops what it holds for us.
constexpr int kSubscribeQos = 1;
// Refused or lost local messages are logged at most this often per route or session: a publisher
// stuck in a loop must not flood the journal (the counters still count every one).
constexpr milliseconds kRefusalLogInterval = 10s;
// The longest id a post can carry (ids are sent modulo 2^32): sizes are checked with it.
constexpr uint64_t kLongestMessageId = 4'294'967'295;

struct LogThrottle {
    Clock::time_point next{};
    uint64_t suppressed = 0;

    // Whether to log now; `more` is how many were suppressed since the last line.
    bool allow(Clock::time_point now, uint64_t& more) {
        if (now < next) {
            ++suppressed;
            return false;
        }
        next = now + kRefusalLogInterval;
        more = suppressed;
        suppressed = 0;
        return true;
    }
};

struct Route {
    RouteConfig config;
    size_t lane = 0;
    bool templated = false;  // topic holds {captures}/{fields}; else it is the literal cloud topic
    std::string topic;
    LogThrottle throttle;
};

// A downlink entry and the session (lane) it serves.
struct DownlinkLane {
    size_t lane = 0;
    Downlink link;
};

}  // namespace

struct Bridge::Impl {
    Impl(Scheduler& s, const BridgeConfig& c, Outbox& o, Session* l, std::vector<Session*> ss, RateBuckets& b,
         DeliveryTuning t);
    ~Impl();

    void add_lane(size_t index, const BridgeConfig& c, DeliveryTuning t);
    void compile_routes(const BridgeConfig& c);
    void compile_downlink(const BridgeConfig& c);
    void subscribe_cloud();
    void subscribe_local();

    void on_local_message(const std::string& topic, const std::string& payload);
    void accept(Route& r, const std::string& local_topic, const std::vector<std::string>& captures,
                const std::string& payload);
    void on_local_answer(DownlinkLane& d, std::string_view suffix, const std::string& payload);
    void on_cloud_message(size_t index, const std::string& topic, const std::string& payload);
    void publish(size_t index, const std::string& topic, std::string payload, int qos, PublishDone done);

    std::optional<size_t> lane_of(std::string_view name) const;
    DownlinkLane* downlink_of(size_t index);
    void notify_soon();
    void notify();
    void report_orphans(const std::string& name);

    Scheduler& sched;
    Outbox& outbox;
    RateBuckets& buckets;
    Session* local;
    std::vector<Session*> sessions;
    uint64_t max_bytes;
    std::vector<std::unique_ptr<DeliveryLane>> lanes;
    std::vector<TopicFields> fields;
    std::vector<Route> routes;
    std::vector<DownlinkLane> downlinks;
    std::unique_ptr<LocalIntake> intake;  // with a local broker connection
    std::vector<LogThrottle> lost_logs;  // per lane: local messages given up on
    std::set<std::string, std::less<>> orphans_reported;  // sessions renamed or removed, once each

    Bridge* self = nullptr;
    std::vector<DeliveryStatus> emitted;
    bool notify_pending = false;
    Lifetime life;  // deferred work and outbox completions check it
};

Bridge::Impl::Impl(Scheduler& s, const BridgeConfig& c, Outbox& o, Session* l, std::vector<Session*> ss,
                   RateBuckets& b, DeliveryTuning t)
    : sched(s), outbox(o), buckets(b), local(l), sessions(std::move(ss)), max_bytes(c.outbox.max_bytes) {
    for (size_t i = 0; i < sessions.size(); ++i) add_lane(i, c, t);
    emitted.resize(sessions.size());
    lost_logs.resize(sessions.size());
    compile_routes(c);
    compile_downlink(c);
    subscribe_cloud();
    if (local) {
        intake = std::make_unique<LocalIntake>(sched, outbox, *local);
        intake->on_lost = [this](const std::string& name, const std::string& why) {
            const auto index = lane_of(name);
            if (!index) return;
            lanes[*index]->count_dropped();
            uint64_t more = 0;
            if (lost_logs[*index].allow(sched.now(), more))
                log::error("outbox: a message for ", name, " is lost: ", why,
                           more ? " (" + std::to_string(more) + " more lost since the last report)" : "");
        };
        subscribe_local();
    }

    outbox.on_available = [this](const std::string& name) {
        guarded("bridge: outbox available", [&] {
            if (auto i = lane_of(name)) lanes[*i]->on_available();
            else report_orphans(name);
            notify_soon();
        });
    };
    outbox.on_dropped = [this](const std::string& name, uint64_t count, const std::string& why) {
        guarded("bridge: outbox dropped", [&] {
            log::warning("outbox: dropped the ", count, " oldest message", count == 1 ? "" : "s", " of ", name, ": ",
                         why);
            notify_soon();
        });
    };
    // A reload that renamed or removed a session leaves its rows behind: say so once.
    for (const auto& name : outbox.sessions())
        if (!lane_of(name)) report_orphans(name);
    notify_soon();
}

void Bridge::Impl::report_orphans(const std::string& name) {
    if (!orphans_reported.insert(name).second) return;
    log::warning("outbox: ", outbox.counters(name).queued, " messages are queued for cloud session ", name,
                 ", which is not configured; they stay until it is again (or an outbox limit drops them)");
}

Bridge::Impl::~Impl() {
    outbox.on_available = nullptr;
    outbox.on_dropped = nullptr;
    for (auto* s : sessions) {
        s->on_message = nullptr;
        s->on_published = nullptr;
        s->on_connected = nullptr;
        s->on_disconnected = nullptr;
    }
    if (local) local->on_message = nullptr;
}

void Bridge::Impl::add_lane(size_t index, const BridgeConfig& c, DeliveryTuning t) {
    Session& s = *sessions[index];
    const CloudConfig& cc = s.config();
    const auto limit = c.rate_limits.find(cc.name);
    TokenBucket& bucket = buckets.at(
        cc.name, limit != c.rate_limits.end() ? limit->second : default_rate_limit(cc.platform), sched.now());
    auto lane = std::make_unique<DeliveryLane>(sched, outbox, s, bucket, t);
    DeliveryLane* raw = lane.get();
    raw->on_change = [this] { notify_soon(); };
    s.on_connected = [this, raw] {
        raw->on_connected();
        notify_soon();
    };
    s.on_disconnected = [this, raw] {
        raw->on_disconnected();
        notify_soon();
    };
    s.on_published = [this, raw](int mid) {
        raw->on_published(mid);
        notify_soon();
    };
    s.on_message = [this, index](const std::string& topic, const std::string& payload) {
        on_cloud_message(index, topic, payload);
    };
    fields.push_back(topic_fields(cc));
    lanes.push_back(std::move(lane));
}

void Bridge::Impl::compile_routes(const BridgeConfig& c) {
    for (const auto& rc : c.routes) {
        const auto index = lane_of(rc.to);
        if (!index) {
            log::error("bridge: route ", rc.from, " (line ", rc.config_line, ") names no session ", rc.to);
            continue;
        }
        Route r;
        r.config = rc;
        r.lane = *index;
        r.templated = !rc.topic.empty();
        if (r.templated) {
            r.topic = rc.topic;
        } else {
            auto t = uplink_topic(lanes[*index]->platform(), rc.as, fields[*index]);
            if (!t) {
                log::error("bridge: route ", rc.from, " (line ", rc.config_line, "): ", t.error());
                continue;
            }
            r.topic = *t;
        }
        routes.push_back(std::move(r));
    }
}

void Bridge::Impl::compile_downlink(const BridgeConfig& c) {
    for (const auto& dc : c.downlink) {
        const auto index = lane_of(dc.from);
        if (!index) continue;
        downlinks.push_back(DownlinkLane{*index, Downlink(dc, lanes[*index]->platform(), fields[*index])});
    }
}

// The whole set per session, replacing what an earlier bridge (before a reload) held.
void Bridge::Impl::subscribe_cloud() {
    for (size_t i = 0; i < sessions.size(); ++i) {
        std::vector<std::pair<std::string, int>> filters;
        for (const auto& f : reply_filters(lanes[i]->platform(), fields[i])) filters.emplace_back(f, kSubscribeQos);
        for (const auto& d : downlinks)
            if (d.lane == i)
                for (const auto& f : d.link.cloud_filters()) filters.emplace_back(f, kSubscribeQos);
        sessions[i]->set_subscriptions(filters);
    }
}

void Bridge::Impl::subscribe_local() {
    std::vector<std::pair<std::string, int>> filters;
    for (const auto& r : routes) filters.emplace_back(r.config.from, kSubscribeQos);
    // The local application's answers; our own requests come back on it too and are ignored.
    for (const auto& d : downlinks) filters.emplace_back(d.link.local_filter(), kSubscribeQos);
    local->set_subscriptions(filters);
    local->on_message = [this](const std::string& topic, const std::string& payload) {
        on_local_message(topic, payload);
    };
}

std::optional<size_t> Bridge::Impl::lane_of(std::string_view name) const {
    for (size_t i = 0; i < lanes.size(); ++i)
        if (lanes[i]->name() == name) return i;
    return std::nullopt;
}

DownlinkLane* Bridge::Impl::downlink_of(size_t index) {
    for (auto& d : downlinks)
        if (d.lane == index) return &d;
    return nullptr;
}

// ---- uplink ----

void Bridge::Impl::on_local_message(const std::string& topic, const std::string& payload) {
    for (auto& d : downlinks) {
        if (const auto suffix = d.link.local_suffix(topic)) {
            on_local_answer(d, *suffix, payload);
            return;
        }
    }
    std::vector<std::string> captures;
    for (auto& r : routes) {
        if (mqtt_topic_matches(r.config.from, topic, &captures)) {
            accept(r, topic, captures, payload);
            return;
        }
    }
    log::debug("bridge: no route for local topic ", topic);
}

void Bridge::Impl::accept(Route& r, const std::string& local_topic, const std::vector<std::string>& captures,
                          const std::string& payload) {
    DeliveryLane& lane = *lanes[r.lane];
    const Platform p = lane.platform();
    const auto refuse = [&](const std::string& why) {
        lane.count_invalid();
        uint64_t more = 0;
        if (r.throttle.allow(sched.now(), more))
            log::warning("bridge: route ", r.config.from, " -> ", r.config.to, " (line ", r.config.config_line,
                         "): not forwarding ", local_topic, ": ", why,
                         more ? " (" + std::to_string(more) + " more refused since the last report)" : "");
    };
    if (auto ok = validate_uplink(r.config.as, payload); !ok) return refuse(ok.error());
    // What the platform will get is the wrapped message (with the longest id it can carry), up
    // to several times the local payload: over the limit, OneNET disconnects, so the row would
    // come back first on every connection and block the session.
    const int64_t now_ms = wall_ms();
    const size_t sent = r.config.as.kind == UplinkKind::raw
                            ? payload.size()
                            : wrap_uplink(p, r.config.as, payload, kLongestMessageId, now_ms).size();
    if (sent > max_payload(p))
        return refuse((sent == payload.size() ? "payload of " : "wrapped for the platform, a payload of ") +
                      std::to_string(sent) + " bytes is over " + to_string(p) + "'s " + std::to_string(max_payload(p)));
    // The outbox would refuse it for good; held for a retry it would block the local intake.
    if (payload.size() > max_bytes)
        return refuse("payload of " + std::to_string(payload.size()) + " bytes is over outbox.max_bytes (" +
                      std::to_string(max_bytes) + ")");
    std::string topic = r.topic;
    if (r.templated) {
        std::string error;
        auto t = expand_topic(r.topic, fields[r.lane], captures, error);
        if (!t) return refuse("cloud topic: " + error);
        if (auto why = check_publish_topic(p, *t, fields[r.lane]); !why.empty())
            return refuse("cloud topic " + *t + ": " + why);
        topic = std::move(*t);
    }
    if (r.config.qos == 0 && !lane.connected()) {
        lane.count_dropped();  // QoS 0 may be lost while offline; counted, not logged per message
        return;
    }
    OutboxMessage m;
    m.session = lane.name();
    m.topic = std::move(topic);
    m.format = to_string(r.config.as);
    m.payload = payload;
    m.qos = r.config.qos;
    m.created_ms = now_ms;
    intake->submit(std::move(m));
}

// ---- downlink ----

void Bridge::Impl::on_local_answer(DownlinkLane& d, std::string_view suffix, const std::string& payload) {
    DeliveryLane& lane = *lanes[d.lane];
    const Platform p = lane.platform();
    const auto msg = d.link.answer(suffix, payload);
    const std::string where = d.link.config().to + "/" + std::string(suffix);
    if (!msg) {
        if (Downlink::looks_like_answer(suffix)) log::warning("bridge: local answer on ", where, " not forwarded: ", msg.error());
        else log::debug("bridge: ", where, " answers nothing (", msg.error(), ")");
        return;
    }
    if (sessions[d.lane]->publish(msg->topic, msg->payload, std::min(1, max_qos(p))) < 0)
        log::warning("bridge: local answer on ", where, " not forwarded: cloud session ", lane.name(),
                     " is not connected");
    else
        lane.charge();
}

void Bridge::Impl::on_cloud_message(size_t index, const std::string& topic, const std::string& payload) {
    DeliveryLane& lane = *lanes[index];
    if (auto reply = parse_uplink_reply(lane.platform(), topic, payload)) {
        lane.on_reply(*reply);
        return;
    }
    DownlinkLane* d = downlink_of(index);
    const std::optional<std::string> local_topic = d ? d->link.request(topic, payload) : std::nullopt;
    if (!local_topic) {
        log::debug("cloud ", lane.name(), ": nothing routes ", topic);
        return;
    }
    if (!local || local->publish(*local_topic, payload, kSubscribeQos) < 0)
        log::warning("bridge: cloud request on ", topic, " for ", *local_topic,
                     " lost: the local broker is not connected");
}

// ---- D-Bus Publish ----

void Bridge::Impl::publish(size_t index, const std::string& topic, std::string payload, int qos, PublishDone done) {
    DeliveryLane& lane = *lanes.at(index);
    const Platform p = lane.platform();
    const auto fail = [&](PublishError e, std::string why) { done(std::unexpected(PublishFailure{e, std::move(why)})); };
    if (qos < 0 || qos > max_qos(p))
        return fail(PublishError::qos_not_supported,
                    std::string(to_string(p)) + " accepts QoS 0 to " + std::to_string(max_qos(p)) + ", got " +
                        std::to_string(qos));
    if (!valid_topic_name(topic)) return fail(PublishError::invalid_topic, "not an MQTT topic name: " + topic);
    if (auto why = check_publish_topic(p, topic, fields[index]); !why.empty())
        return fail(PublishError::invalid_topic, why);
    if (payload.size() > max_payload(p))
        return fail(PublishError::too_large, "payload of " + std::to_string(payload.size()) + " bytes is over " +
                                                 to_string(p) + "'s " + std::to_string(max_payload(p)));
    if (payload.size() > max_bytes)
        return fail(PublishError::outbox_full, "payload of " + std::to_string(payload.size()) +
                                                   " bytes is over outbox.max_bytes (" + std::to_string(max_bytes) +
                                                   ")");
    if (qos == 0 && !lane.connected())
        return fail(PublishError::not_connected,
                    "cloud session " + lane.name() + " is not connected; QoS 0 messages are not queued");
    OutboxMessage m;
    m.session = lane.name();
    m.topic = topic;
    m.format = to_string(UplinkFormat{});
    m.payload = std::move(payload);
    m.qos = qos;
    m.created_ms = wall_ms();
    outbox.enqueue(std::move(m), [this, alive = life.token(), index,
                                  done = std::move(done)](std::expected<uint64_t, OutboxError> id) {
        guarded("bridge: Publish completion", [&] {
            if (id) {
                done(*id);
                return;
            }
            const bool full = id.error().kind == OutboxErrorKind::full;
            done(std::unexpected(
                PublishFailure{full ? PublishError::outbox_full : PublishError::outbox_failed, id.error().message}));
            if (!alive.expired()) lanes[index]->count_dropped();
        });
    });
}

// ---- status ----

void Bridge::Impl::notify_soon() {
    if (notify_pending) return;
    notify_pending = true;
    sched.defer([this, alive = life.token()] {
        if (alive.expired()) return;
        notify_pending = false;
        guarded("bridge: status", [&] { notify(); });
    });
}

void Bridge::Impl::notify() {
    for (size_t i = 0; i < lanes.size(); ++i) {
        auto s = lanes[i]->status();
        if (s == emitted[i]) continue;
        emitted[i] = s;
        if (self && self->on_change) self->on_change(i, s);
    }
}

Bridge::Bridge(Scheduler& sched, const BridgeConfig& config, Outbox& outbox, Session* local,
               std::vector<Session*> sessions, RateBuckets& buckets, DeliveryTuning tuning)
    : impl_(std::make_unique<Impl>(sched, config, outbox, local, std::move(sessions), buckets, tuning)) {
    impl_->self = this;
}

Bridge::~Bridge() = default;

void Bridge::publish(size_t session, const std::string& topic, std::string payload, int qos, PublishDone done) {
    impl_->publish(session, topic, std::move(payload), qos, std::move(done));
}

DeliveryStatus Bridge::status(size_t session) const { return impl_->lanes.at(session)->status(); }

}  // namespace cellgate::bridge
