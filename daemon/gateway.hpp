// The daemon's root object: owns the event loop, the D-Bus adapter, the modem and the cloud
// sessions, feeds the modem's data link to the sessions, derives the gateway State from all of
// them (daemon/gateway_state.hpp) and reports it to systemd (READY=1, STATUS=), the journal, the
// bus and the local broker (daemon/status_publisher.hpp).
// On SIGHUP it loads the config file again and applies what changed (daemon/reload.hpp).
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "cloud/rate_limit.hpp"
#include "cloud/session_status.hpp"
#include "daemon/config.hpp"
#include "daemon/gateway_state.hpp"
#include "modem/modem_status.hpp"

struct sd_event_source;

namespace cellgate {

class Bus;
class ModuleLink;
class DataPath;
class ResolvedLink;
class SdEventLoop;
class StatusPublisher;
struct ReloadPlan;
namespace modem { class Modem; }
namespace cloud { class Session; }
namespace bridge {
class Bridge;
class Outbox;
}  // namespace bridge

// A failure at start that has its own exit status (sysexits.h), so systemd and the operator can
// tell it from a crash: EX_CANTCREAT (73) when the outbox cannot be opened.
class StartupError : public std::runtime_error {
public:
    StartupError(int exit_status, const std::string& what) : std::runtime_error(what), status_(exit_status) {}
    int exit_status() const { return status_; }

private:
    int status_;
};

class Gateway {
public:
    // Builds everything and connects to the bus; the modem starts in run().
    // Throws StartupError when the outbox (needed by routes, downlink or an outbox section)
    // cannot be opened: a gateway that cannot persist what it accepts refuses to start.
    // Throws std::system_error (loop or bus) or whatever the modem constructor throws.
    explicit Gateway(const Config& config);
    ~Gateway();
    Gateway(const Gateway&) = delete;
    Gateway& operator=(const Gateway&) = delete;

    // Runs the loop until SIGTERM/SIGINT (returns 0) or a fatal bus failure (returns 1).
    int run();

    // SIGHUP: loads config.source again. An invalid file changes nothing (every error is logged);
    // a valid one is applied as plan_reload() says: sessions and a modem section that did not
    // change keep running untouched.
    void reload();

private:
    // One configured cloud session; sessions_ is in config order, which is the bridge's index.
    struct LiveSession {
        std::string name;
        std::unique_ptr<cloud::Session> session;
        size_t bus_index = 0;
    };

    static int on_loop_exit(sd_event_source* source, void* userdata);
    void on_modem_change(const modem::ModemStatus& status);
    void on_path(bool up);
    void publish_modem();
    void on_session_change(const std::string& name, const cloud::SessionStatus& status);
    void update();
    void open_outbox(const Config& config);
    LiveSession make_session(const cloud::CloudConfig& c, const Config& config);
    void start_session(cloud::Session& s);
    void make_modem(const modem::ModemConfig& config);
    void make_local(const Config& config);
    void make_status(const Config& config);
    void start_bridge(const Config& config);
    void apply(const ReloadPlan& plan, const Config& next);
    LiveSession* find_session(const std::string& name);
    void sync_inputs();

    GatewayInputs inputs_;
    GatewayState state_ = GatewayState::starting;
    std::string last_status_;
    bool ready_sent_ = false;
    bool started_ = false;
    bool path_up_ = false;  // the sessions were told the data path is up
    Config config_;  // the running one
    // Outlives every bridge: a reload must not hand a session a fresh burst.
    cloud::RateBuckets rate_buckets_;

    // Destroyed bottom-up: sessions, modem and bus drop their sources before the loop goes.
    std::unique_ptr<SdEventLoop> loop_;
    std::unique_ptr<bridge::Outbox> outbox_;
    std::unique_ptr<Bus> bus_;
    std::unique_ptr<ResolvedLink> resolved_;  // the data link's DNS servers, to systemd-resolved
    std::unique_ptr<modem::Modem> modem_;
    // The modem's AT channel for sessions with `transport: module`; outlives the modem (a reload
    // replaces it) and the sessions' clients.
    std::unique_ptr<ModuleLink> module_link_;
    std::unique_ptr<DataPath> data_path_;  // with a modem: the host side of its data link
    std::vector<LiveSession> sessions_;
    std::unique_ptr<cloud::Session> local_;  // the local broker, when something is routed (local_session.hpp)
    std::unique_ptr<bridge::Bridge> bridge_;
    std::unique_ptr<StatusPublisher> status_;  // the retained status on the local broker, if configured
};

}  // namespace cellgate
