#include "mqtt/module/module_client.hpp"

#include <cerrno>
#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <utility>

#include "base/duration_text.hpp"
#include "base/lifetime.hpp"
#include "base/log.hpp"
#include "mqtt/module/dialect.hpp"

namespace cellgate::mqtt {

using std::chrono::milliseconds;
using namespace std::chrono_literals;

namespace {

// idle: the module holds no session of ours (or one being closed); connecting: the connect steps
// run; connected: CONNACK came, publishes and subscriptions go through.
enum class Phase { idle, connecting, connected };

const char* to_string(Phase p) {
    switch (p) {
        case Phase::idle: return "idle";
        case Phase::connecting: return "connecting";
        case Phase::connected: return "connected";
    }
    return "unknown";
}

// Only the command's name goes to logs: MCONFIG, QMTCONN and CMQTTCONNECT carry the password.
std::string command_name(std::string_view cmd) {
    return std::string(cmd.substr(0, std::min<std::size_t>(cmd.find_first_of("=?"), 24)));
}

std::string describe(const AtReply& r) {
    switch (r.status) {
        case AtReply::Status::ok: return "OK";
        case AtReply::Status::error: return r.error.empty() ? "ERROR" : r.error;
        case AtReply::Status::timeout: return "no answer";
        case AtReply::Status::closed: return "port closed";
    }
    return "?";
}

std::optional<std::string> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream out;
    out << in.rdbuf();
    if (in.bad()) return std::nullopt;
    return std::move(out).str();
}

// Without a keepalive the module never notices a dead link by itself; poll anyway.
constexpr milliseconds kPollWithoutKeepalive = 60s;

}  // namespace

struct ModuleClient::Impl {
    struct Op {
        // tidy and close never fail; close is the module-side teardown of a connection.
        // upload: a certificate or key written to the module's files before a TLS connect.
        enum class Kind { tidy, close, upload, connect, subscribe, unsubscribe, publish, status };
        Kind kind = Kind::tidy;
        ModuleSteps steps;
        std::size_t next = 0;
        int mid = -1;
        uint64_t generation = 0;  // the connection it belongs to; tidying runs whatever
        bool cancelled = false;
        std::string file;  // upload: the module's file name and the hash of what it now holds
        std::size_t hash = 0;
    };
    enum class StepState { none, command, urc };

    Impl(ModuleClient& o, Scheduler& s, std::unique_ptr<ModuleAt> a, ModuleOptions opt)
        : owner(o), sched(s), at(std::move(a)), options(std::move(opt)) {
        urc_timer = sched.make_timer([this] { on_urc_timeout(); });
        poll_timer = sched.make_timer([this] { on_poll(); });
        status_timer = sched.make_timer([this] { lose("no answer to the status query within " +
                                                      duration_text(options.status_deadline)); });
        at->on_urc = [this](const std::string& line) { on_urc(line); };
        at->on_reset = [this](const std::string& why) { on_reset(why); };
    }

    ~Impl() {
        at->on_urc = nullptr;
        at->on_reset = nullptr;
    }

    void set_phase(Phase next, std::string_view reason) {
        if (next == phase) return;
        log::debug("mqtt ", options.log_prefix, ": module client ", options.client_index, ": ", to_string(phase),
                   " -> ", to_string(next), " (", reason, ")");
        phase = next;
    }

    // --- API ---

