// Decisions worth knowing when reading the D-Bus properties:
// - Reconnects counts established connections that ended, whoever ended them (broker, link loss,
//   Reconnect()); failed attempts are not counted.
// - NextRetryIn is the delay chosen when the retry was scheduled, not a live countdown.
// - Every attempt, however triggered, keeps the platform's spacing (backoff.hpp).
#include "cloud/session.hpp"

#include <algorithm>
#include <exception>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "base/duration_text.hpp"
#include "base/guarded.hpp"
#include "base/lifetime.hpp"
#include "base/log.hpp"
#include "base/wall_clock.hpp"
#include "cloud/backoff.hpp"
#include "cloud/platform.hpp"
#include "cloud/platform_profile.hpp"

namespace cellgate::cloud {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

namespace {

// A connection the broker closes this soon after CONNACK was probably kicked by another login with
// the same identity (Aliyun logs it as "Kicked by the same device"; OneNET keeps the newest login).
constexpr milliseconds kShortSession = 10s;
constexpr unsigned kKicksBeforeDuplicateHint = 3;
// Safety net over the client's own connect timeout: an attempt that never reports back must not
// leave the session in `connecting` forever.
constexpr milliseconds kConnectDeadline = 90s;

uint32_t whole_seconds_up(milliseconds d) {
    return static_cast<uint32_t>((d.count() + 999) / 1000);
}

}  // namespace

struct Session::Impl {
    Impl(Session& s, Scheduler& sc, CloudConfig c, BackoffConfig b, std::unique_ptr<MqttClient> cl, bool follows,
         uint32_t seed);
    ~Impl();

    // Every callback from the client, a timer or the loop enters through here (base/guarded.hpp):
    // nothing may throw into libmosquitto or sd-event.
    template <class F> void guarded(const char* where, F&& f) noexcept;

    void set_state(SessionState next, const std::string& reason);
    void publish_status();
    void notify_soon();

    void connect_now(const std::string& why);
    void schedule_retry(milliseconds delay, SessionState state, const std::string& why);
    // Closes an attempt or connection on our side (no client callback follows).
    void drop(const std::string& why);

    void handle_connected();
    void handle_connect_failed(int rc, const std::string& reason);
    void handle_disconnected(const std::string& reason);
    void handle_stable();
    void handle_deadline();

    bool active() const {
        return status.state == SessionState::connecting || status.state == SessionState::connected;
    }

    Session& self;
    Scheduler& sched;
    CloudConfig config;
    const PlatformProfile& platform;
    const std::string tag;  // "cloud <name>", what every log line of this session starts with
    Backoff backoff;
    std::unique_ptr<MqttClient> client;
    const bool follows_modem;
    bool link_up = false;
    bool started = false;
    bool paused = false;  // pause(): idle, no attempt, until resume()

    SessionStatus status;
    SessionStatus published;
    bool notify_pending = false;
    Lifetime life;  // deferred work checks its token before touching the session

    std::unique_ptr<Timer> retry_timer;
    std::unique_ptr<Timer> stable_timer;
    std::unique_ptr<Timer> deadline_timer;
    std::string retry_reason;

    Clock::time_point connected_at{};
    // After a CONNACK refusal: the earliest retry. A flapping link must not turn a refused login
    // into one attempt per link-up.
    std::optional<Clock::time_point> refused_until;
    unsigned short_sessions = 0;

