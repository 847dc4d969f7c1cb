#!/usr/bin/env python3
"""Bring-up of the real cellgated against the simulated module: the whole happy path over D-Bus,
SIM PIN entry from the config (and the PIN never logged), and a slow network."""

from harness import IDENTITY, IMSI, IP, modem_case, run

PIN = "86429753"  # distinctive, so finding it anywhere in the log is meaningful


def test_normal_generic_connects_and_publishes_everything(args):
    with modem_case(args, "normal") as c:
        p = c.wait_state("connected", 20)
        manufacturer, model, revision, imei, iccid = IDENTITY["generic"]
        expected = {
            "State": "connected", "FailedReason": "", "Vendor": "generic", "Port": c.sim.link,
            "Manufacturer": manufacturer, "Model": model, "Revision": revision,
            "Imei": imei, "Imsi": IMSI, "Iccid": iccid,  # ICCID decoded from AT+CRSM's swapped BCD
            "Registration": "home", "AccessTechnology": "lte",
            "Operator": "CHINA MOBILE", "OperatorCode": "46000",
            "Apn": "cmnet", "IpAddress": IP, "Resets": 0, "Recoveries": 0, "RecoveryStep": "", "LastError": "",
        }
        wrong = {k: (p.get(k), v) for k, v in expected.items() if p.get(k) != v}
        assert not wrong, f"(got, expected): {wrong}"
        # +CESQ rsrp 46 = -95 dBm (the simulated cell); +CSQ 24 = -65 dBm
        assert 0 < p["SignalQuality"] <= 100, p["SignalQuality"]
        assert p["Rssi"] == -65, p["Rssi"]
        c.bus.wait_property("/org/cellgate/Gateway1", "org.cellgate.Gateway1", "State", "online", 5)
        s = c.sim.state()
        assert s["echo"] is False and s["cmee"] == 1, f"daemon left echo/CMEE as {s['echo']}/{s['cmee']}"
        assert s["reg_n"] == {"+CREG": 2, "+CGREG": 2, "+CEREG": 2}, s["reg_n"]
        assert s["cgerep"][0] in (1, 2), s["cgerep"]
        assert s["data_call"] and s["apn"] == "cmnet", s
        h = c.sim.history()
        for cmd in ("AT", "ATE0", "AT+CMEE=1", 'AT+CGDCONT=1,"IP","cmnet"', "AT+CGACT=1,1", "AT+CGPADDR=1"):
            assert cmd in h, f"{cmd} never sent; history {h}"
        assert h.index("ATE0") < h.index("AT+CGMI"), "echo must be off before identity queries"
        assert h.index("AT+CPIN?") < h.index("AT+CIMI") < h.index("AT+CGACT=1,1")
        # Periodic polls keep the link checked but do not flood the module.
        during = c.commands_during(6)
        assert "AT+CSQ" in during, f"no signal poll within 6 s (signal_interval 5s): {during}"
        assert len(during) < 40, f"{len(during)} commands in 6 s while connected: {during}"


def test_pin_from_config_unlocks_and_is_never_logged(args):
    with modem_case(args, "pin-required", pin=PIN, sim_pin=PIN) as c:
        c.wait_state("connected", 25)
        entries = c.sim.history().count(f'AT+CPIN="{PIN}"')
        assert entries == 1, f"PIN entered {entries} times"
        # After a module reboot the SIM is locked again: the PIN must be entered once more.
        c.bus.call("/org/cellgate/Gateway1/Modem", "org.cellgate.Gateway1.Modem", "Reset")
        c.wait(lambda p: p["State"] == "connected" and p["IpAddress"] == "10.64.12.35", 30, "connected after reset")
        entries = c.sim.history().count(f'AT+CPIN="{PIN}"')
        assert entries == 2, f"PIN entered {entries} times in two boots"
        log = c.d.log()
        assert PIN not in log, "the SIM PIN appears in the daemon log"
        with open(c.d.config_path) as f:
            assert PIN in f.read()  # the check above is meaningful: the daemon had the PIN


def test_slow_registration_searches_then_connects(args):
    # The module needs 20 s / SPEED = 5 s to register; registration_timeout is 10 s.
    with modem_case(args, "slow-reg") as c:
        rec = c.record()
        c.wait_state("searching", 15)
        p = c.props()
        assert p["Registration"] == "searching", p["Registration"]
        c.wait_state("connected", 25)
        rec.stop()
        seen = rec.values()
        assert ("searching", "") in seen, seen
        p = c.props()
        assert p["Recoveries"] == 0, f"recovery started while the network was merely slow: {p}"


if __name__ == "__main__":
    run([
        test_normal_generic_connects_and_publishes_everything,
        test_pin_from_config_unlocks_and_is_never_logged,
        test_slow_registration_searches_then_connects,
    ])
