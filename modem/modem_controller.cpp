#include "modem/modem_controller.hpp"

#include <algorithm>

#include "base/duration_text.hpp"
#include "base/guarded.hpp"
#include "base/log.hpp"
#include "modem/at_parser.hpp"
#include "modem/at_replies.hpp"

namespace cellgate::modem {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

namespace {

// Queries answer within seconds (ModemManager waits 3 s, the SIM 5 s); CFUN takes up to 18 s
// (MuditaOS's long class) and CGATT up to 140 s (Quectel's EC2x AT manual).
constexpr milliseconds kQuery = 3s;
constexpr milliseconds kCpin = 5s;
constexpr milliseconds kCfun = 18s;
constexpr milliseconds kCgatt = 140s;
constexpr int kProbeTries = 3;
// Right after boot the SIM answers "+CME ERROR: 14" (busy) for a few seconds.
constexpr milliseconds kSimBusyRetry = 2s;
constexpr int kSimBusyTries = 15;
constexpr int kPinWaitTries = 10;
// Several vendors answer the data call with OK and bring the bearer up asynchronously.
constexpr milliseconds kDataCallPoll = 2s;
constexpr int kDataCallPolls = 90;  // 180 s, ModemManager's connection timeout
constexpr int kIpPolls = 5;
// Three queries in a row without any answer means the module is wedged, not slow.
constexpr int kMaxConsecutiveTimeouts = 3;

std::string strip_prefix(std::string line) {
    // "+CGMI: Quectel" and bare "Quectel" are both in the wild.
    if (!line.empty() && (line[0] == '+' || line[0] == '^')) {
        if (auto colon = line.find(':'); colon != std::string::npos) {
            line.erase(0, colon + 1);
            line.erase(0, line.find_first_not_of(' '));
        }
    }
    if (line.size() >= 2 && line.front() == '"' && line.back() == '"') line = line.substr(1, line.size() - 2);
    return line;
}

std::string first_line(const AtResult& r) {
    for (const auto& l : r.lines)
        if (!l.empty()) return strip_prefix(l);
    return {};
}

std::string describe(const AtResult& r) {
    if (r.status == AtStatus::cme_error || r.status == AtStatus::cms_error) {
        std::string s = r.status == AtStatus::cme_error ? "+CME ERROR" : "+CMS ERROR";
        if (!r.error_text.empty()) return s + ": " + r.error_text;
        return r.error_code >= 0 ? s + ": " + std::to_string(r.error_code) : s + " (no code)";
    }
    if (!r.error_text.empty()) return r.error_text;
    return to_string(r.status);
}

}  // namespace

ModemController::ModemController(Scheduler& sched, AtTransport& at, ModemConfig config,
                                 std::function<void(const std::string&)> drop_port)
    : sched_(sched),
      at_(at),
      config_(std::move(config)),
      drop_port_(std::move(drop_port)),
      seq_(sched, at),
      ladder_(config_.recovery_backoff, config_.recovery_backoff_max) {
    // A step that threw stopped half way; starting over is the one way back to a known state.
    seq_.on_broken = [this](const std::string& step) { recover(FailedReason::none, step + " failed"); };
    signal_timer_ = make_timer("signal poll", [this] { poll_signal(); });
    poll_timer_ = make_timer("status poll", [this] { poll_status(); });
    reg_timeout_timer_ = make_timer("registration timeout", [this] {
        recover(FailedReason::none, "not registered after " + duration_text(config_.registration_timeout));
    });
    grace_timer_ = make_timer("registration grace", [this] {
        recover(FailedReason::none, "registration lost for " + duration_text(config_.registration_grace));
    });
    stable_timer_ = make_timer("stable link", [this] {
        if (ladder_.attempts() > 0) log::info("modem: stable again, recovery ladder reset");
        ladder_.reset();
    });
    silence_probe_timer_ = make_timer("silence probe", [this] { probe_silence(); });
    revive_timer_ = make_timer("module heard", [this] { module_answers_again("it sent a line"); });
    port_timer_ = make_timer("port return", [this] {
        status_.failed_reason = FailedReason::port_missing;
        status_.last_error = "port " + config_.port + " did not return within " + duration_text(config_.port_return_timeout) +
                             (port_error_.empty() ? "" : " (" + port_error_ + ")");
        log::error("modem: ", status_.last_error, "; still waiting for it");
        publish();
    });

    status_.state = ModemState::absent;
    status_.port = config_.port;
    status_.apn = config_.apn.name;
    if (config_.vendor) status_.vendor = to_string(*config_.vendor);

    at_.on_opened = [this] { seq_.guard("port opened", [this] { handle_opened(); }); };
    at_.on_lost = [this](const std::string& why) { seq_.guard("port lost", [&] { handle_lost(why); }); };
    at_.on_urc = [this](const std::string& line) { seq_.guard("URC handler", [&] { handle_urc(line); }); };
    at_.on_heard = [this] { seq_.guard("line heard", [this] { handle_heard(); }); };
}

ModemController::~ModemController() {
    at_.on_opened = nullptr;
    at_.on_lost = nullptr;
    at_.on_urc = nullptr;
    at_.on_heard = nullptr;
}

void ModemController::set_port_name(const std::string& port) {
    status_.port = port;
    publish();
}

void ModemController::port_unavailable(const std::string& error, bool scanned) {
    port_error_ = error;
    if (phase_ != Phase::waiting_port || port_timer_->armed()) return;
    status_.last_error = error;
    if (scanned) status_.failed_reason = FailedReason::port_missing;
    publish();
}

void ModemController::start() {
    publish();
    if (at_.is_open()) begin_bringup("port open");
}

void ModemController::reset() {
    if (reset_running_) {
        log::info("modem: reset requested while one is in progress (", to_string(phase_), "); joining it");
        return;
    }
    if (!at_.is_open()) {
        log::warning("modem: reset requested but the port is not open, ignoring");
        return;
    }
    do_reset("reset requested over D-Bus");
}

// ---------------------------------------------------------------------------------------------
// Plumbing

std::unique_ptr<Timer> ModemController::make_timer(const char* step, std::function<void()> fn) {
    return sched_.make_timer([this, step, fn = std::move(fn)] { seq_.guard(step, fn); });
}

void ModemController::cancel_pending() {
    seq_.restart();
    for (auto* t : {signal_timer_.get(), poll_timer_.get(), reg_timeout_timer_.get(), grace_timer_.get(),
                    stable_timer_.get(), silence_probe_timer_.get(), revive_timer_.get()})
        t->cancel();
}

void ModemController::set_phase(Phase next, const std::string& reason) {
    if (next == phase_) return;
    const Phase old = phase_;
    const ModemState old_state = status_.state;
    phase_ = next;
    status_.state = derived_state();
    if (status_.state != old_state)
        log::notice("modem: ", to_string(old), " -> ", to_string(next), " (", reason, "); State ",
                    to_string(old_state), " -> ", to_string(status_.state));
    else
        log::info("modem: ", to_string(old), " -> ", to_string(next), " (", reason, ")");
    publish();
}

ModemState ModemController::derived_state() const {
    return public_state(phase_, status_.failed_reason, registration_.packet_registered());
}

void ModemController::publish() {
    status_.state = derived_state();
    status_.registration = registration_.effective();
    if (status_.ip_address.empty()) status_.context = {};  // the settings go with the address
    if (status_ == published_) return;
    published_ = status_;
    // The listener belongs to another component: its failure must not cut a bring-up step short.
    if (on_change) guarded("modem: status listener", [this] { on_change(status_); });
}

// ---------------------------------------------------------------------------------------------
// Bring-up

void ModemController::begin_bringup(const std::string& reason) {
    cancel_pending();
    port_timer_->cancel();
    registration_.reset();
    probe_tries_ = sim_busy_tries_ = pin_wait_tries_ = 0;
    pin_sent_ = false;
    status_.ip_address.clear();
    status_.cell = {};
    set_phase(Phase::probing, reason);
    probe();
}

void ModemController::probe() {
    send("AT", kQuery, [this](const AtResult& r) {
        // Any final result, even ERROR, proves the module is alive and framing works.
        if (r.status != AtStatus::timeout) {
            if (status_.failed_reason == FailedReason::no_response) status_.failed_reason = FailedReason::none;
            probe_identity();
            return;
        }
        if (++probe_tries_ < kProbeTries) {
            after(1s, [this] { probe(); });
            return;
        }
        recover(FailedReason::no_response, "module does not answer AT on " + status_.port);
    });
}

void ModemController::probe_identity() {
    std::vector<Query> q;
    q.push_back({"ATE0", kQuery, nullptr});
    q.push_back({"AT+CMEE=1", kQuery, nullptr});
    q.push_back({"AT+CGMI", kQuery, [this](const AtResult& r) { if (r.ok()) status_.manufacturer = first_line(r); }});
    q.push_back({"AT+CGMM", kQuery, [this](const AtResult& r) { if (r.ok()) status_.model = first_line(r); }});
    q.push_back({"AT+CGMR", kQuery, [this](const AtResult& r) { if (r.ok()) status_.revision = first_line(r); }});
    q.push_back({"AT+CGSN", kQuery, [this](const AtResult& r) {
                     if (auto imei = parse_digits_line(r)) status_.imei = *imei;
                 }});
    run_all(std::move(q), [this] {
        Vendor v = config_.vendor ? *config_.vendor
                   : usb_vendor_  ? *usb_vendor_
                                  : detect_vendor_text(status_.manufacturer);
        ModuleTraits traits{status_.model, netdev_kind_ ? netdev_kind_(status_.port) : NetdevKind::unknown,
                            traits_.model == status_.model && traits_.vendor_dial_refused};
        if (!vendor_ || vendor_->id() != v || traits != traits_) {
            traits_ = traits;
            vendor_ = make_vendor_profile(v, traits_);
            log::info("modem: ", status_.manufacturer, " ", status_.model, " (", status_.revision,
                      "), vendor profile ", to_string(v),
                      config_.vendor ? " (configured)" : usb_vendor_ ? " (USB id)" : " (AT+CGMI)");
        }
        status_.vendor = to_string(v);
        publish();
        // +CGEV reports network-side PDP deactivation; without it a dropped bearer is only found by polling.
        send("AT+CGEREP=2,1", kQuery, [this](const AtResult&) { check_sim(); });
    });
}

void ModemController::check_sim() {
    set_phase(Phase::sim, "module answers");
    send("AT+CPIN?", kCpin, [this](const AtResult& r) {
        if (r.status == AtStatus::timeout) {
            recover(FailedReason::no_response, "no answer to AT+CPIN?");
            return;
        }
        switch (parse_cpin(r)) {
            case SimState::ready: sim_ready(); return;
            case SimState::pin_required:
                if (pin_rejected_) {
                    halt(FailedReason::sim_pin_required,
                         "SIM PIN was rejected earlier; not retrying it to keep the remaining attempts");
                } else if (!config_.pin) {
                    halt(FailedReason::sim_pin_required, "SIM needs a PIN and modem.pin is not set");
                } else if (pin_sent_) {
                    if (++pin_wait_tries_ > kPinWaitTries) {
                        recover(FailedReason::none, "SIM still asks for the PIN after it was accepted");
                    } else {
                        after(1s, [this] { check_sim(); });
                    }
                } else {
                    enter_pin();
                }
                return;
            case SimState::puk_required:
                halt(FailedReason::sim_puk_required, "SIM is PUK-locked; it needs the PUK entered by hand");
                return;
            case SimState::ph_pin_required:
                halt(FailedReason::sim_pin_required, "module asks for a PH-SIM (device lock) PIN");
                return;
            case SimState::not_inserted: halt(FailedReason::sim_missing, "no SIM card inserted"); return;
            case SimState::busy:
                if (++sim_busy_tries_ < kSimBusyTries) {
                    log::debug("modem: SIM busy, asking again in ", duration_text(kSimBusyRetry));
                    after(kSimBusyRetry, [this] { check_sim(); });
                } else {
                    recover(FailedReason::none, "SIM stayed busy for " + duration_text(kSimBusyRetry * kSimBusyTries));
                }
                return;
            case SimState::other: recover(FailedReason::none, "SIM failure: " + describe(r)); return;
        }
    });
}

void ModemController::enter_pin() {
    pin_sent_ = true;
    log::info("modem: entering the SIM PIN");
    send("AT+CPIN=\"" + *config_.pin + "\"", kCpin, [this](const AtResult& r) {
        if (r.ok()) {
            after(1s, [this] { check_sim(); });
            return;
        }
        if (r.status == AtStatus::timeout) {
            recover(FailedReason::no_response, "no answer to the PIN");
            return;
        }
        pin_rejected_ = true;
        halt(FailedReason::sim_pin_required, "SIM rejected the configured PIN (" + describe(r) +
                                                 "); not retrying it to keep the remaining attempts");
    });
}

void ModemController::sim_ready() {
    if (status_.failed_reason == FailedReason::sim_missing) status_.failed_reason = FailedReason::none;
    std::vector<Query> q;
    q.push_back({"AT+CIMI", kQuery, [this](const AtResult& r) {
                     if (auto imsi = parse_digits_line(r)) status_.imsi = *imsi;
                 }});
    auto iccid = vendor_->iccid_query();
    q.push_back({iccid.command, iccid.timeout, [this](const AtResult& r) {
                     if (auto id = vendor_->parse_iccid(r)) status_.iccid = *id;
                 }});
    run_all(std::move(q), [this] {
        publish();
        start_registration();
    });
}

void ModemController::start_registration() {
    set_phase(Phase::registering, "SIM ready");
    reg_timeout_timer_->arm(config_.registration_timeout);
    send("AT+CFUN?", kQuery, [this](const AtResult& r) {
        auto then = [this] {
            std::vector<Query> q;
            // n=2 adds LAC/CI/AcT to the URCs; modules without CGREG, CEREG or C5GREG answer ERROR,
            // which is fine. Only a module that took AT+C5GREG=2 is asked AT+C5GREG? from then on.
            for (const char* c : {"AT+CREG=2", "AT+CGREG=2", "AT+CEREG=2"}) q.push_back({c, kQuery, nullptr});
            q.push_back({"AT+C5GREG=2", kQuery, [this](const AtResult& set) { has_c5greg_ = set.ok(); }});
            run_all(std::move(q), [this] { query_registration([this] { evaluate_registration(); }); });
        };
        if (r.ok() && r.value("+CFUN:").rfind('1', 0) == 0) {
            then();
            return;
        }
        send("AT+CFUN=1", kCfun, [then](const AtResult&) { then(); });
    });
}

void ModemController::query_registration(std::function<void()> done) {
    auto take = [this](RegDomain d) { return [this, d](const AtResult& r) { registration_.take_reply(d, r); }; };
    std::vector<Query> q;
    if (has_c5greg_) q.push_back({"AT+C5GREG?", kQuery, take(RegDomain::fivegs)});
    q.push_back({"AT+CEREG?", kQuery, take(RegDomain::eps)});
    q.push_back({"AT+CGREG?", kQuery, take(RegDomain::gprs)});
    q.push_back({"AT+CREG?", kQuery, take(RegDomain::cs)});
    run_all(std::move(q), [this, done = std::move(done)] {
        publish();
        done();
    });
}

void ModemController::evaluate_registration() {
    if (phase_ != Phase::registering) return;
    switch (registration_.effective()) {
        case Registration::home:
        case Registration::roaming: on_registered(); return;
        case Registration::denied: halt(FailedReason::registration_denied, "network denied registration"); return;
        default:
            // URCs are the fast path; this slow poll only covers a lost one.
            after(std::min(config_.status_poll, milliseconds(10s)),
                  [this] { query_registration([this] { evaluate_registration(); }); });
            return;
    }
}

void ModemController::on_registered() {
    reg_timeout_timer_->cancel();
    if (status_.failed_reason == FailedReason::registration_denied) status_.failed_reason = FailedReason::none;
    set_phase(Phase::attaching, std::string("registered ") + to_string(registration_.effective()));
    std::vector<Query> q;
    q.push_back({"AT+COPS=3,0", kQuery, nullptr});
    q.push_back({"AT+COPS?", kQuery, [this](const AtResult& r) {
                     if (auto op = parse_cops(r.value("+COPS:"))) {
                         status_.operator_name = op->name;
                         if (op->act && !registration_.knows_packet_act()) status_.access_tech = access_tech_from_act(*op->act);
                     }
                 }});
    q.push_back({"AT+COPS=3,2", kQuery, nullptr});
    q.push_back({"AT+COPS?", kQuery, [this](const AtResult& r) {
                     if (auto op = parse_cops(r.value("+COPS:"))) status_.operator_code = op->name;
                 }});
    run_all(std::move(q), [this] {
        if (auto tech = registration_.packet_access_tech()) status_.access_tech = *tech;
        publish();
        poll_signal();
        attach();
    });
}

void ModemController::attach() {
    send("AT+CGATT?", kQuery, [this](const AtResult& r) {
        if (r.ok() && r.value("+CGATT:").rfind('1', 0) == 0) {
            setup_pdp();
            return;
        }
        send("AT+CGATT=1", kCgatt, [this](const AtResult& a) {
            if (a.ok()) setup_pdp();
            else fail_command("attach (AT+CGATT=1)", a, FailedReason::none);
        });
    });
}

void ModemController::setup_pdp() {
    set_phase(Phase::pdp, "attached");
    status_.apn = config_.apn.name;
    run_required(
        vendor_->apn_commands(config_.apn, config_.cid), [this] { dial(); },
        [this](const AtStep& step, const AtResult& r) {
            fail_command("APN setup (" + redacted(step.command) + ")", r, FailedReason::pdp_rejected);
        });
}

void ModemController::dial() {
    set_phase(Phase::dialing, "APN " + config_.apn.name + " set");
    // After a daemon restart the bearer may still be up; starting it again fails on several vendors.
    send(vendor_->data_call_query(config_.cid), [this](const AtResult& r) {
        if (r.ok() && vendor_->parse_data_call_up(r, config_.cid).value_or(false)) {
            log::info("modem: data call already up");
            fetch_ip(kIpPolls);
            return;
        }
        run_required(
            vendor_->data_call_start(config_.cid), [this] { wait_data_call(kDataCallPolls); },
            [this](const AtStep& step, const AtResult& res) {
                if (res.status == AtStatus::timeout) {
                    fail_command("data call (" + redacted(step.command) + ")", res, FailedReason::pdp_rejected);
                    return;
                }
                // Some firmware dials by itself and refuses a second start (SIMCom A76xx): an
                // address on the context means the link is up whatever the start command said.
                send(vendor_->ip_query(config_.cid), [this, what = redacted(step.command), res](const AtResult& ip_reply) {
                    if (auto ip = ip_reply.ok() ? vendor_->parse_ip(ip_reply, config_.cid) : std::nullopt) {
                        query_context(*ip);
                    } else if (refused_as_unknown(res) && !traits_.vendor_dial_refused && vendor_->id() != Vendor::generic) {
                        // Not a network refusal: this firmware lacks the vendor's command (an EC25
                        // asked for the EC200's QNETDEVCTL). The 3GPP call works on every module.
                        log::warning("modem: ", what, " is unknown to this firmware (", describe(res), "); dialling with AT+CGACT");
                        traits_.vendor_dial_refused = true;
                        vendor_ = make_vendor_profile(vendor_->id(), traits_);
                        dial();
                    } else {
                        fail_command("data call (" + what + ")", res, FailedReason::pdp_rejected);
                    }
                });
            });
    });
}

void ModemController::wait_data_call(int polls_left) {
    send(vendor_->data_call_query(config_.cid), [this, polls_left](const AtResult& r) {
        const auto up = r.ok() ? vendor_->parse_data_call_up(r, config_.cid) : std::nullopt;
        if (up.value_or(false) || (r.ok() && !up)) {
            // Up, or a reply we cannot read: the IP query decides.
            fetch_ip(kIpPolls);
        } else if (polls_left > 1) {
            after(kDataCallPoll, [this, polls_left] { wait_data_call(polls_left - 1); });
        } else {
            recover(FailedReason::pdp_rejected, "data call did not come up within " +
                                                    duration_text(kDataCallPoll * kDataCallPolls));
        }
    });
}

void ModemController::fetch_ip(int polls_left) {
    send(vendor_->ip_query(config_.cid), [this, polls_left](const AtResult& r) {
        if (auto ip = r.ok() ? vendor_->parse_ip(r, config_.cid) : std::nullopt) {
            query_context(*ip);
        } else if (polls_left > 1) {
            after(kDataCallPoll, [this, polls_left] { fetch_ip(polls_left - 1); });
        } else {
            recover(FailedReason::pdp_rejected, "data call is up but the module reports no IP address");
        }
    });
}

// The settings a raw-ip link is configured with; a module without CGCONTRDP still connects.
void ModemController::query_context(const std::string& ip) {
    send("AT+CGCONTRDP=" + std::to_string(config_.cid), kQuery, [this, ip](const AtResult& r) {
        status_.context = r.ok() ? parse_cgcontrdp(r.lines, config_.cid).value_or(ContextSettings{}) : ContextSettings{};
        enter_connected(ip);
    });
}

void ModemController::data_link_failed(const std::string& why, bool permanent) {
    if (phase_ != Phase::connected) return;
    if (permanent) halt(FailedReason::no_netdev, why);
    else data_lost(why);
}

void ModemController::enter_connected(const std::string& ip) {
    reset_running_ = false;
    status_.ip_address = ip;
    status_.failed_reason = FailedReason::none;
    status_.recovery_step.clear();
    status_.last_error.clear();
    set_phase(Phase::connected, "IP " + ip);
    // The ladder starts from the bottom again only once the link has proven itself; a link that
    // drops right after coming up keeps climbing.
    stable_timer_->arm(std::max(config_.status_poll * 2, milliseconds(60s)));
    poll_timer_->arm(config_.status_poll);
    if (!signal_timer_->armed()) signal_timer_->arm(config_.signal_interval);
}

// ---------------------------------------------------------------------------------------------
// Status while up

void ModemController::poll_signal() {
    if (!at_.is_open() || phase_ == Phase::resetting || phase_ == Phase::waiting_port) return;
    auto round = std::make_shared<CellRound>();
    std::vector<Query> q;
    q.push_back({"AT+CSQ", kQuery, [this](const AtResult& r) {
                     if (auto s = r.ok() ? parse_csq(r.value("+CSQ:")) : std::nullopt) {
                         status_.rssi_dbm = s->rssi_dbm.value_or(0);
                         status_.signal_quality = static_cast<uint32_t>(s->percent);
                     }
                 }});
    if (has_cesq_)
        q.push_back({"AT+CESQ", kQuery, [this, round](const AtResult& r) {
                         if (!r.ok()) {
                             if (r.status != AtStatus::timeout) has_cesq_ = false;  // not every module has it
                             return;
                         }
                         if (auto c = cell_from_cesq(r.value("+CESQ:"))) round->take(*c);
                         // CSQ is coarse on LTE; RSRP is what the radio actually sees.
                         if (auto e = parse_cesq(r.value("+CESQ:")); e && e->rsrp_dbm)
                             status_.signal_quality = static_cast<uint32_t>(rsrp_to_percent(*e->rsrp_dbm));
                     }});
    add_cell_query(q, round);
    run_all(std::move(q), [this, round] {
        take_cell(*round);
        publish();
        if (seq_.consecutive_timeouts() >= kMaxConsecutiveTimeouts) {
            recover(FailedReason::no_response, "module stopped answering");
            return;
        }
        signal_timer_->arm(config_.signal_interval);
    });
}

void ModemController::add_cell_query(std::vector<Query>& q, const std::shared_ptr<CellRound>& round) {
    const auto step = vendor_ && has_cell_query_ ? serving_cell_query(vendor_->id()) : std::nullopt;
    if (!step) return;
    q.push_back({step->command, step->timeout, [this, round](const AtResult& r) {
                     if (r.status == AtStatus::error || r.status == AtStatus::cme_error) {
                         has_cell_query_ = false;  // firmware without it (older EC2x, A76xx)
                         return;
                     }
                     if (auto c = vendor_ ? parse_serving_cell(vendor_->id(), r) : std::nullopt) round->take(*c);
                 }});
}

// A round where nothing was heard (timeouts) keeps the last cell; otherwise the round's cell is
// the cell, and its RAT, when it names one, is the access technology right now.
void ModemController::take_cell(const CellRound& round) {
    if (!round.heard) return;
    status_.cell = round.cell;
    if (round.cell.rat != AccessTech::none) status_.access_tech = round.cell.rat;
}

void ModemController::poll_status() {
    if (phase_ != Phase::connected) return;
    query_registration([this] {
        if (seq_.consecutive_timeouts() >= kMaxConsecutiveTimeouts) {
            recover(FailedReason::no_response, "module stopped answering");
            return;
        }
        send(vendor_->data_call_query(config_.cid), [this](const AtResult& r) {
            if (r.ok() && vendor_->parse_data_call_up(r, config_.cid) == false) {
                data_lost("status poll found the data call down");
                return;
            }
            poll_timer_->arm(config_.status_poll);
        });
    });
}

// ---------------------------------------------------------------------------------------------
// Faults

void ModemController::fail_command(const std::string& what, const AtResult& r, FailedReason reason_if_error) {
    if (r.status == AtStatus::timeout) {
        recover(FailedReason::no_response, what + " timed out");
        return;
    }
    recover(reason_if_error, what + " failed: " + describe(r));
}

void ModemController::recover(FailedReason reason, const std::string& why) {
    cancel_pending();
    reset_running_ = false;
    if (reason == FailedReason::no_response) silent_ = true;
    if (reason != FailedReason::none) status_.failed_reason = reason;
    status_.ip_address.clear();
    status_.last_error = why;
    const RecoveryAction action = ladder_.next();
    ++status_.recoveries;
    status_.recovery_step = to_string(action.step);
    log::warning("modem: ", why, "; recovery step ", to_string(action.step), " #", action.attempt, " in ",
                 duration_text(action.delay));
    set_phase(Phase::backoff, why);
    publish();
    after(action.delay, [this, step = action.step] { run_recovery(step); });
    if (silent_) probe_silence();
}

void ModemController::run_recovery(RecoveryStep step) {
    const std::string why = std::string("recovery: ") + to_string(step);
    switch (step) {
        case RecoveryStep::none:
        case RecoveryStep::retry: begin_bringup(why); return;
        case RecoveryStep::reattach:
            set_phase(Phase::recovering, why);
            if (!vendor_) vendor_ = make_vendor_profile(Vendor::generic);
            send(into_silence(vendor_->data_call_stop(config_.cid)), [this, why](const AtResult&) {
                send(into_silence({"AT+CGATT=0", kCgatt}), [this, why](const AtResult&) { begin_bringup(why); });
            });
            return;
        case RecoveryStep::radio_cycle:
            set_phase(Phase::recovering, why);
            // CFUN=0 rather than 4: it also powers the SIM down, which clears more wedged states.
            send(into_silence({"AT+CFUN=0", kCfun}), [this, why](const AtResult&) {
                after(2s, [this, why] {
                    send(into_silence({"AT+CFUN=1", kCfun}), [this, why](const AtResult&) { begin_bringup(why); });
                });
            });
            return;
        case RecoveryStep::module_reset: do_reset(why); return;
    }
}

void ModemController::halt(FailedReason reason, const std::string& why) {
    cancel_pending();
    reset_running_ = false;
    status_.failed_reason = reason;
    status_.last_error = why;
    status_.recovery_step.clear();
    status_.ip_address.clear();
    log::error("modem: ", why, "; re-checking every ", duration_text(config_.recovery_backoff_max));
    set_phase(Phase::halted, why);
    publish();
    // Nothing here heals by retrying fast; a slow re-check notices a SIM swapped in or a network
    // that lifted its ban, and URCs (+CPIN, +CEREG) bring it back sooner.
    after(config_.recovery_backoff_max, [this] { begin_bringup("periodic re-check"); });
}

void ModemController::data_lost(const std::string& why) {
    if (phase_ != Phase::connected) return;
    recover(FailedReason::none, "data link lost: " + why);
}

void ModemController::do_reset(const std::string& why) {
    cancel_pending();
    reset_running_ = true;
    if (!vendor_) vendor_ = make_vendor_profile(config_.vendor.value_or(usb_vendor_.value_or(Vendor::generic)));
    ++status_.resets;
    status_.ip_address.clear();
    set_phase(Phase::resetting, why);
    port_timer_->arm(config_.port_return_timeout);
    auto step = into_silence(vendor_->reset_command());
    log::warning("modem: resetting the module (", step.command, ")");
    send(step, [this, why](const AtResult&) {
        // The module re-enumerates on USB; close our end so the transport waits for the new device
        // instead of talking to a dead fd.
        if (drop_port_) drop_port_(why);
    });
}

}  // namespace cellgate::modem