    void connect(const ConnectParams& p) {
        if (phase != Phase::idle) end_connection("a new connect");
        dialect = make_dialect(at->vendor());
        if (!dialect) {
            const auto v = at->vendor();
            return fail_soon(-EPROTONOSUPPORT, v.empty() ? "the module is not identified yet"
                                                         : "the module (" + v + ") has no MQTT command set");
        }
        const auto limits = dialect->limits();
        if (options.client_index >= limits.max_clients)
            return fail_soon(-EINVAL, std::string("the ") + dialect->name() + " module has " +
                                          std::to_string(limits.max_clients) + " MQTT client(s); this is number " +
                                          std::to_string(options.client_index + 1));
        const auto ka = p.keepalive.count();
        if (ka < limits.keepalive_min || ka > limits.keepalive_max)
            return fail_soon(-EINVAL, "keepalive " + std::to_string(ka) + " s is outside the module's " +
                                          std::to_string(limits.keepalive_min) + ".." +
                                          std::to_string(limits.keepalive_max) + " s");
        auto steps = dialect->connect(options.client_index, p);
        if (!steps) return fail_soon(-EINVAL, steps.error());
        std::vector<Op> uploads;
        if (p.tls) {
            if (!limits.tls) return fail_soon(-EPROTONOSUPPORT, std::string("the ") + dialect->name() +
                                                                      " module has no TLS for its MQTT client");
            auto tls = tls_steps(p, uploads);
            if (!tls) return fail_soon(-EINVAL, tls.error());
            steps->insert(steps->begin(), std::make_move_iterator(tls->begin()), std::make_move_iterator(tls->end()));
        }

        params = p;
        ++generation;
        set_phase(Phase::connecting, "connect to " + p.host + ":" + std::to_string(p.port) + " through the " +
                                         dialect->name() + " module, keepalive " + std::to_string(ka) + " s");
        if (options.route_urcs && !urcs_routed) {
            urcs_routed = true;
            push(Op::Kind::tidy, dialect->route_urcs(), 0);
        }
        // Whatever the module still holds for this index (a daemon killed mid-session) goes first.
        if (ops.empty() || ops.back().kind != Op::Kind::close || ops.back().cancelled)
            push(Op::Kind::close, dialect->close(options.client_index), 0);
        for (auto& up : uploads) {
            // Whatever the file held before, a half-written one must be written again next time.
            uploaded.erase(up.file);
            up.generation = generation;
            ops.push_back(std::move(up));
        }
        push(Op::Kind::connect, std::move(*steps), generation);
        run();
    }

    // The SSL context's steps, after queuing in `uploads` the files whose content the module does
    // not hold yet. The module has no CA store of its own, so checking the server needs a CA file.
    Built tls_steps(const ConnectParams& p, std::vector<Op>& uploads) {
        ModuleTls tls;
        tls.verify = p.verify_server;
        tls.ca = !p.ca_file.empty();
        tls.client_cert = !p.cert_file.empty() && !p.key_file.empty();
        if (tls.verify && !tls.ca)
            return std::unexpected("checking the broker's certificate through the module needs a CA file "
                                   "(tls.ca_file): the module has no CA store");
        const auto idx = options.client_index;
        const auto add = [&](TlsFile role, const std::string& path) -> std::optional<std::string> {
            auto content = read_file(path);
            if (!content) return "cannot read " + path;
            const auto name = tls_file_name(role, idx);
            const auto hash = std::hash<std::string>{}(*content);
            if (auto it = uploaded.find(name); it != uploaded.end() && it->second == hash) return std::nullopt;
            auto steps = dialect->upload(name, *content);
            if (!steps) return path + ": " + steps.error();
            Op op = make_op(Op::Kind::upload, std::move(*steps), 0);
            op.file = name;
            op.hash = hash;
            uploads.push_back(std::move(op));
            return std::nullopt;
        };
        std::optional<std::string> why;
        if (tls.ca) why = add(TlsFile::ca, p.ca_file);
        if (!why && tls.client_cert) why = add(TlsFile::cert, p.cert_file);
        if (!why && tls.client_cert) why = add(TlsFile::key, p.key_file);
        if (why) return std::unexpected(*why);
        return dialect->ssl_context(idx, tls);
    }

    void disconnect() {
        if (phase == Phase::idle) return;
        end_connection("disconnect requested");
        run();
    }

    int publish(const std::string& topic, const std::string& payload, int qos, bool retain) {
        if (phase != Phase::connected) return -1;
        const int mid = take_mid();
        auto steps = dialect->publish(options.client_index, mid, topic, payload, qos, retain);
        if (!steps) {
            log::debug("mqtt ", options.log_prefix, ": publish to '", topic, "' refused: ", steps.error());
            return -1;
        }
        push(Op::Kind::publish, std::move(*steps), generation, mid);
        run();
        return mid;
    }

