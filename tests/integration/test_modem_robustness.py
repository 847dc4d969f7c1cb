#!/usr/bin/env python3
"""A module that says nothing, says garbage, or says far too much: the daemon must stay alive,
keep answering on D-Bus, report what it can, and never be fooled into wrong values."""

import time

from harness import IDENTITY, IMSI, IP, modem_case, run

def test_silent_module_fails_no_response_and_daemon_keeps_serving(args):
    with modem_case(args, "silence") as c:
        # AT times out (3 s) three times, one second apart, before the daemon gives up.
        p = c.wait_state("failed", 25, reason="no-response")
        assert p["LastError"], p
        assert c.gateway_state() == "offline", c.gateway_state()
        during = c.commands_during(8)
        assert len(during) < 30, f"{len(during)} commands in 8 s to a silent module: {during}"
        # The daemon is single-threaded: a D-Bus round trip must stay fast while AT commands time out.
        start = time.monotonic()
        for _ in range(5):
            c.props()
        assert time.monotonic() - start < 3.0, "D-Bus answers are slow while the module is silent"


def test_module_that_goes_silent_is_recovered_when_it_answers_again(args):
    with modem_case(args, "normal") as c:
        c.wait_state("connected", 20)
        c.sim.control("silence on")
        # The next signal/status polls (every 5 s) time out three times -> no-response.
        c.wait(lambda p: p["FailedReason"] == "no-response" or p["Recoveries"] >= 1, 40,
               "the daemon notices the module stopped answering")
        c.sim.control("silence off")
        p = c.wait_state("connected", 40)
        assert p["IpAddress"] == IP and p["FailedReason"] == "", p


def test_line_noise_does_not_corrupt_values(args):
    with modem_case(args, "noise") as c:
        p = c.wait_state("connected", 25)
        manufacturer, model, revision, imei, iccid = IDENTITY["generic"]
        got = {k: p[k] for k in ("Manufacturer", "Model", "Revision", "Imei", "Imsi", "Iccid", "Operator",
                                 "OperatorCode", "IpAddress")}
        want = {"Manufacturer": manufacturer, "Model": model, "Revision": revision, "Imei": imei, "Imsi": IMSI,
                "Iccid": iccid, "Operator": "CHINA MOBILE", "OperatorCode": "46000", "IpAddress": IP}
        bad = {k: (got[k], want[k]) for k in want if got[k] != want[k]}
        time.sleep(6)  # a few polls with noise in between
        p = c.props()
        assert p["State"] == "connected", p
        assert not bad, f"noise lines taken as values (got, want): {bad}"


def test_urc_burst_is_survived_without_recovery(args):
    with modem_case(args, "urc-burst") as c:
        c.wait_state("connected", 25)
        time.sleep(4)  # the second burst follows the data call by 0.5 s / SPEED; injected URCs trail on
        p = c.props()
        assert p["State"] == "connected" and p["IpAddress"] == IP, p
        assert p["Recoveries"] == 0, f"a consistent URC burst caused a recovery: {p}"
        assert "+CGEV: NW MODIFY" in c.sim.transcript()


def test_malformed_urcs_do_not_crash(args):
    junk = ["+CEREG: ", "+CEREG: 99999999999999999999999", '+CREG: 1,"', "+CGREG: ,,,,,,,,,,,,", "+CGEV:",
            "+CGEV: NW PDN DEACT 99999999999999999999", "+CGEV: ME PDN ACT", "+CPIN: ", "+CPIN:",
            "+QNETDEVSTATUS:", "^NDISSTAT:", "RDY RDY", "+CME ERROR: 99999999999999", "X" * 3000,
            "+COPS: 0,0,\"" + "A" * 500, "OK OK", "+CSQ: -1,-1"]
    with modem_case(args, "normal") as c:
        c.wait_state("connected", 20)
        for j in junk:
            c.sim.control("urc " + j)
        time.sleep(2)
        c.assert_alive()
        p = c.wait_state("connected", 30)
        assert p["IpAddress"] == IP, p


if __name__ == "__main__":
    run([
        test_silent_module_fails_no_response_and_daemon_keeps_serving,
        test_module_that_goes_silent_is_recovered_when_it_answers_again,
        test_line_noise_does_not_corrupt_values,
        test_urc_burst_is_survived_without_recovery,
        test_malformed_urcs_do_not_crash,
    ])
