#!/usr/bin/env python3
"""Faults that recovery must heal without anyone restarting the daemon: a rejected data call
(ladder climbs, slowly), the module rebooting on its own or on Reset(), the network dropping the
data call, coverage loss, and the USB device vanishing."""

import os
import time

from harness import IP, Daemon, PrivateBus, Simulator, modem_case, modem_config, run, wait_for

IP_AFTER_ONE_REBOOT = "10.64.12.35"  # the simulator hands out a new address per boot


def test_pdp_rejected_climbs_the_ladder_slowly(args):
    with modem_case(args, "pdp-fail") as c:
        p = c.wait_state("failed", 20, reason="pdp-rejected")
        assert "133" in p["LastError"] or "subscribed" in p["LastError"], p["LastError"]
        assert p["RecoveryStep"], "RecoveryStep should name the ladder step"
        first = p["Recoveries"]
        assert first >= 1, p
        during = c.commands_during(10)
        later = c.props()
        assert later["Recoveries"] > first, f"ladder did not climb: {first} -> {later['Recoveries']}"
        # backoff 1 s doubling to 4 s: a handful of bring-ups (~30 commands each) in 10 s, not a flood
        assert len(during) < 120, f"{len(during)} commands in 10 s: tight loop? {during[:60]}"
        # retry x2, reattach, radio-cycle x2, then a module reset: gentle first, the reset last.
        c.wait(lambda p: p["Resets"] >= 1, 60, "the ladder reaching the module reset")
        h = c.sim.history()
        order = [h.index(x) if x in h else None for x in ("AT+CGATT=0", "AT+CFUN=0", "AT+CFUN=1,1")]
        assert None not in order and order == sorted(order), f"ladder order (CGATT=0, CFUN=0, CFUN=1,1): {order}"
        wait_for(lambda: c.sim.state()["reboots"] >= 1, 5, "the module rebooting")
        assert c.props()["State"] != "connected"


def test_spontaneous_reboot_is_noticed_and_healed(args):
    with modem_case(args, "reboot") as c:
        c.wait_state("connected", 20)
        rec = c.record()
        # The module reboots 3 s / SPEED after the call is up; its port is gone for 2 s / SPEED.
        c.wait(lambda p: p["State"] == "connected" and p["IpAddress"] == IP_AFTER_ONE_REBOOT, 30,
               "connected again with the new address")
        rec.stop()
        seen = rec.values()
        assert c.sim.state()["reboots"] == 1
        states = [s for s, _ in seen]
        assert any(s != "connected" for s in states), f"the reboot went unnoticed: {seen}"
        assert c.d.log().count("starting (config") == 1, "the daemon restarted"
        assert "port lost" in c.d.log() or "RDY" in c.d.log(), "no trace of the lost port in the log"


def test_dbus_reset_reboots_module_and_reconnects(args):
    with modem_case(args, "normal") as c:
        c.wait_state("connected", 20)
        pid = c.d.proc.pid
        rec = c.record()
        c.bus.call("/org/cellgate/Gateway1/Modem", "org.cellgate.Gateway1.Modem", "Reset")
        c.wait(lambda p: p["Resets"] == 1, 5, "Resets == 1")
        c.wait(lambda p: p["State"] == "connected" and p["IpAddress"] == IP_AFTER_ONE_REBOOT, 30,
               "connected after the reset")
        rec.stop()
        states = [s for s, _ in rec.values()]
        assert "resetting" in states, states
        assert "AT+CFUN=1,1" in c.sim.history()
        assert c.sim.state()["reboots"] == 1
        assert c.d.proc.pid == pid and c.d.proc.poll() is None


def test_network_deactivation_is_recovered(args):
    with modem_case(args, "normal") as c:
        c.wait_state("connected", 20)
        rec = c.record()
        before = len(c.sim.history())
        c.sim.control("deact")
        c.wait(lambda p: p["Recoveries"] >= 1, 10, "a recovery step after the deactivation")
        c.wait(lambda p: p["State"] == "connected" and p["IpAddress"] == IP, 30, "connected again")
        rec.stop()
        states = [s for s, _ in rec.values()]
        assert states[0] == "connected" and any(s != "connected" for s in states), states
        after = c.sim.history()[before:]
        assert any(x.startswith("AT+CGACT=1") for x in after), f"data call never restarted: {after}"