    int subscribe(const std::string& topic, int qos) {
        if (phase != Phase::connected) return -1;
        const int mid = take_mid();
        auto steps = dialect->subscribe(options.client_index, mid, topic, qos);
        if (!steps) {
            log::debug("mqtt ", options.log_prefix, ": subscribe to '", topic, "' refused: ", steps.error());
            return -1;
        }
        push(Op::Kind::subscribe, std::move(*steps), generation, mid);
        run();
        return mid;
    }

    int unsubscribe(const std::string& topic) {
        if (phase != Phase::connected) return -1;
        const int mid = take_mid();
        auto steps = dialect->unsubscribe(options.client_index, mid, topic);
        if (!steps) return -1;
        push(Op::Kind::unsubscribe, std::move(*steps), generation, mid);
        run();
        return mid;
    }

    // --- the queue ---

    int take_mid() {
        next_mid = next_mid % 65535 + 1;
        return next_mid;
    }

    static Op make_op(Op::Kind kind, ModuleSteps steps, uint64_t gen, int mid = -1) {
        Op op;
        op.kind = kind;
        op.steps = std::move(steps);
        op.mid = mid;
        op.generation = gen;
        return op;
    }

    void push(Op::Kind kind, ModuleSteps steps, uint64_t gen, int mid = -1) {
        if (steps.empty()) return;
        ops.push_back(make_op(kind, std::move(steps), gen, mid));
    }

    void run() {
        while (step_state == StepState::none && !ops.empty()) {
            Op& op = ops.front();
            if (op.cancelled || op.next >= op.steps.size()) {
                ops.pop_front();
                continue;
            }
            start_step(op);
        }
    }

    void start_step(Op& op) {
        const ModuleStep& step = op.steps[op.next];
        step_state = StepState::command;
        early.reset();
        const auto serial = ++step_serial;
        auto done = [this, alive = life.token(), serial](const AtReply& r) {
            if (!alive || serial != step_serial) return;
            on_reply(r);
        };
        if (step.data)
            at->send_data(step.command, *step.data, step.timeout, std::move(done));
        else
            at->send(step.command, step.timeout, std::move(done));
    }

    // The step at the front is done (or abandoned): on to the next one, or the op is complete.
    void advance() {
        urc_timer->cancel();
        step_state = StepState::none;
        early.reset();
        Op& op = ops.front();
        ++op.next;
        if (op.next < op.steps.size() || op.cancelled) return run();
        const Op finished = std::move(op);
        ops.pop_front();
        const auto alive = life.token();
        complete(finished);
        if (alive) run();
    }

    void complete(const Op& op) {
        // The file is on the module whichever connection asked for it.
        if (op.kind == Op::Kind::upload) uploaded[op.file] = op.hash;
        if (op.generation != generation) return;
        switch (op.kind) {
            case Op::Kind::connect:
                set_phase(Phase::connected, "CONNACK accepted");
                poll_timer->arm(poll_interval());
                if (owner.on_connected) owner.on_connected();
                return;
            case Op::Kind::publish:
                if (phase == Phase::connected && owner.on_published) owner.on_published(op.mid);
                return;
            case Op::Kind::tidy:
            case Op::Kind::close:
            case Op::Kind::upload:
            case Op::Kind::subscribe:
            case Op::Kind::unsubscribe:
            case Op::Kind::status:
                return;
        }
    }

    // --- outcomes ---

    void on_reply(const AtReply& r) {
        if (ops.empty()) return;
        Op& op = ops.front();
        const ModuleStep& step = op.steps[op.next];
        if (op.cancelled) return advance();
        if (op.kind == Op::Kind::status) return status_answered(r);
        if (!r.ok()) {
            if (step.best_effort) return advance();
            return fail(op, command_name(step.command) + " answered " + describe(r), 0);
        }
        if (step.await == ModuleUrc::none) return advance();
        if (early) return outcome(*std::exchange(early, std::nullopt));
        step_state = StepState::urc;
        urc_timer->arm(step.urc_timeout);
    }

