#include "daemon/gateway.hpp"

#include <sys/stat.h>
#include <sysexits.h>
#include <systemd/sd-daemon.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <random>
#include <system_error>

#include "base/log.hpp"
#include "bridge/bridge.hpp"
#include "bridge/outbox.hpp"
#include "cloud/session.hpp"
#include "daemon/bus.hpp"
#include "daemon/bus_cloud.hpp"
#include "daemon/data_path.hpp"
#include "daemon/local_session.hpp"
#include "daemon/module_link.hpp"
#include "daemon/pinned_mqtt.hpp"
#include "daemon/reload.hpp"
#include "daemon/resolved_link.hpp"
#include "daemon/sd_loop.hpp"
#include "daemon/status_message.hpp"
#include "daemon/status_publisher.hpp"
#include "modem/modem.hpp"
#include "mqtt/module/module_client.hpp"
#include "mqtt/mosquitto_client.hpp"

namespace cellgate {

using cloud::SessionState;

Gateway::Gateway(const Config& config) : config_(config), loop_(std::make_unique<SdEventLoop>()) {
    // First: a gateway that cannot persist must fail before it claims the bus name.
    if (config.bridge.outbox_enabled) open_outbox(config);

    Bus::Handlers handlers;
    handlers.name_acquired = [this] {
        inputs_.name_acquired = true;
        update();
    };
    handlers.failed = [this](const std::string& reason) {
        log::error("bus: ", reason, "; exiting");
        loop_->exit(1);
    };
    module_link_ = std::make_unique<ModuleLink>(*loop_);
    if (config.modem) make_modem(*config.modem);
    bus_ = std::make_unique<Bus>(*loop_, std::move(handlers));
    resolved_ = std::make_unique<ResolvedLink>(bus_->connection());
    if (modem_) bus_->set_modem_reset([this] { modem_->reset(); });
    // No modem section: the Modem object exists and says "disabled" (the default status).
    bus_->set_modem_status(inputs_.modem);

    for (const auto& c : config.cloud) sessions_.push_back(make_session(c, config));
    sync_inputs();
    if (outbox_) {
        make_local(config);
        start_bridge(config);
    }
    make_status(config);
    loop_->set_reload_handler([this] { reload(); });
    // A clean stop says "offline" itself, before the DISCONNECT that cancels the will: in the
    // loop's exit phase, while the status connection can still publish. Floating: the loop,
    // which this object owns, frees it.
    const int r = sd_event_add_exit(loop_->raw(), nullptr, &Gateway::on_loop_exit, this);
    if (r < 0) throw std::system_error(-r, std::generic_category(), "sd_event_add_exit");
}

int Gateway::on_loop_exit(sd_event_source*, void* userdata) {
    auto* self = static_cast<Gateway*>(userdata);
    return guarded("gateway exit", [&] {
        if (self->status_) self->status_->stop(offline_message("cellgated stopped"));
    });
}

Gateway::~Gateway() {
    // The modem's and sessions' callbacks point into bus_; drop them first whatever the member order.
    // The bridge holds the sessions and the outbox; the outbox's last completions answer Publish()
    // calls over the bus.
    status_.reset();
    bridge_.reset();
    module_link_->attach(nullptr);
    modem_.reset();
    sessions_.clear();
    module_link_.reset();
    data_path_.reset();
    local_.reset();
    outbox_.reset();
    resolved_.reset();
    bus_.reset();
}

void Gateway::open_outbox(const Config& config) {
    const std::string& path = config.bridge.outbox.path;
    // systemd's StateDirectory= normally made it; by hand (or another path) it may be missing.
    const auto slash = path.rfind('/');
    const std::string dir = slash == 0 ? "/" : path.substr(0, slash);
    for (size_t at = 1; at <= dir.size(); ++at) {
        if (at != dir.size() && dir[at] != '/') continue;
        const std::string part = dir.substr(0, at);
        if (::mkdir(part.c_str(), 0750) < 0 && errno != EEXIST)
            throw StartupError(EX_CANTCREAT, "outbox: cannot create " + part + ": " + std::strerror(errno) +
                                                 "; refusing to start without durable storage");
    }
    std::string error;
    outbox_ = bridge::open_outbox(*loop_, config.bridge.outbox, error);
    if (!outbox_)
        throw StartupError(EX_CANTCREAT, "outbox: " + (error.find(path) == std::string::npos ? path + ": " : "") +
                                             error + "; refusing to start without durable storage");
    log::info("outbox: ", path, " open");
}

void Gateway::make_modem(const modem::ModemConfig& config) {
    modem_ = std::make_unique<modem::Modem>(*loop_, config);
    module_link_->attach(modem_.get());
    data_path_ = std::make_unique<DataPath>(
        *loop_, config,
        DataPath::Callbacks{[this](bool up, const std::string&) { on_path(up); },
                            [this](const std::string& why, bool permanent) {
                                if (modem_) modem_->data_link_failed(why, permanent);
                            },
                            [this] { publish_modem(); }});
    modem_->set_netdev_kind([this](const std::string& port) { return data_path_->netdev_kind(port); });
    modem_->on_change = [this](const modem::ModemStatus& s) { on_modem_change(s); };
    inputs_.modem_configured = true;
    inputs_.modem_known = false;
}

Gateway::LiveSession Gateway::make_session(const cloud::CloudConfig& c, const Config& config) {
    // Jitter must differ between gateways that lost the same cell at the same moment.
    std::random_device entropy;
    LiveSession live;
    live.name = c.name;
    std::unique_ptr<mqtt::MqttClient> client;
    if (c.transport == cloud::Transport::module) {
        auto port = module_link_->make_port();
        mqtt::ModuleOptions options;
        options.client_index = port.index;
        options.route_urcs = config.modem && is_uart_port(config.modem->port);
        options.log_prefix = c.name;
        client = std::make_unique<mqtt::ModuleClient>(*loop_, std::move(port.at), options);
    } else {
        client = mqtt::make_mosquitto_client(*loop_, c.name);
        // A session that follows the modem goes out through it, whatever the host's routing prefers.
        if (config.modem)
            client = std::make_unique<PinnedMqttClient>(*loop_, std::move(client), [this]() -> std::optional<PinnedPath> {
                return data_path_ ? data_path_->pinned() : std::nullopt;
            });
    }
    live.session = std::make_unique<cloud::Session>(*loop_, c, config.backoff, std::move(client),
                                                    config.modem.has_value(), entropy());
    // By name, not by position: a reload reorders, adds and removes sessions.
    live.session->on_change = [this, name = c.name](const cloud::SessionStatus& s) { on_session_change(name, s); };
    PublishHandler publish;
    if (outbox_) {
        publish = [this, name = c.name](const std::string& topic, std::string payload, int qos, PublishReply reply) {
            size_t index = 0;
            while (index < sessions_.size() && sessions_[index].name != name) ++index;
            if (!bridge_ || index == sessions_.size()) {
                reply({0, kErrorOutboxFailed, "cloud session " + name + " is not routed (reload failed?)"});
                return;
            }
            bridge_->publish(index, topic, std::move(payload), qos, [reply](auto result) {
                if (result) reply({*result, "", ""});
                else reply({0, publish_error_name(result.error().error), result.error().message});
            });
        };
    }
    live.bus_index = bus_->add_session(c.name, [this, name = c.name] {
        if (auto* s = find_session(name)) s->session->reconnect();
    }, std::move(publish));
    bus_->set_session_status(live.bus_index, live.session->status());
    return live;
}

void Gateway::start_session(cloud::Session& s) {
    // One made by a reload joins a running gateway: it must know the data link is already up.
    if (path_up_) s.link_changed(true);
    s.start();
}

void Gateway::make_local(const Config& config) {
    local_.reset();
    if (config.bridge.needs_local()) local_ = make_local_session(*loop_, config.bridge.local, config.backoff);
}

void Gateway::make_status(const Config& config) {
    if (status_) status_->stop("");  // a reload moved or ended it: no stale status stays behind
    status_.reset();
    if (publishes_status(config.bridge))
        status_ = make_status_publisher(*loop_, config.bridge.local, config.backoff);
}

void Gateway::start_bridge(const Config& config) {
    std::vector<cloud::Session*> sessions;
    for (auto& s : sessions_) sessions.push_back(s.session.get());
    bridge_ = std::make_unique<bridge::Bridge>(*loop_, config.bridge, *outbox_, local_.get(), std::move(sessions),
                                              rate_buckets_);
    bridge_->on_change = [this](size_t index, const bridge::DeliveryStatus& s) {
        if (index < sessions_.size()) bus_->set_delivery_status(sessions_[index].bus_index, s);
    };
    // A rebuilt bridge counts from zero; show that rather than the old bridge's last numbers.
    for (size_t i = 0; i < sessions_.size(); ++i) bus_->set_delivery_status(sessions_[i].bus_index, bridge_->status(i));
    log::info("bridge: ", config.bridge.routes.size(), " route", config.bridge.routes.size() == 1 ? "" : "s", ", ",
              config.bridge.downlink.size(), " downlink entr", config.bridge.downlink.size() == 1 ? "y" : "ies",
              local_ ? ", local broker " + config.bridge.local.endpoint : std::string());
}

int Gateway::run() {
    started_ = true;
    // Sessions first: with a modem they wait for the link, which the modem's first status gives.
    for (auto& s : sessions_) start_session(*s.session);
    if (local_) local_->start();
    if (status_) status_->start();
    if (modem_) {
        modem_->start();
        // start() publishes the first status through on_change; if it did not, take it now.
        if (!inputs_.modem_known) on_modem_change(modem_->status());
    }
    int r = loop_->run();
    (void)sd_notify(0, "STOPPING=1");
    if (r < 0) {
        log::error("loop: failed: ", -r);
        return 1;
    }
    return r;
}

void Gateway::reload() {
    const std::string path = config_.source;
    log::info("reload: reading ", path);
    if (ready_sent_) {
        // systemd's reload protocol: RELOADING=1 (with the time, which notify-reload units want)
        // now, READY=1 once done; a reload that comes before READY=1 just waits for it.
        timespec now{};
        ::clock_gettime(CLOCK_MONOTONIC, &now);
        const auto usec = static_cast<uint64_t>(now.tv_sec) * 1'000'000U + static_cast<uint64_t>(now.tv_nsec) / 1000U;
        const std::string message = "RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec);
        if (int r = sd_notify(0, message.c_str()); r < 0) log::debug("sd_notify failed: ", -r);
    }

    // Small and local: reading it on the loop costs less than any handoff would.
    ConfigResult loaded = load_config_file(path);
    for (const auto& w : loaded.warnings) log::warning("reload: ", w.to_string());
    if (!loaded.config || !loaded.errors.empty()) {
        for (const auto& e : loaded.errors) log::error("reload: ", e.to_string());
        if (loaded.errors.empty()) log::error("reload: ", path, ": the configuration could not be loaded");
        log::error("reload: keeping the running configuration");
    } else {
        const ReloadPlan plan = plan_reload(config_, *loaded.config);
        log::notice("reload: ", plan.empty() ? "nothing changed (" + plan.summary() + ")" : plan.summary());
        if (const auto notice = config_notice(*loaded.config); !notice.empty()) log::notice("reload: ", notice);
        try {
            apply(plan, *loaded.config);
        } catch (const std::exception& e) {
            // Only construction can throw here (sd-bus refusing an object, the modem's setup);
            // what was already swapped stays swapped.
            log::error("reload: failed while applying: ", e.what(), "; restart cellgated to get a consistent state");
        }
    }

    if (ready_sent_) {
        last_status_ = status_line(state_, inputs_);
        const std::string message = "READY=1\nSTATUS=" + last_status_;
        if (int r = sd_notify(0, message.c_str()); r < 0) log::debug("sd_notify failed: ", -r);
    }
}

void Gateway::apply(const ReloadPlan& plan, const Config& next) {
    log::set_max_level(next.log_level);

    // What runs is what config_ says, so the next reload compares against that: settings that
    // wait for a restart keep their running values here.
    Config applied = next;
    if (plan.outbox_changed) {
        log::warning("reload: the outbox settings changed; they take effect when cellgated restarts",
                     outbox_ ? " (the open outbox stays in use)" : "");
        applied.bridge.outbox_enabled = config_.bridge.outbox_enabled;
        applied.bridge.outbox = config_.bridge.outbox;
    }
    if (!outbox_ && next.bridge.needs_local())
        log::warning("reload: routes and downlink need the outbox, which is only opened at start; "
                     "restart cellgated to apply them");

    const bool rebuild = outbox_ && plan.rebuild_bridge();
    // The bridge points at the sessions and the local connection and clears their callbacks when
    // it goes, so it goes before any of them. Rows in the outbox stay; publishes in flight on a
    // kept connection are sent again by the new bridge (at least once).
    if (rebuild) bridge_.reset();

    const bool modem_restart = plan.modem != Change::unchanged;
    if (modem_restart && modem_) {
        module_link_->attach(nullptr);
        modem_.reset();
        data_path_.reset();
        bus_->set_modem_reset({});
        // The data call was the old controller's; kept sessions wait for the new one's link.
        on_path(false);
        inputs_.modem = modem::ModemStatus{};
        inputs_.modem_known = false;
        inputs_.modem_configured = false;
        publish_modem();
    }

    // Old ones go first: a replacement with the same client id must not kick its predecessor.
    for (auto& live : sessions_) {
        if (plan.session(live.name) == Change::unchanged) continue;
        bus_->remove_session(live.bus_index);
        live.session.reset();
    }
    std::vector<LiveSession> kept_and_new;
    std::vector<cloud::Session*> fresh;
    for (const auto& c : applied.cloud) {
        LiveSession* old = plan.session(c.name) == Change::unchanged ? find_session(c.name) : nullptr;
        if (old && old->session) {
            kept_and_new.push_back(std::move(*old));
        } else {
            kept_and_new.push_back(make_session(c, applied));
            fresh.push_back(kept_and_new.back().session.get());
        }
    }
    sessions_ = std::move(kept_and_new);

    bool fresh_local = false;
    if (rebuild) {
        if (plan.local_changed) {
            make_local(applied);
            fresh_local = local_ != nullptr;
        }
        start_bridge(applied);
        // A new lane learns of a connection from its CONNACK; a kept session had that long ago.
        for (auto& s : sessions_)
            if (std::find(fresh.begin(), fresh.end(), s.session.get()) == fresh.end() &&
                s.session->status().state == SessionState::connected && s.session->on_connected)
                s.session->on_connected();
    }

    if (started_) {
        for (auto* s : fresh) start_session(*s);
        if (fresh_local) local_->start();
    }

    if (modem_restart && applied.modem) {
        make_modem(*applied.modem);
        bus_->set_modem_reset([this] { modem_->reset(); });
        if (started_) {
            modem_->start();
            if (!inputs_.modem_known) on_modem_change(modem_->status());
        }
    }

    if (plan.status_changed) {
        make_status(applied);
        if (started_ && status_) status_->start();
    }

    config_ = std::move(applied);
    sync_inputs();
    update();
}

Gateway::LiveSession* Gateway::find_session(const std::string& name) {
    for (auto& s : sessions_)
        if (s.name == name) return &s;
    return nullptr;
}

void Gateway::sync_inputs() {
    inputs_.sessions.clear();
    for (const auto& s : sessions_) inputs_.sessions.push_back({s.name, s.session->status().state});
}

void Gateway::on_modem_change(const modem::ModemStatus& status) {
    inputs_.modem_known = true;
    inputs_.modem = status;
    // The data path follows the data call, and tells the sessions (on_path) when they may use it.
    if (data_path_) data_path_->on_modem(status);
    publish_modem();
    update();
}

void Gateway::publish_modem() {
    if (data_path_) inputs_.modem.data_path = data_path_->status();
    resolved_->update(inputs_.modem.data_path.interface, inputs_.modem.data_path.dns);
    bus_->set_modem_status(inputs_.modem);
}

void Gateway::on_path(bool up) {
    if (up == path_up_) {
        if (!up) return;
        // A new address under the sessions: every socket on the old one is dead.
        if (!sessions_.empty()) log::info("gateway: data link address changed, reconnecting cloud sessions");
        for (auto& s : sessions_) {
            s.session->link_changed(false);
            s.session->link_changed(true);
        }
        return;
    }
    path_up_ = up;
    for (auto& s : sessions_) s.session->link_changed(up);
    update();
}

void Gateway::on_session_change(const std::string& name, const cloud::SessionStatus& status) {
    for (size_t i = 0; i < sessions_.size(); ++i) {
        if (sessions_[i].name != name) continue;
        bus_->set_session_status(sessions_[i].bus_index, status);
        // Most changes are counters, once per message: the gateway's state and the status
        // message follow only the sessions' states.
        if (i < inputs_.sessions.size() && inputs_.sessions[i].state == status.state) return;
        if (i < inputs_.sessions.size()) inputs_.sessions[i].state = status.state;
        update();
        return;
    }
}

void Gateway::update() {
    auto verdict = evaluate_gateway(inputs_);
    if (verdict.state != state_) {
        log::notice("gateway: ", to_string(state_), " -> ", to_string(verdict.state), " (", verdict.reason, ")");
        state_ = verdict.state;
    }
    bus_->set_gateway_state(to_string(state_), verdict.reason);
    if (status_) status_->update(status_message(state_, verdict.reason, inputs_));

    std::string status = status_line(state_, inputs_);
    std::string message;
    if (!ready_sent_ && inputs_.name_acquired) {
        // READY=1 only once the name is ours: systemd's BusName= ordering and our clients both
        // assume the service is reachable when the unit is "started".
        message = "READY=1\n";
        ready_sent_ = true;
    }
    if (status != last_status_ || !message.empty()) {
        message += "STATUS=" + status;
        last_status_ = status;
        int r = sd_notify(0, message.c_str());
        if (r < 0) log::debug("sd_notify failed: ", -r);
    }
}

}  // namespace cellgate
