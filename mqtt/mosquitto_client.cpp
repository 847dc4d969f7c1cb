#include "mqtt/mosquitto_client.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <deque>
#include <exception>

#include "base/duration_text.hpp"
#include "base/lifetime.hpp"
#include "base/log.hpp"
#include "mqtt/mosquitto_connect.hpp"

namespace cellgate::mqtt {

using std::chrono::milliseconds;
using namespace detail;

namespace {

// One connection attempt and its life: idle -> resolving (the connect worker) -> handshake (our
// socket, CONNECT/TLS until CONNACK) -> connected; any failure or disconnect() goes back to idle.
enum class Phase { idle, resolving, handshake, connected };

const char* to_string(Phase p) {
    switch (p) {
    case Phase::idle: return "idle";
    case Phase::resolving: return "resolving";
    case Phase::handshake: return "handshake";
    case Phase::connected: return "connected";
    }
    return "unknown";
}

// What libmosquitto reported from inside one of its calls; handled once the call has returned.
struct Event {
    enum class Kind { connack, closed, published, message, ping_sent, ping_answered };
    Kind kind;
    int rc = 0;   // CONNACK code, MOSQ_ERR_* or message id
    int err = 0;  // errno when libmosquitto gave up on the socket
    std::string topic;
    std::string payload;
};

// libmosquitto keeps time in whole seconds of CLOCK_MONOTONIC; ticking just after each boundary
// makes every PINGREQ go out exactly `keepalive` after the previous one.
milliseconds until_next_second() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return milliseconds(1000 - ts.tv_nsec / 1'000'000 + 20);
}

// Reading from a socket the peer hung up should end in EOF within a few calls; if libmosquitto
// keeps swallowing the hang-up (mid TLS handshake) we stop and close ourselves.
constexpr int kMaxReadsOnHangup = 64;

}  // namespace

struct MosquittoClient::Impl {
    Impl(MosquittoClient& o, Scheduler& s, std::string p, MosquittoTuning t);
    ~Impl() { teardown("client destroyed"); }

    void set_phase(Phase next, std::string_view reason);
    void connect(const ConnectParams& p);
    void disconnect();
    int publish(const std::string& topic, const std::string& payload, int qos, bool retain);
    int subscribe(const std::string& topic, int qos);
    int unsubscribe(const std::string& topic);

    milliseconds connect_budget() const;
    void fail_soon(int code, std::string reason);
    void on_job_done();
    void start_driving(int fd);
    void on_socket(uint32_t revents);
    void on_misc();
    void on_connect_deadline();
    void on_pingresp_deadline();
    void settle(int rc);
    void update_interest();
    void schedule_pump();
    void pump();
    void handle(Event& ev);
    // Ends the attempt (whatever phase it is in) and drops everything it queued.
    void teardown(std::string_view reason);
    void notify_failed(int code, const std::string& reason);
    void notify_disconnected(const std::string& reason);

    static void cb_connect(mosquitto*, void* self, int rc) noexcept;
    static void cb_disconnect(mosquitto*, void* self, int rc) noexcept;
    static void cb_publish(mosquitto*, void* self, int mid) noexcept;
    static void cb_message(mosquitto*, void* self, const mosquitto_message* msg) noexcept;
    static void cb_log(mosquitto*, void* self, int level, const char* line) noexcept;
    void push(Event ev) noexcept;

    MosquittoClient& owner;
    Scheduler& sched;
    const std::string prefix;
    const MosquittoTuning tuning;

    Phase phase = Phase::idle;
    ConnectParams params;
    MosqPtr mosq;                        // the loop's: during handshake and connected
    std::shared_ptr<ConnectJob> job;     // during resolving
    std::unique_ptr<IoWatch> job_watch;
    std::unique_ptr<IoWatch> sock_watch;
    uint32_t sock_events = 0;
    std::unique_ptr<Timer> misc_timer, connect_timer, pingresp_timer;
    std::deque<Event> events;
    int sock_err = 0;            // SO_ERROR seen with EPOLLERR, preferred over errno guesses
    std::string lib_error;       // libmosquitto's last error-level log line of this attempt
    // Bumped by teardown: work deferred for one attempt (a failure report, the rest of a pump) is
    // dropped once a newer attempt exists; `life` only says whether the client itself is gone.
    uint64_t generation = 0;
    bool pump_scheduled = false;
    bool closed_queued = false;  // a `closed` event of this attempt was recorded
    bool out_muted = false;      // handshake: EPOLLOUT off until the server speaks (see on_socket)
    Lifetime life;
};