    bool keep_session = false;
    std::vector<std::pair<std::string, int>> subscriptions;
    std::vector<std::string> stale;  // dropped while away from a kept session: unsubscribe on connect
};

Session::Impl::Impl(Session& s, Scheduler& sc, CloudConfig c, BackoffConfig b, std::unique_ptr<MqttClient> cl,
                    bool follows, uint32_t seed)
    : self(s),
      sched(sc),
      config(std::move(c)),
      platform(profile(config.platform)),
      tag("cloud " + config.name),
      backoff(b, seed, platform.connect_spacing()),
      client(std::move(cl)),
      follows_modem(follows) {
    status.name = config.name;
    status.platform = platform.name();
    status.endpoint = platform.endpoint(config);
    status.client_id = config.client_id;
    status.transport = to_string(config.transport);
    status.keepalive_s = static_cast<uint32_t>(config.keepalive.count());
    published = status;

    retry_timer = sched.make_timer([this] { guarded("retry", [&] { connect_now(retry_reason); }); });
    stable_timer = sched.make_timer([this] { guarded("stable", [&] { handle_stable(); }); });
    deadline_timer = sched.make_timer([this] { guarded("deadline", [&] { handle_deadline(); }); });

    client->on_connected = [this] { guarded("on_connected", [&] { handle_connected(); }); };
    client->on_connect_failed = [this](int rc, const std::string& reason) {
        guarded("on_connect_failed", [&] { handle_connect_failed(rc, reason); });
    };
    client->on_disconnected = [this](const std::string& reason) {
        guarded("on_disconnected", [&] { handle_disconnected(reason); });
    };
    client->on_message = [this](const std::string& topic, const std::string& payload) {
        guarded("on_message", [&] {
            ++status.received;
            notify_soon();
            if (self.on_message) self.on_message(topic, payload);
        });
    };
    client->on_published = [this](int mid) {
        guarded("on_published", [&] {
            if (self.on_published) self.on_published(mid);
        });
    };
    client->on_ping_sent = [this] {
        guarded("on_ping_sent", [&] {
            ++status.pings;
            notify_soon();
        });
    };
}

Session::Impl::~Impl() {
    client->on_connected = nullptr;
    client->on_connect_failed = nullptr;
    client->on_disconnected = nullptr;
    client->on_message = nullptr;
    client->on_published = nullptr;
    client->on_ping_sent = nullptr;
    if (active()) guarded("shutdown", [&] { client->disconnect(); });
}

template <class F>
void Session::Impl::guarded(const char* where, F&& f) noexcept {
    cellgate::guarded(tag, where, std::forward<F>(f));
}

void Session::Impl::set_state(SessionState next, const std::string& reason) {
    const SessionState old = status.state;
    status.state = next;
    if (old == next)
        log::debug(tag, ": ", to_string(old), " (", reason, ")");
    else if (next == SessionState::auth_failed)
        log::warning(tag, ": ", to_string(old), " -> ", to_string(next), " (", reason, ")");
    else if (next == SessionState::connected || old == SessionState::connected)
        log::notice(tag, ": ", to_string(old), " -> ", to_string(next), " (", reason, ")");
    else
        log::info(tag, ": ", to_string(old), " -> ", to_string(next), " (", reason, ")");
    publish_status();
    if (old == next) return;
    if (next == SessionState::connected) {
        for (const auto& filter : std::exchange(stale, {})) (void)client->unsubscribe(filter);
        for (const auto& [filter, qos] : subscriptions)
            if (client->subscribe(filter, qos) < 0)
                log::warning(tag, ": cannot subscribe to ", filter);
        if (self.on_connected) guarded("on_connected hook", [&] { self.on_connected(); });
    } else if (old == SessionState::connected) {
        if (self.on_disconnected) guarded("on_disconnected hook", [&] { self.on_disconnected(); });
    }
}

void Session::Impl::publish_status() {
    notify_pending = false;
    if (status == published) return;
    published = status;
    if (self.on_change) guarded("on_change", [&] { self.on_change(status); });
}

// Counters change with every message: coalesce a burst into one change per loop iteration
// instead of one D-Bus signal per message.
void Session::Impl::notify_soon() {
    if (notify_pending) return;
    notify_pending = true;
    sched.defer([this, token = life.token()] {
        if (token.expired()) return;
        guarded("notify", [&] { publish_status(); });
    });
}

void Session::Impl::connect_now(const std::string& why) {
    retry_timer->cancel();
    if (const auto wait = backoff.spacing_wait(sched.now()); wait > 0ms) {
        schedule_retry(wait, SessionState::backoff, why + "; keeping " + duration_text(backoff.min_spacing()) +
                                                        " between connect attempts");
        return;
    }
    ConnectParams params;
    try {
        // Fresh credentials every attempt: Aliyun signs a timestamp, OneNET a token expiry.
        params = make_connect_params(config, std::chrono::system_clock::now());
    } catch (const std::exception& e) {
        status.last_disconnect_reason = std::string("cannot build CONNECT: ") + e.what();
        schedule_retry(backoff.next_delay(), SessionState::backoff, status.last_disconnect_reason);
        return;
    }
    status.endpoint = params.host + ":" + std::to_string(params.port);
    status.client_id = params.client_id;
    status.keepalive_s = static_cast<uint32_t>(params.keepalive.count());
    status.next_retry_in_s = 0;
    if (keep_session) params.clean_session = false;
    backoff.record_attempt(sched.now());
    deadline_timer->arm(kConnectDeadline);
    // The state goes first: the client may report failure from inside connect().
    set_state(SessionState::connecting, why);
    try {
        client->connect(params);
    } catch (const std::exception& e) {
        if (status.state == SessionState::connecting) handle_connect_failed(-1, e.what());
    }
}

void Session::Impl::schedule_retry(milliseconds delay, SessionState state, const std::string& why) {
    // Jitter may draw zero; the spacing floor applies to every attempt, however it is triggered.
    delay = std::max(delay, backoff.spacing_wait(sched.now()));
    retry_reason = state == SessionState::auth_failed ? "retry after refusal" : "backoff elapsed";
    retry_timer->arm(delay);
    // Set once per schedule, not counted down: a property that changed every second would flood
    // D-Bus with PropertiesChanged for a value busctl can recompute.
    status.next_retry_in_s = whole_seconds_up(delay);
    set_state(state, why + "; retry in " + duration_text(delay));
}

void Session::Impl::drop(const std::string& why) {
    deadline_timer->cancel();
    stable_timer->cancel();
    if (!active()) return;
    const bool was_connected = status.state == SessionState::connected;
    client->disconnect();
    if (was_connected) {
        // Counts ended connections whoever ended them, so Reconnects matches what the broker saw.
        ++status.reconnects;
        status.connected_since_us = 0;
        status.last_disconnect_reason = why;
    }
}

void Session::Impl::handle_connected() {
    if (status.state != SessionState::connecting) {
        log::debug(tag, ": stale CONNACK in state ", to_string(status.state));
        return;
    }
    deadline_timer->cancel();
    refused_until.reset();
    connected_at = sched.now();
    status.connected_since_us = wall_us();
    status.next_retry_in_s = 0;
    // Never sooner than a short session: a kick loop must not reset the schedule even with a
    // small configured stable_after.
    stable_timer->arm(std::max(backoff.stable_after(), kShortSession));
    set_state(SessionState::connected, "CONNACK accepted");
}

void Session::Impl::handle_connect_failed(int rc, const std::string& reason) {
    if (status.state != SessionState::connecting) {
        log::debug(tag, ": stale connect failure in state ", to_string(status.state));
        return;
    }
    deadline_timer->cancel();
    if (rc > 0) {
        // Wrong credentials or a rejected client id do not heal in seconds, and hammering the
        // platform with them gets the device banned: wait the cap.
        const std::string meaning = platform.connack_meaning(rc);
        status.last_disconnect_reason = "connection refused (CONNACK " + std::to_string(rc) + "): " + meaning;
        const milliseconds delay = backoff.refused_delay();
        refused_until = sched.now() + delay;
        schedule_retry(delay, SessionState::auth_failed, status.last_disconnect_reason);
        return;
    }
    status.last_disconnect_reason = reason.empty() ? "connect failed" : reason;
    schedule_retry(backoff.next_delay(), SessionState::backoff, "connect failed: " + status.last_disconnect_reason);
}

void Session::Impl::handle_disconnected(const std::string& reason) {
    if (status.state == SessionState::connecting) {
        // Closed before CONNACK: a failed attempt, not an ended connection.
        handle_connect_failed(-1, reason.empty() ? "connection closed before CONNACK" : reason);
        return;
    }
    if (status.state != SessionState::connected) {
        log::debug(tag, ": stale disconnect in state ", to_string(status.state));
        return;
    }
    stable_timer->cancel();
    ++status.reconnects;
    status.connected_since_us = 0;
    const std::string why = reason.empty() ? "connection closed" : reason;
    short_sessions = sched.now() - connected_at < kShortSession ? short_sessions + 1 : 0;
    if (short_sessions >= kKicksBeforeDuplicateHint) {
        status.last_disconnect_reason = "kicked shortly after connect " + std::to_string(short_sessions) +
                                        " times in a row: probably another device uses client id " +
                                        status.client_id + " (Kicked by the same device)";
        // The backoff keeps growing: only stable_after connected resets it, never a short session.
        schedule_retry(backoff.next_delay(), SessionState::backoff, why + "; probable duplicate client id");
        return;
    }
    status.last_disconnect_reason = why;
    schedule_retry(backoff.next_delay(), SessionState::backoff, "disconnected: " + why);
}

void Session::Impl::handle_stable() {
    if (status.state != SessionState::connected) return;
    if (backoff.reset_if_stable(std::chrono::duration_cast<milliseconds>(sched.now() - connected_at))) {
        short_sessions = 0;
        log::debug(tag, ": up for ", duration_text(backoff.stable_after()), ", backoff reset");
    }
}

void Session::Impl::handle_deadline() {
    if (status.state != SessionState::connecting) return;
    client->disconnect();
    handle_connect_failed(-1, "no CONNACK within " + duration_text(kConnectDeadline));
}

Session::Session(Scheduler& sched, CloudConfig config, BackoffConfig backoff, std::unique_ptr<MqttClient> client,
                 bool link_follows_modem, uint32_t random_seed)
    : impl_(std::make_unique<Impl>(*this, sched, std::move(config), backoff, std::move(client), link_follows_modem,
                                   random_seed)) {}

Session::~Session() = default;

void Session::keep_session(bool keep) { impl_->keep_session = keep; }

void Session::set_subscriptions(const std::vector<std::pair<std::string, int>>& filters) {
    auto& m = *impl_;
    std::vector<std::pair<std::string, int>> next;
    for (const auto& f : filters)
        if (std::find_if(next.begin(), next.end(), [&](const auto& n) { return n.first == f.first; }) == next.end())
            next.push_back(f);
    const bool up = m.status.state == SessionState::connected;
    for (const auto& [filter, qos] : m.subscriptions) {
        if (std::find_if(next.begin(), next.end(), [&](const auto& n) { return n.first == filter; }) != next.end())
            continue;
        if (up) (void)m.client->unsubscribe(filter);
        else if (m.keep_session) m.stale.push_back(filter);
    }
    for (const auto& f : next) {
        if (!up || std::find(m.subscriptions.begin(), m.subscriptions.end(), f) != m.subscriptions.end()) continue;
        if (m.client->subscribe(f.first, f.second) < 0)
            log::warning(m.tag, ": cannot subscribe to ", f.first);
    }
    // A filter subscribed again is not stale any more.
    std::erase_if(m.stale, [&](const std::string& s) {
        return std::find_if(next.begin(), next.end(), [&](const auto& n) { return n.first == s; }) != next.end();
    });
    m.subscriptions = std::move(next);
}

void Session::start() {
    auto& m = *impl_;
    if (m.started) return;
    m.started = true;
    if (m.paused) return;
    if (m.follows_modem && !m.link_up)
        m.set_state(SessionState::waiting_link, "waiting for the modem data link");
    else
        m.connect_now(m.follows_modem ? "modem data link up" : "started");
}

void Session::link_changed(bool up) {
    auto& m = *impl_;
    // Without a modem section the host network is the uplink; there is no link to follow.
    if (!m.follows_modem || up == m.link_up) return;
    m.link_up = up;
    if (!m.started || m.paused) return;
    if (!up) {
        m.retry_timer->cancel();
        m.drop("modem data link lost");
        m.status.next_retry_in_s = 0;
        m.set_state(SessionState::waiting_link, "modem data link lost");
        return;
    }
    if (m.status.state != SessionState::waiting_link) return;
    if (m.refused_until && *m.refused_until > m.sched.now()) {
        const auto left = std::chrono::ceil<milliseconds>(*m.refused_until - m.sched.now());
        m.schedule_retry(left, SessionState::auth_failed, "modem data link up, but the platform refused the login");
        return;
    }
    // Straight back: the outage was the link's, not the platform's (the spacing floor still holds).
    m.connect_now("modem data link up");
}

void Session::reconnect(const std::string& why) {
    auto& m = *impl_;
    if (!m.started) return;
    if (m.paused) {
        log::info(m.tag, ": ", why, ": ignored, paused");
        return;
    }
    if (m.follows_modem && !m.link_up) {
        log::info(m.tag, ": ", why, ": ignored, no modem data link");
        return;
    }
    m.retry_timer->cancel();
    m.drop(why);
    m.connect_now(why);
}

void Session::pause(const std::string& why) {
    auto& m = *impl_;
    if (m.paused) return;
    m.paused = true;
    m.retry_timer->cancel();
    m.drop(why);
    m.status.next_retry_in_s = 0;
    m.set_state(SessionState::idle, "paused: " + why);
}

void Session::resume(const std::string& why) {
    auto& m = *impl_;
    if (!m.paused) return;
    m.paused = false;
    if (!m.started) return;
    if (m.follows_modem && !m.link_up)
        m.set_state(SessionState::waiting_link, why + "; waiting for the modem data link");
    else
        m.connect_now(why);
}

bool Session::paused() const { return impl_->paused; }

int Session::publish(const std::string& topic, const std::string& payload, int qos) {
    auto& m = *impl_;
    if (m.status.state != SessionState::connected) return -1;
    if (qos < 0 || qos > m.platform.max_qos()) {
        log::debug(m.tag, ": QoS ", qos, " not accepted by ", m.platform.name());
        return -1;
    }
    const int mid = m.client->publish(topic, payload, qos, false);
    if (mid >= 0) {
        ++m.status.published;
        m.notify_soon();
    }
    return mid;
}

const SessionStatus& Session::status() const { return impl_->status; }
const CloudConfig& Session::config() const { return impl_->config; }

}  // namespace cellgate::cloud