    void outcome(const ModuleEvent& e) {
        Op& op = ops.front();
        const ModuleStep& step = op.steps[op.next];
        if ((e.result == 0 && e.connack == 0) || step.best_effort) return advance();
        std::string why = e.text;
        if (e.connack > 0) why = "CONNACK refused (" + std::to_string(e.connack) + "), reported as " + e.text;
        fail(op, why, e.connack);
    }

    void on_urc_timeout() {
        if (step_state != StepState::urc || ops.empty()) return;
        Op& op = ops.front();
        const ModuleStep& step = op.steps[op.next];
        if (step.best_effort || op.cancelled) return advance();
        fail(op, std::string("no ") + to_string(step.await) + " report within " + duration_text(step.urc_timeout) +
                     " after " + command_name(step.command),
             0);
    }

    void status_answered(const AtReply& r) {
        status_timer->cancel();
        const bool current = ops.front().generation == generation && phase == Phase::connected;
        const std::string name = command_name(ops.front().steps.front().command);
        advance();
        if (!current) return;
        if (!r.ok()) return lose("the status query " + name + " answered " + describe(r));
        const auto up = dialect->parse_status(r.lines, options.client_index);
        if (!up) {
            log::debug("mqtt ", options.log_prefix, ": status reply not understood");
        } else if (!*up) {
            lose("the module reports the MQTT connection down (" + name + ")");
        }
    }

    // A failed step: a connect attempt ends, an established connection is lost; tidying never fails.
    void fail(Op& op, const std::string& why, int connack) {
        const auto kind = op.kind;
        const bool current = op.generation == generation && kind != Op::Kind::tidy && kind != Op::Kind::close;
        op.cancelled = true;
        const auto was = phase;
        // Ended before the queue moves on, so nothing more of this connection goes out.
        if (current && was != Phase::idle) end_connection(why);
        const auto alive = life.token();
        advance();
        if (!alive || !current) return;
        if (was == Phase::connecting && (kind == Op::Kind::connect || kind == Op::Kind::upload)) notify_failed(connack > 0 ? connack : -EIO, why);
        else if (was == Phase::connected) notify_lost(why);
    }

    void on_urc(const std::string& line) {
        if (!dialect) return;
        const ModuleEvent e = dialect->parse_urc(line);
        if (e.kind == ModuleUrc::none) return;
        if (e.client >= 0 && e.client != options.client_index) return;
        if (e.kind == ModuleUrc::message) {
            if (phase == Phase::connected && owner.on_message) owner.on_message(e.topic, e.payload);
            return;
        }
        if (e.kind == ModuleUrc::link_lost) return link_lost(e.text);
        if (step_state == StepState::none || ops.empty()) return;
        const ModuleStep& step = ops.front().steps[ops.front().next];
        if (step.await != e.kind || (step.await_id >= 0 && e.id >= 0 && e.id != step.await_id)) return;
        if (step_state == StepState::command) {
            early = e;  // the URC overtook the command's OK
            return;
        }
        urc_timer->cancel();
        outcome(e);
    }

    void link_lost(const std::string& why) {
        if (phase == Phase::connected) return lose(why);
        if (phase != Phase::connecting || !connect_reached_the_network()) return;
        end_connection(why);
        notify_failed(-ECONNRESET, why);
    }

    // A lost-link URC while connecting counts only once the connect has gone out to the network:
    // before that it is the echo of closing the previous session.
    bool connect_reached_the_network() const {
        if (ops.empty() || ops.front().kind != Op::Kind::connect || ops.front().generation != generation) return false;
        const auto& op = ops.front();
        for (std::size_t i = 0; i <= op.next && i < op.steps.size(); ++i)
            if (op.steps[i].await != ModuleUrc::none && !op.steps[i].best_effort) return true;
        return false;
    }

