// The module and its port speaking up, or not: silence and its end, the port opening and
// closing, and URCs (classified once by the parser, handled here by kind).
#include "modem/modem_controller.hpp"

#include <algorithm>

#include "base/duration_text.hpp"
#include "base/log.hpp"
#include "modem/at_parser.hpp"
#include "modem/at_replies.hpp"

namespace cellgate::modem {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

namespace {

// A recovery command sent to a module that has said nothing since it went silent gets a short
// wait: most likely it is lost like the ones before it, and a nominal timeout (140 s for CGATT)
// would only delay noticing that the module is back.
constexpr milliseconds kIntoSilence = 5s;
// While a silent module's recovery waits out its backoff (up to recovery_backoff_max), `AT` goes
// out every few seconds, so its return is seen within seconds and not at the end of the wait.
constexpr milliseconds kSilenceProbe = 2s;
constexpr milliseconds kSilenceProbeGap = 1s;

}  // namespace

// ---------------------------------------------------------------------------------------------
// Silence

void ModemController::probe_silence() {
    if (!silent_ || phase_ != Phase::backoff) return;
    send("AT", kSilenceProbe, [this](const AtResult& r) {
        if (r.status != AtStatus::timeout) module_answers_again("AT answered");
        else silence_probe_timer_->arm(kSilenceProbeGap);
    });
}

// The module may have rebooted while it was silent, so nothing it told us before is trusted: the
// bring-up starts from the probe, and skips what is still in place (attached, data call up).
void ModemController::module_answers_again(const std::string& how) {
    silent_ = false;
    if (phase_ != Phase::backoff) return;
    log::notice("modem: module answers again (", how, "); bring-up without waiting out the backoff");
    begin_bringup("module answers again");
}

AtStep ModemController::into_silence(AtStep step) const {
    if (silent_) step.timeout = std::min(step.timeout, kIntoSilence);
    return step;
}

// ---------------------------------------------------------------------------------------------
// Transport events

// Runs inside the channel's line handling, so the bring-up starts from a timer, not from here.
void ModemController::handle_heard() {
    if (!silent_) return;
    silent_ = false;
    if (phase_ == Phase::backoff) revive_timer_->arm(0ms);
}

void ModemController::handle_opened() {
    opened_at_ = sched_.now();
    port_timer_->cancel();
    if (status_.failed_reason == FailedReason::port_missing) status_.failed_reason = FailedReason::none;
    if (!port_error_.empty() && status_.last_error.find(port_error_) != std::string::npos) status_.last_error.clear();
    port_error_.clear();
    begin_bringup(phase_ == Phase::resetting ? "port returned after reset" : "port opened");
}

void ModemController::handle_lost(const std::string& why) {
    cancel_pending();
    status_.ip_address.clear();
    status_.cell = {};
    registration_.reset();
    if (phase_ == Phase::resetting) {
        log::info("modem: port closed during reset (", why, "), waiting for it to return");
        publish();
        return;
    }
    status_.last_error = "port lost: " + why;
    port_timer_->arm(config_.port_return_timeout);
    set_phase(Phase::waiting_port, "port lost: " + why);
    publish();
}

void ModemController::handle_registration_urc(const std::string& line) {
    const auto news = registration_.take_urc(line);
    if (!news) return;
    if (news->access_tech) status_.access_tech = *news->access_tech;
    const Registration reg = registration_.effective();
    const bool is_registered = registration_.is_registered();
    publish();

    switch (phase_) {
        case Phase::registering: evaluate_registration(); break;
        case Phase::attaching:
        case Phase::pdp:
        case Phase::dialing:
        case Phase::connected:
            if (is_registered) {
                if (grace_timer_->armed()) log::info("modem: registration back within the grace period");
                grace_timer_->cancel();
            } else if (!grace_timer_->armed()) {
                // Cells hand over and coverage flickers; only a lasting loss is worth tearing down the link.
                log::warning("modem: registration lost (", to_string(reg), "), waiting ",
                             duration_text(config_.registration_grace), " before recovery");
                grace_timer_->arm(config_.registration_grace);
            }
            break;
        case Phase::halted:
            if (is_registered && status_.failed_reason == FailedReason::registration_denied)
                begin_bringup("network accepts registration again");
            break;
        default: break;
    }
}

void ModemController::handle_packet_event(const std::string& line) {
    const auto ev = parse_cgev(std::string_view(line).substr(line.find(':') + 1));
    const bool ours = !ev.cid || *ev.cid == config_.cid;
    switch (ev.kind) {
        case PdpEventKind::nw_detach:
        case PdpEventKind::me_detach: data_lost("network detached (" + line + ")"); break;
        case PdpEventKind::pdn_deact:
        case PdpEventKind::nw_deact:
        case PdpEventKind::me_deact:
            if (ours) data_lost("PDP context deactivated (" + line + ")");
            break;
        default: break;
    }
}

void ModemController::handle_sim_urc(const std::string& line) {
    std::string value = line.substr(line.find(':') + 1);
    value.erase(0, value.find_first_not_of(' '));
    const SimState sim = parse_cpin_value(value);
    if (sim == SimState::ready && phase_ == Phase::halted &&
        (status_.failed_reason == FailedReason::sim_missing || status_.failed_reason == FailedReason::sim_pin_required))
        begin_bringup("SIM ready");
    else if (sim == SimState::not_inserted && phase_ != Phase::probing && phase_ != Phase::sim &&
             phase_ != Phase::halted && phase_ != Phase::resetting && phase_ != Phase::waiting_port)
        halt(FailedReason::sim_missing, "SIM card removed");
}

// A module that rebooted without dropping the port (watchdog, brown-out) announces itself;
// everything we knew about its state is void.
void ModemController::handle_boot_banner(const std::string& line) {
    // The boot banner of a module whose port just (re)appeared belongs to the bring-up already
    // running; only a banner long after the port opened means an unseen reboot.
    const bool fresh_port = sched_.now() - opened_at_ < std::chrono::seconds(15);
    if (phase_ != Phase::probing && phase_ != Phase::waiting_port && !fresh_port)
        begin_bringup("module restarted (" + line + ")");
}

void ModemController::handle_urc(const std::string& line) {
    log::debug("modem: URC ", line);
    switch (classify_urc(line)) {
        case UrcKind::registration: handle_registration_urc(line); return;
        case UrcKind::packet_event: handle_packet_event(line); return;
        case UrcKind::sim: handle_sim_urc(line); return;
        case UrcKind::boot: handle_boot_banner(line); return;
        case UrcKind::other:
            if (vendor_ && vendor_->urc_means_data_lost(line)) data_lost(line);
            return;
    }
}
}  // namespace cellgate::modem