MosquittoClient::Impl::Impl(MosquittoClient& o, Scheduler& s, std::string p, MosquittoTuning t)
    : owner(o), sched(s), prefix(std::move(p)), tuning(std::move(t)) {
    ensure_lib_init();
    misc_timer = sched.make_timer([this] { on_misc(); });
    connect_timer = sched.make_timer([this] { on_connect_deadline(); });
    pingresp_timer = sched.make_timer([this] { on_pingresp_deadline(); });
}

milliseconds MosquittoClient::Impl::connect_budget() const {
    auto budget = tuning.connect_timeout;
    if (params.keepalive.count() > 0) budget = std::min<milliseconds>(budget, params.keepalive);
    return budget;
}

void MosquittoClient::Impl::set_phase(Phase next, std::string_view reason) {
    if (next == phase) return;
    log::debug("mqtt ", prefix, ": ", to_string(phase), " -> ", to_string(next), " (", reason, ")");
    phase = next;
}

void MosquittoClient::Impl::connect(const ConnectParams& p) {
    teardown("a new connect");
    params = p;
    set_phase(Phase::resolving, "connect to " + p.host + ":" + std::to_string(p.port) + (p.tls ? " (TLS)" : "") +
                                    ", keepalive " + std::to_string(p.keepalive.count()) + " s");
    connect_timer->arm(connect_budget());

    if (p.keepalive.count() > 0 && p.keepalive.count() < 5)
        return fail_soon(-EINVAL, "keepalive must be 0 or at least 5 s (libmosquitto)");
    std::string error;
    MosqPtr m = make_handle(p, error);
    if (!m) return fail_soon(-EINVAL, error);
    try {
        job = start_connect_job(std::move(m), p, tuning.before_resolve);
        job_watch = sched.watch_fd(job->done_fd.get(), EPOLLIN, [this](uint32_t) { on_job_done(); });
    } catch (const std::exception& e) {
        return fail_soon(-EAGAIN, std::string("cannot start the connect worker: ") + e.what());
    }
}

// Failures found inside connect() are reported from the loop, never re-entrantly.
void MosquittoClient::Impl::fail_soon(int code, std::string reason) {
    teardown(reason);
    sched.defer([this, alive = life.token(), gen = generation, code, reason = std::move(reason)] {
        if (alive.expired() || gen != generation) return;
        notify_failed(code, reason);
    });
}

void MosquittoClient::Impl::on_job_done() {
    eventfd_t ignored = 0;
    if (!job) return;
    (void)eventfd_read(job->done_fd.get(), &ignored);
    if (!job->finished.load(std::memory_order_acquire)) return;
    job_watch.reset();
    const auto finished = std::move(job);
    mosq = std::move(finished->mosq);
    const int rc = finished->rc;
    const int err = finished->err;
    if (rc != MOSQ_ERR_SUCCESS) {
        const auto f = connect_failure(rc, err, params.host, params.port, finished->lib_error);
        teardown(f.reason);
        return notify_failed(f.code, f.reason);
    }
    const int fd = mosquitto_socket(mosq.get());
    if (fd < 0) {
        const char* why = "libmosquitto reported a connect without a socket";
        teardown(why);
        return notify_failed(-EIO, why);
    }
    start_driving(fd);
}

void MosquittoClient::Impl::start_driving(int fd) {
    mosquitto_user_data_set(mosq.get(), this);
    mosquitto_connect_callback_set(mosq.get(), &Impl::cb_connect);
    mosquitto_disconnect_callback_set(mosq.get(), &Impl::cb_disconnect);
    mosquitto_publish_callback_set(mosq.get(), &Impl::cb_publish);
    mosquitto_message_callback_set(mosq.get(), &Impl::cb_message);
    mosquitto_log_callback_set(mosq.get(), &Impl::cb_log);
    // Set while the SYN may still be out: TCP_USER_TIMEOUT then also bounds the handshake.
    if (const int err = tune_socket(fd, tuning.tcp_user_timeout, params.keepalive); err != 0)
        log::debug(prefix, ": TCP tuning refused: ", std::strerror(err));
    set_phase(Phase::handshake, "socket open, waiting for CONNACK");
    sock_events = EPOLLIN | (mosquitto_want_write(mosq.get()) ? EPOLLOUT : 0U);
    sock_watch = sched.watch_fd(fd, sock_events, [this](uint32_t revents) { on_socket(revents); });
    misc_timer->arm(until_next_second());
}

