#!/usr/bin/env python3
"""Conditions retrying cannot fix: no SIM, a PIN or PUK lock, a network that denies registration.
The daemon must say exactly why, never burn PIN attempts, and re-check slowly instead of hammering."""

from harness import modem_case, run

# recovery_backoff_max is 4 s in the test config, so a halted modem re-runs bring-up (up to 18
# commands) at most every 4 s: at most ~60 commands in 10 s. A tight loop would send thousands.
MAX_COMMANDS_IN_10S = 80


def assert_quiet(c, what):
    during = c.commands_during(10)
    assert len(during) <= MAX_COMMANDS_IN_10S, f"{what}: {len(during)} commands in 10 s: {during[:80]}"
    return during


def test_no_sim_fails_sim_missing_without_hammering(args):
    with modem_case(args, "no-sim") as c:
        p = c.wait_state("failed", 20, reason="sim-missing")
        assert p["Imsi"] == "" and p["IpAddress"] == "", p
        assert p["LastError"], "LastError should say why"
        assert c.gateway_state() == "offline", c.gateway_state()
        during = assert_quiet(c, "no SIM")
        assert not any(x.startswith(("AT+CGACT", "AT+CGATT=1")) for x in during), during
        assert c.props()["FailedReason"] == "sim-missing"


def test_pin_required_without_configured_pin_is_locked(args):
    with modem_case(args, "pin-required") as c:
        p = c.wait(lambda p: p["State"] in ("locked", "failed") and p["FailedReason"] == "sim-pin-required",
                   20, "locked / sim-pin-required")
        assert p["State"] == "locked", p["State"]
        assert_quiet(c, "PIN lock")
        tries = [x for x in c.sim.history() if x.startswith("AT+CPIN=")]
        assert not tries, f"daemon entered a PIN it was not given: {tries}"


def test_wrong_pin_is_tried_once_only(args):
    with modem_case(args, "pin-required", pin="0000", sim_pin="4321") as c:
        c.wait(lambda p: p["FailedReason"] == "sim-pin-required", 20, "sim-pin-required")
        assert_quiet(c, "wrong PIN")
        tries = [x for x in c.sim.history() if x.startswith("AT+CPIN=")]
        assert len(tries) == 1, f"a rejected PIN must not be retried (it burns SIM attempts): {tries}"
        assert c.sim.state()["sim"] == "pin", "the SIM should still have attempts left"
        assert "0000" not in c.d.log(), "the PIN appears in the daemon log"


def test_puk_required_is_locked(args):
    with modem_case(args, "puk-required", pin="1234") as c:
        p = c.wait(lambda p: p["FailedReason"] == "sim-puk-required", 20, "sim-puk-required")
        assert p["State"] == "locked", p["State"]
        assert_quiet(c, "PUK lock")
        tries = [x for x in c.sim.history() if x.startswith("AT+CPIN=")]
        assert not tries, f"a PIN sent to a PUK-locked SIM: {tries}"


def test_registration_denied_fails(args):
    with modem_case(args, "reg-denied") as c:
        p = c.wait_state("failed", 20, reason="registration-denied")
        assert p["Registration"] == "denied", p["Registration"]
        during = assert_quiet(c, "registration denied")
        assert not any(x.startswith("AT+CGACT=1") for x in during), during


if __name__ == "__main__":
    run([
        test_no_sim_fails_sim_missing_without_hammering,
        test_pin_required_without_configured_pin_is_locked,
        test_wrong_pin_is_tried_once_only,
        test_puk_required_is_locked,
        test_registration_denied_fails,
    ])