    void on_reset(const std::string& why) {
        urcs_routed = false;
        // A restart may come with a firmware update or a wiped file system: upload again.
        uploaded.clear();
        // The module forgot everything, tidying included; a command in flight is answered "closed".
        for (auto& op : ops) op.cancelled = true;
        ops.clear();
        step_state = StepState::none;
        ++step_serial;
        urc_timer->cancel();
        const auto was = phase;
        if (was == Phase::idle) return;
        ++generation;
        stop_timers();
        set_phase(Phase::idle, "module restarted: " + why);
        const std::string reason = "the module restarted (" + why + ")";
        if (was == Phase::connecting) notify_failed(-ECONNRESET, reason);
        else notify_lost(reason);
    }

    // --- liveness ---

    milliseconds poll_interval() const {
        return params.keepalive.count() > 0 ? milliseconds(params.keepalive) : kPollWithoutKeepalive;
    }

    void on_poll() {
        if (phase != Phase::connected) return;
        poll_timer->arm(poll_interval());
        for (const auto& op : ops)
            if (op.kind == Op::Kind::status && !op.cancelled) return;
        push(Op::Kind::status, {dialect->status_query(options.client_index)}, generation);
        status_timer->arm(options.status_deadline);
        run();
    }

    // --- ends ---

    void stop_timers() {
        poll_timer->cancel();
        status_timer->cancel();
    }

    // Our side ends the connection: its queued work is dropped and the module's client closed.
    void end_connection(const std::string& why) {
        ++generation;
        stop_timers();
        for (auto& op : ops)
            if (op.kind != Op::Kind::tidy && op.kind != Op::Kind::close) op.cancelled = true;
        set_phase(Phase::idle, why);
        if (dialect) push(Op::Kind::close, dialect->close(options.client_index), 0);
    }

    void lose(const std::string& why) {
        if (phase != Phase::connected) return;
        end_connection(why);
        notify_lost(why);
        run();
    }

    void fail_soon(int code, std::string why) {
        log::debug("mqtt ", options.log_prefix, ": connect failed: ", why);
        sched.defer([this, alive = life.token(), gen = generation, code, why = std::move(why)] {
            if (!alive || gen != generation) return;
            if (owner.on_connect_failed) owner.on_connect_failed(code, why);
        });
    }

    void notify_failed(int code, const std::string& why) {
        log::debug("mqtt ", options.log_prefix, ": connect failed: ", why);
        if (owner.on_connect_failed) owner.on_connect_failed(code, why);
    }

    void notify_lost(const std::string& why) {
        log::debug("mqtt ", options.log_prefix, ": connection lost: ", why);
        if (owner.on_disconnected) owner.on_disconnected(why);
    }

    ModuleClient& owner;
    Scheduler& sched;
    std::unique_ptr<ModuleAt> at;
    const ModuleOptions options;
    std::unique_ptr<Dialect> dialect;
    Phase phase = Phase::idle;
    ConnectParams params;
    uint64_t generation = 0;
    std::deque<Op> ops;
    StepState step_state = StepState::none;
    uint64_t step_serial = 0;
    std::optional<ModuleEvent> early;  // the awaited URC, come before the command's final result
    std::unique_ptr<Timer> urc_timer, poll_timer, status_timer;
    int next_mid = 0;
    bool urcs_routed = false;
    // The module's TLS files by name, and the hash of the content uploaded into each.
    std::map<std::string, std::size_t> uploaded;
    Lifetime life;
};

ModuleClient::ModuleClient(Scheduler& sched, std::unique_ptr<ModuleAt> at, ModuleOptions options)
    : impl_(std::make_unique<Impl>(*this, sched, std::move(at), std::move(options))) {}

ModuleClient::~ModuleClient() = default;

void ModuleClient::connect(const ConnectParams& params) { impl_->connect(params); }
void ModuleClient::disconnect() { impl_->disconnect(); }
int ModuleClient::publish(const std::string& topic, const std::string& payload, int qos, bool retain) {
    return impl_->publish(topic, payload, qos, retain);
}
int ModuleClient::subscribe(const std::string& topic, int qos) { return impl_->subscribe(topic, qos); }
int ModuleClient::unsubscribe(const std::string& topic) { return impl_->unsubscribe(topic); }

}  // namespace cellgate::mqtt