void MosquittoClient::Impl::on_socket(uint32_t revents) {
    if (!mosq || (phase != Phase::handshake && phase != Phase::connected)) return;
    const int fd = mosquitto_socket(mosq.get());
    if (fd < 0) return;
    if (revents & EPOLLERR)
        if (const int err = take_socket_error(fd); err != 0) sock_err = err;
    const bool hangup = revents & (EPOLLERR | EPOLLHUP);
    if (revents & EPOLLIN) out_muted = false;
    // During the handshake the TLS layer advances only inside loop_read, whichever way the socket
    // became ready.
    if ((revents & EPOLLIN) || hangup || phase == Phase::handshake) {
        errno = 0;
        settle(mosquitto_loop_read(mosq.get(), 1));
    }
    if ((revents & EPOLLOUT) && mosquitto_socket(mosq.get()) >= 0) {
        errno = 0;
        settle(mosquitto_loop_write(mosq.get(), 1));
    }
    for (int i = 0; hangup && i < kMaxReadsOnHangup && mosquitto_socket(mosq.get()) >= 0; ++i) {
        errno = 0;
        settle(mosquitto_loop_read(mosq.get(), 1));
    }
    if (hangup && !closed_queued && mosquitto_socket(mosq.get()) >= 0)
        push(Event{Event::Kind::closed, MOSQ_ERR_CONN_LOST, sock_err, {}, {}});
    // libmosquitto 2.0.11 leaves want_write set while a TLS handshake waits for the server (an
    // SSL_ERROR_WANT_WRITE from before the TCP connect completed is never cleared), which would
    // spin on EPOLLOUT for a whole round trip. In the handshake the client only writes in answer to
    // the server, so after one writable turn we wait for input (or the next misc tick).
    if (phase == Phase::handshake && (revents & EPOLLOUT) && !(revents & EPOLLIN)) out_muted = true;
    pump();
}

void MosquittoClient::Impl::on_misc() {
    if (!mosq || (phase != Phase::handshake && phase != Phase::connected)) return;
    misc_timer->arm(until_next_second());
    out_muted = false;
    errno = 0;
    // Sends the PINGREQ when one is due; closes with MOSQ_ERR_KEEPALIVE when the previous one is
    // still unanswered a keepalive later (our own deadline usually fires first).
    settle(mosquitto_loop_misc(mosq.get()));
    pump();
}

void MosquittoClient::Impl::on_connect_deadline() {
    if (phase != Phase::resolving && phase != Phase::handshake) return;
    const std::string what = phase == Phase::resolving ? "name resolution and TCP connect to " : "no CONNACK from ";
    const std::string reason =
        what + params.host + ":" + std::to_string(params.port) + " within " + duration_text(connect_budget());
    teardown(reason);
    notify_failed(-ETIMEDOUT, reason);
}

void MosquittoClient::Impl::on_pingresp_deadline() {
    if (phase != Phase::connected) return;
    const std::string reason = "keepalive timeout (no PINGRESP within " + duration_text(tuning.pingresp_timeout) + ")";
    teardown(reason);
    notify_disconnected(reason);
}

// libmosquitto 2.0.11 closes the socket without calling on_disconnect on some paths (a TLS
// handshake that fails inside loop_read); make sure such an end is reported once.
void MosquittoClient::Impl::settle(int rc) {
    if (rc == MOSQ_ERR_SUCCESS || closed_queued || !mosq || mosquitto_socket(mosq.get()) >= 0) return;
    push(Event{Event::Kind::closed, rc, errno, {}, {}});
}

void MosquittoClient::Impl::update_interest() {
    if (!sock_watch || !mosq) return;
    const bool out = !out_muted && mosquitto_want_write(mosq.get());
    const uint32_t want = EPOLLIN | (out ? EPOLLOUT : 0U);
    if (want == sock_events) return;
    sock_events = want;
    sock_watch->set_events(want);
}

void MosquittoClient::Impl::schedule_pump() {
    update_interest();
    if (events.empty() || pump_scheduled) return;
    pump_scheduled = true;
    sched.defer([this, alive = life.token()] {
        if (alive.expired()) return;
        pump_scheduled = false;
        pump();
    });
}

