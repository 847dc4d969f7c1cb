// The bring-up state machine and its recovery: probe -> SIM -> registration -> attach -> PDP ->
// data call -> connected, driven entirely by AT results, URCs and timers on the event loop.
// It talks to the module only through AtTransport, so every transition is unit-tested with a
// scripted fake.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/loop.hpp"
#include "modem/at_sequence.hpp"
#include "modem/at_types.hpp"
#include "modem/modem_config.hpp"
#include "modem/modem_phase.hpp"
#include "modem/modem_status.hpp"
#include "modem/recovery_ladder.hpp"
#include "modem/registration.hpp"
#include "modem/serving_cell.hpp"
#include "modem/vendor.hpp"

namespace cellgate::modem {

class ModemController {
public:
    // `drop_port` closes the port on purpose after a module reset command so the transport starts
    // waiting for the device to re-enumerate.
    ModemController(Scheduler& sched, AtTransport& at, ModemConfig config,
                    std::function<void(const std::string&)> drop_port);
    ~ModemController();
    ModemController(const ModemController&) = delete;
    ModemController& operator=(const ModemController&) = delete;

    // Vendor learned from USB VID:PID when the port was located (before any AT).
    void set_usb_vendor(std::optional<Vendor> v) { usb_vendor_ = v; }
    // Asked at every bring-up with the port: the netdev the module offers, which chooses the dial.
    void set_netdev_kind(std::function<NetdevKind(const std::string& port)> f) { netdev_kind_ = std::move(f); }
    // The host could not use the data call: a rung on the recovery ladder, or, when retrying
    // cannot help (a USB mode without a network interface), a halt that says why.
    void data_link_failed(const std::string& why, bool permanent);
    void set_port_name(const std::string& port);
    // The transport could not open the port (`error` says why). While waiting for a first port
    // this is published as LastError; when `scanned` (port: auto found no module at all) also as
    // FailedReason port-missing. A port that went away is given port_return_timeout first.
    void port_unavailable(const std::string& error, bool scanned);
    // Starts bring-up if the port is open; otherwise waits for the transport's on_opened.
    void start();
    // Reboots the module now (D-Bus Reset()). A request while a reset runs joins that one.
    void reset();

    Phase phase() const { return phase_; }
    const ModemStatus& status() const { return status_; }
    std::function<void(const ModemStatus&)> on_change;

private:
    using Query = AtSequence::Query;

    // Plumbing (the sequencing itself is AtSequence).
    void send(std::string command, std::chrono::milliseconds timeout, AtCallback then) {
        seq_.send(std::move(command), timeout, std::move(then));
    }
    void send(const AtStep& step, AtCallback then) { seq_.send(step, std::move(then)); }
    void run_all(std::vector<Query> q, std::function<void()> done) { seq_.run_all(std::move(q), std::move(done)); }
    void run_required(std::vector<AtStep> steps, std::function<void()> done, AtSequence::StepFailed failed) {
        seq_.run_required(std::move(steps), std::move(done), std::move(failed));
    }
    void after(std::chrono::milliseconds delay, std::function<void()> fn) { seq_.after(delay, std::move(fn)); }
    // Drops every answer, wait and timer of the steps so far (a restart of the script).
    void cancel_pending();
    // The owner's timers, under the same guard as the AT continuations.
    std::unique_ptr<Timer> make_timer(const char* step, std::function<void()> fn);
    void set_phase(Phase next, const std::string& reason);
    ModemState derived_state() const;
    void publish();

    // Bring-up.
    void begin_bringup(const std::string& reason);
    void probe();
    void probe_identity();
    void check_sim();
    void enter_pin();
    void sim_ready();
    void start_registration();
    void query_registration(std::function<void()> done);
    void evaluate_registration();
    void on_registered();
    void attach();
    void setup_pdp();
    void dial();
    void wait_data_call(int polls_left);
    void fetch_ip(int polls_left);
    void query_context(const std::string& ip);
    void enter_connected(const std::string& ip);

    // Status while up.
    void poll_signal();
    // One signal poll's view of the serving cell: +CESQ, then the vendor's report over it.
    struct CellRound {
        ServingCell cell;
        bool heard = false;
        void take(const ServingCell& c) {
            cell = heard ? merged(cell, c) : c;
            heard = true;
        }
    };
    void add_cell_query(std::vector<Query>& q, const std::shared_ptr<CellRound>& round);
    void take_cell(const CellRound& round);
    void poll_status();

    // Faults.
    void recover(FailedReason reason, const std::string& why);
    void run_recovery(RecoveryStep step);
    void halt(FailedReason reason, const std::string& why);
    void data_lost(const std::string& why);
    void do_reset(const std::string& why);
    void fail_command(const std::string& what, const AtResult& r, FailedReason reason_if_error);

    // Silence: the module stopped answering altogether.
    void probe_silence();
    void module_answers_again(const std::string& how);
    // A recovery command for a module that has said nothing since it went silent.
    AtStep into_silence(AtStep step) const;

    // Transport events.
    void handle_opened();
    void handle_heard();
    void handle_lost(const std::string& why);
    void handle_urc(const std::string& line);
    void handle_registration_urc(const std::string& line);
    void handle_packet_event(const std::string& line);
    void handle_sim_urc(const std::string& line);
    void handle_boot_banner(const std::string& line);

    Scheduler& sched_;
    AtTransport& at_;
    ModemConfig config_;
    std::function<void(const std::string&)> drop_port_;
    AtSequence seq_;

    std::unique_ptr<VendorProfile> vendor_;
    std::optional<Vendor> usb_vendor_;
    std::function<NetdevKind(const std::string&)> netdev_kind_;
    ModuleTraits traits_;
    Phase phase_ = Phase::waiting_port;
    ModemStatus status_;
    ModemStatus published_;
    RecoveryLadder ladder_;
    RegistrationTracker registration_;

    std::unique_ptr<Timer> signal_timer_;
    std::unique_ptr<Timer> poll_timer_;
    std::unique_ptr<Timer> reg_timeout_timer_;
    std::unique_ptr<Timer> grace_timer_;
    std::unique_ptr<Timer> stable_timer_;
    std::unique_ptr<Timer> port_timer_;
    std::unique_ptr<Timer> silence_probe_timer_;
    std::unique_ptr<Timer> revive_timer_;

    int probe_tries_ = 0;
    int sim_busy_tries_ = 0;
    int pin_wait_tries_ = 0;
    bool has_cesq_ = true;
    // Cleared when the vendor's serving-cell query answers ERROR: the firmware lacks it.
    bool has_cell_query_ = true;
    // The module took AT+C5GREG=2 (a 5G module): its 5G-core registration is read too.
    bool has_c5greg_ = false;
    // Once the SIM has refused our PIN we never send it again in this daemon's life: each try
    // burns one of three attempts, and a PUK-locked SIM needs a site visit.
    bool pin_rejected_ = false;
    bool pin_sent_ = false;
    // Recovery started because the module stopped answering, and no line has come from it since.
    bool silent_ = false;
    // From the reset command until the bring-up after it ends (connected, or failed again): a
    // Reset() meanwhile would only reboot a module that is already rebooting or barely back.
    bool reset_running_ = false;
    // Why the port could not be opened, last time it was tried.
    std::string port_error_;
    Clock::time_point opened_at_{};
};

}  // namespace cellgate::modem