def test_coverage_gap_within_grace_needs_no_recovery(args):
    with modem_case(args, "normal", registration_grace="10s") as c:
        c.wait_state("connected", 20)
        c.sim.control("deregister")
        c.wait(lambda p: p["Registration"] == "searching", 10, "Registration searching")
        time.sleep(2)
        c.sim.control("register")
        p = c.wait(lambda p: p["Registration"] == "home", 10, "Registration home again")
        time.sleep(1)
        p = c.props()
        assert p["State"] == "connected" and p["Recoveries"] == 0, p


def test_lasting_coverage_loss_starts_recovery(args):
    with modem_case(args, "normal") as c:  # registration_grace 5 s
        c.wait_state("connected", 20)
        c.sim.control("deregister")
        c.wait(lambda p: p["Recoveries"] >= 1, 15, "recovery after the grace period")
        assert c.props()["State"] != "connected"
        c.sim.control("register")
        c.wait_state("connected", 40)


def test_boot_banner_on_an_open_port_restarts_bringup(args):
    # A module that rebooted without its port vanishing (watchdog) only says "RDY"; the daemon
    # ignores banners in the first 15 s after opening the port, so wait that out first.
    with modem_case(args, "normal", vendor="quectel") as c:
        c.wait_state("connected", 20)
        time.sleep(16)
        before = len(c.sim.history())
        c.sim.control("urc RDY")
        wait_for(lambda: "AT+CGPADDR=1" in c.sim.history()[before:], 20, "bring-up re-run after RDY")
        c.wait(lambda p: p["State"] == "connected" and p["IpAddress"] == IP, 20, "connected again")
        after = c.sim.history()[before:]
        assert after[:2] == ["AT", "ATE0"] and "AT+QNETDEVCTL?" in after, after
        # The call was still up in the module: found by the query, not dialled a second time.
        assert "AT+QNETDEVCTL=1,1,1" not in after, f"dialled again although the call was up: {after}"
        assert c.props()["Recoveries"] == 0


def test_daemon_restart_finds_the_call_up(args):
    with PrivateBus(args.policy) as bus, Simulator(args.sim, "normal") as sim:
        config = modem_config(sim.link)
        for n in (1, 2):
            before = len(sim.history())
            with Daemon(args.daemon, config, bus) as d:
                d.wait_ready(15)
                wait_for(lambda: bus.get_property("/org/cellgate/Gateway1/Modem", "org.cellgate.Gateway1.Modem",
                                                  "IpAddress") == IP, 20, f"run {n} connected")
                assert d.stop(timeout=10) == 0
        after = sim.history()[before:]
        assert "AT+CGACT?" in after and "AT+CGACT=1,1" not in after, f"second run re-dialled: {after}"
        assert sim.state()["data_call"]


def test_unplugged_port_reported_and_replug_reconnects(args):
    with modem_case(args, "normal", port_return_timeout="5s") as c:
        c.wait_state("connected", 20)
        c.sim.control("unplug")
        assert not os.path.lexists(c.sim.link)
        c.wait(lambda p: p["State"] in ("absent", "failed") and p["IpAddress"] == "", 10, "port gone")
        c.wait(lambda p: p["FailedReason"] == "port-missing", 15, "port-missing after port_return_timeout")
        c.sim.control("plug")
        p = c.wait_state("connected", 30)
        assert p["FailedReason"] == "", p


if __name__ == "__main__":
    run([
        test_pdp_rejected_climbs_the_ladder_slowly,
        test_spontaneous_reboot_is_noticed_and_healed,
        test_dbus_reset_reboots_module_and_reconnects,
        test_network_deactivation_is_recovered,
        test_coverage_gap_within_grace_needs_no_recovery,
        test_lasting_coverage_loss_starts_recovery,
        test_unplugged_port_reported_and_replug_reconnects,
        test_boot_banner_on_an_open_port_restarts_bringup,
        test_daemon_restart_finds_the_call_up,
    ])