void MosquittoClient::Impl::pump() {
    update_interest();
    const auto alive = life.token();
    const auto gen = generation;
    while (!events.empty() && gen == generation) {
        Event ev = std::move(events.front());
        events.pop_front();
        handle(ev);  // may run user code, which may destroy us
        if (alive.expired()) return;
    }
    update_interest();
}

void MosquittoClient::Impl::handle(Event& ev) {
    using K = Event::Kind;
    switch (ev.kind) {
    case K::connack:
        if (phase != Phase::handshake) return;
        if (ev.rc != 0) {
            const std::string reason = "CONNACK refused (" + std::to_string(ev.rc) + "): " +
                                       mosquitto_connack_string(ev.rc);
            teardown(reason);
            return notify_failed(ev.rc, reason);
        }
        set_phase(Phase::connected, "CONNACK accepted");
        out_muted = false;
        connect_timer->cancel();
        if (owner.on_connected) owner.on_connected();
        return;
    case K::closed: {
        const int err = sock_err != 0 ? sock_err : ev.err;
        if (phase == Phase::handshake) {
            const auto f = connect_failure(ev.rc, err, params.host, params.port, lib_error);
            teardown(f.reason);
            return notify_failed(f.code, f.reason);
        }
        if (phase == Phase::connected) {
            const auto reason = link_loss_reason(ev.rc, err, tuning.tcp_user_timeout, lib_error);
            teardown(reason);
            return notify_disconnected(reason);
        }
        return;
    }
    case K::published:
        if (phase == Phase::connected && owner.on_published) owner.on_published(ev.rc);
        return;
    case K::message:
        if (phase == Phase::connected && owner.on_message) owner.on_message(ev.topic, ev.payload);
        return;
    case K::ping_sent:
        if (phase != Phase::connected) return;
        if (!pingresp_timer->armed()) pingresp_timer->arm(tuning.pingresp_timeout);
        if (owner.on_ping_sent) owner.on_ping_sent();
        return;
    case K::ping_answered:
        pingresp_timer->cancel();
        return;
    }
}

void MosquittoClient::Impl::teardown(std::string_view reason) {
    ++generation;
    set_phase(Phase::idle, reason);
    events.clear();
    // The watch goes before libmosquitto closes the fd it watches.
    sock_watch.reset();
    sock_events = 0;
    if (job) {
        job->abandoned.store(true, std::memory_order_release);
        job_watch.reset();
        job.reset();  // a worker still in getaddrinfo frees the handle when it returns
    }
    misc_timer->cancel();
    connect_timer->cancel();
    pingresp_timer->cancel();
    sock_err = 0;
    closed_queued = false;
    out_muted = false;
    lib_error.clear();
    mosq.reset();
}

void MosquittoClient::Impl::notify_failed(int code, const std::string& reason) {
    log::debug(prefix, ": connect failed: ", reason);
    if (owner.on_connect_failed) owner.on_connect_failed(code, reason);
}

void MosquittoClient::Impl::notify_disconnected(const std::string& reason) {
    log::debug(prefix, ": connection lost: ", reason);
    if (owner.on_disconnected) owner.on_disconnected(reason);
}

void MosquittoClient::Impl::disconnect() {
    if (phase == Phase::connected && mosq) {
        sock_watch.reset();
        // Queues DISCONNECT and writes it at once when the socket takes it; best effort.
        (void)mosquitto_disconnect(mosq.get());
    }
    teardown("disconnect requested");
}

int MosquittoClient::Impl::publish(const std::string& topic, const std::string& payload, int qos, bool retain) {
    if (phase != Phase::connected || !mosq || payload.size() > static_cast<size_t>(INT_MAX)) return -1;
    int mid = -1;
    errno = 0;
    const int rc = mosquitto_publish(mosq.get(), &mid, topic.c_str(), static_cast<int>(payload.size()),
                                     payload.data(), qos, retain);
    schedule_pump();  // a QoS 0 message may already be out: on_published follows after we return
    if (rc != MOSQ_ERR_SUCCESS) {
        log::debug(prefix, ": publish to '", topic, "' refused: ", mosquitto_strerror(rc));
        return -1;
    }
    return mid;
}

int MosquittoClient::Impl::subscribe(const std::string& topic, int qos) {
    if (phase != Phase::connected || !mosq) return -1;
    int mid = -1;
    errno = 0;
    const int rc = mosquitto_subscribe(mosq.get(), &mid, topic.c_str(), qos);
    schedule_pump();
    if (rc != MOSQ_ERR_SUCCESS) {
        log::debug(prefix, ": subscribe to '", topic, "' refused: ", mosquitto_strerror(rc));
        return -1;
    }
    return mid;
}

