#include "net/dhcp_client.hpp"

#include <signal.h>

#include <algorithm>
#include <system_error>

#include "base/log.hpp"

namespace cellgate::net {

const char* to_string(DhcpState s) {
    switch (s) {
        case DhcpState::stopped: return "stopped";
        case DhcpState::requesting: return "requesting";
        case DhcpState::bound: return "bound";
        case DhcpState::backoff: return "backoff";
        case DhcpState::stopping: return "stopping";
    }
    return "stopped";
}

DhcpClient::DhcpClient(Scheduler& loop, DhcpOptions options, Callbacks callbacks)
    : loop_(loop), opt_(std::move(options)), cb_(std::move(callbacks)), backoff_(opt_.restart_min) {
    restart_timer_ = loop_.make_timer([this] { spawn(); });
    probe_timer_ = loop_.make_timer([this] {
        if (state_ != DhcpState::bound) return;
        renew();
        probe_timer_->arm(opt_.probe_interval);
    });
}

// The child is killed and reaped by its own destructor; no callback of ours runs after this.
DhcpClient::~DhcpClient() = default;

void DhcpClient::set_state(DhcpState next, const std::string& reason) {
    if (next == state_) return;
    log::info("dhcp ", opt_.udhcpc.interface, ": ", to_string(state_), " -> ", to_string(next), " (", reason, ")");
    state_ = next;
}

void DhcpClient::start() {
    if (state_ != DhcpState::stopped) return;
    backoff_ = opt_.restart_min;
    failure_reported_ = false;
    spawn();
}

void DhcpClient::spawn() {
    try {
        child_ = std::make_unique<ChildProcess>(
            loop_, udhcpc_argv(opt_.udhcpc),
            ChildProcess::Callbacks{[this](std::string_view l) { on_line(l); },
                                    [this](std::string_view l) { log::debug("dhcp ", opt_.udhcpc.interface, ": ", l); },
                                    [this](ExitStatus s) { on_exit(s); }});
    } catch (const std::system_error& e) {
        // As if it had died at once: the same backoff, so a missing busybox is retried calmly.
        set_state(DhcpState::requesting, "starting udhcpc");
        log::warning("dhcp ", opt_.udhcpc.interface, ": ", e.what());
        on_exit(ExitStatus{false, 127});
        return;
    }
    set_state(DhcpState::requesting, "udhcpc started (pid " + std::to_string(child_->pid()) + ")");
}

void DhcpClient::on_line(std::string_view line) {
    std::string error;
    const auto report = parse_hook_line(line, error);
    if (!report) {
        if (!error.empty()) log::warning("dhcp ", opt_.udhcpc.interface, ": ", error);
        else log::debug("dhcp ", opt_.udhcpc.interface, ": ", line);
        return;
    }
    if (state_ == DhcpState::stopping || state_ == DhcpState::stopped) return;
    switch (report->event) {
        case DhcpEvent::bound:
        case DhcpEvent::renew: {
            const bool fresh = !lease_;
            lease_ = report->lease;
            failure_reported_ = false;
            backoff_ = opt_.restart_min;
            set_state(DhcpState::bound, std::string(to_string(report->event)) + " " + to_string(lease_->address) + "/" +
                                            std::to_string(lease_->prefix) + ", lease " +
                                            std::to_string(lease_->lease_seconds) + " s");
            if (fresh && opt_.probe_interval.count() > 0) probe_timer_->arm(opt_.probe_interval);
            if (cb_.lease) cb_.lease(*lease_);
            return;
        }
        case DhcpEvent::deconfig:
            // udhcpc also says deconfig once at start, before it has anything.
            if (lease_) lose("lease lost");
            return;
        case DhcpEvent::nak:
            // udhcpc follows a NAK with deconfig; the lease is gone already then.
            if (lease_) lose("the server refused the lease (NAK)");
            return;
        case DhcpEvent::leasefail:
            if (!failure_reported_) {
                failure_reported_ = true;
                const std::string why = "no DHCP lease after " + std::to_string(opt_.udhcpc.discover_tries) + " DISCOVERs";
                log::info("dhcp ", opt_.udhcpc.interface, ": ", why);
                if (cb_.lost) cb_.lost(why);
            }
            return;
    }
}

void DhcpClient::lose(const std::string& reason) {
    lease_.reset();
    probe_timer_->cancel();
    set_state(DhcpState::requesting, reason);
    if (cb_.lost) cb_.lost(reason);
}

void DhcpClient::on_exit(ExitStatus status) {
    auto alive = life_.token();
    // The ChildProcess is on the stack below us: it is destroyed from the loop, not here.
    loop_.defer([dead = std::shared_ptr<ChildProcess>(std::move(child_))] {});
    if (state_ == DhcpState::stopping) {
        set_state(DhcpState::stopped, "udhcpc exited, " + to_string(status));
        if (auto done = std::move(stopped_)) done();
        return;
    }
    log::warning("dhcp ", opt_.udhcpc.interface, ": udhcpc exited unexpectedly (", to_string(status),
                 "), restarting in ", backoff_.count(), " ms");
    if (lease_) {
        lease_.reset();
        probe_timer_->cancel();
        if (cb_.lost) cb_.lost("udhcpc exited (" + to_string(status) + ")");
        if (alive.expired()) return;
    }
    set_state(DhcpState::backoff, "udhcpc exited, " + to_string(status));
    ++restarts_;
    restart_timer_->arm(backoff_);
    backoff_ = std::min(backoff_ * 2, opt_.restart_max);
}

void DhcpClient::stop(std::function<void()> done) {
    restart_timer_->cancel();
    probe_timer_->cancel();
    lease_.reset();
    if (!child_ || !child_->running()) {
        set_state(DhcpState::stopped, "stop");
        if (done) done();
        return;
    }
    stopped_ = std::move(done);
    set_state(DhcpState::stopping, "stop");
    child_->stop(opt_.stop_grace);
}

void DhcpClient::renew() {
    if (child_ && child_->running() && state_ != DhcpState::stopping) child_->signal(SIGUSR1);
}

}  // namespace cellgate::net