int MosquittoClient::Impl::unsubscribe(const std::string& topic) {
    if (phase != Phase::connected || !mosq) return -1;
    int mid = -1;
    const int rc = mosquitto_unsubscribe(mosq.get(), &mid, topic.c_str());
    schedule_pump();
    if (rc != MOSQ_ERR_SUCCESS) {
        log::debug(prefix, ": unsubscribe from '", topic, "' refused: ", mosquitto_strerror(rc));
        return -1;
    }
    return mid;
}

// --- libmosquitto callbacks: record only, nothing may throw back into C ---

void MosquittoClient::Impl::push(Event ev) noexcept {
    try {
        if (ev.kind == Event::Kind::closed) closed_queued = true;
        events.push_back(std::move(ev));
    } catch (...) {
        // Out of memory: dropping one notification beats unwinding through libmosquitto.
    }
}

void MosquittoClient::Impl::cb_connect(mosquitto*, void* self, int rc) noexcept {
    static_cast<Impl*>(self)->push(Event{Event::Kind::connack, rc, 0, {}, {}});
}

void MosquittoClient::Impl::cb_disconnect(mosquitto*, void* self, int rc) noexcept {
    const int err = errno;  // libmosquitto closed the socket after the failing call; close keeps errno
    static_cast<Impl*>(self)->push(Event{Event::Kind::closed, rc, err, {}, {}});
}

void MosquittoClient::Impl::cb_publish(mosquitto*, void* self, int mid) noexcept {
    static_cast<Impl*>(self)->push(Event{Event::Kind::published, mid, 0, {}, {}});
}

void MosquittoClient::Impl::cb_message(mosquitto*, void* self, const mosquitto_message* msg) noexcept {
    try {
        Event ev{Event::Kind::message, msg->mid, 0, msg->topic ? msg->topic : "", {}};
        if (msg->payload && msg->payloadlen > 0)
            ev.payload.assign(static_cast<const char*>(msg->payload), static_cast<size_t>(msg->payloadlen));
        static_cast<Impl*>(self)->push(std::move(ev));
    } catch (...) {
    }
}

void MosquittoClient::Impl::cb_log(mosquitto*, void* self, int level, const char* line) noexcept {
    try {
        auto* impl = static_cast<Impl*>(self);
        const std::string_view text = line ? line : "";
        // libmosquitto 2.0 logs "Client <id> sending PINGREQ" / "... received PINGRESP" at debug.
        if (text.ends_with(" sending PINGREQ"))
            impl->push(Event{Event::Kind::ping_sent, 0, 0, {}, {}});
        else if (text.ends_with(" received PINGRESP"))
            impl->push(Event{Event::Kind::ping_answered, 0, 0, {}, {}});
        if (level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING)) impl->lib_error = std::string(text);
        log::debug(impl->prefix, ": libmosquitto: ", text);
    } catch (...) {
    }
}

// --- public face ---

MosquittoClient::MosquittoClient(Scheduler& sched, std::string log_prefix, MosquittoTuning tuning)
    : impl_(std::make_unique<Impl>(*this, sched, std::move(log_prefix), std::move(tuning))) {}

MosquittoClient::~MosquittoClient() = default;

void MosquittoClient::connect(const ConnectParams& params) { impl_->connect(params); }
void MosquittoClient::disconnect() { impl_->disconnect(); }

int MosquittoClient::publish(const std::string& topic, const std::string& payload, int qos, bool retain) {
    return impl_->publish(topic, payload, qos, retain);
}

int MosquittoClient::subscribe(const std::string& topic, int qos) { return impl_->subscribe(topic, qos); }
int MosquittoClient::unsubscribe(const std::string& topic) { return impl_->unsubscribe(topic); }

std::unique_ptr<MqttClient> make_mosquitto_client(Scheduler& sched, std::string log_prefix) {
    return std::make_unique<MosquittoClient>(sched, std::move(log_prefix));
}

std::unique_ptr<MqttClient> make_mosquitto_client(Scheduler& sched, std::string log_prefix, MosquittoTuning tuning) {
    return std::make_unique<MosquittoClient>(sched, std::move(log_prefix), std::move(tuning));
}

}  // namespace cellgate::mqtt
