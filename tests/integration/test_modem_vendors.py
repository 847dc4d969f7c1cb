#!/usr/bin/env python3
"""Every vendor dialect end to end: detection from AT+CGMI, the exact APN/auth, dial, query, ICCID
and reset commands of the vendor's AT command manual, the vendor's own data-lost URC, and the APN
password never reaching the log."""

from harness import IDENTITY, IMSI, IP, modem_case, run

USER, PASSWORD = "iotuser", "Pw4sim-only"

# vendor: (commands the bring-up must send, reset command, vendor URC meaning "data lost")
DIALECT = {
    "generic": (['AT+CGDCONT=1,"IP","cmnet"', f'AT+CGAUTH=1,2,"{USER}","{PASSWORD}"', "AT+CGACT=1,1",
                 "AT+CGACT?", "AT+CGPADDR=1", "AT+CRSM=176,12258,0,0,10"], "AT+CFUN=1,1", None),
    "quectel": ([f'AT+QICSGP=1,1,"cmnet","{USER}","{PASSWORD}",2', "AT+QNETDEVCTL=1,1,1", "AT+QNETDEVCTL?",
                 "AT+CGPADDR=1", "AT+QCCID"], "AT+CFUN=1,1", "+QNETDEVSTATUS: 0"),
    "simcom": (['AT+CGDCONT=1,"IP","cmnet"', f'AT+CGAUTH=1,2,"{PASSWORD}","{USER}"', "AT$QCRMCALL=1,1",
                "AT+CGPADDR=1", "AT+CICCID"], "AT+CRESET", None),
    "luat": ([f'AT+CPNETAPN=2,"cmnet","{USER}","{PASSWORD}",2', "AT+RNDISCALL=1", "AT+CGACT?",
              "AT+CGPADDR=1", "AT+CCID"], "AT+RESET", None),
    "huawei": (['AT+CGDCONT=1,"IP","cmnet"', f'AT^NDISDUP=1,1,"cmnet","{USER}","{PASSWORD}",2',
                "AT^NDISSTATQRY?", "AT+CGPADDR=1", "AT^ICCID?"], "AT^RESET", '^NDISSTAT: 0,,,"IPV4"'),
}


def vendor_case(vendor):
    def test(args):
        with modem_case(args, "normal", vendor=vendor, user=USER, password=PASSWORD, auth="chap") as c:
            p = c.wait_state("connected", 25)
            manufacturer, model, revision, imei, iccid = IDENTITY[vendor]
            got = {k: p[k] for k in ("Vendor", "Manufacturer", "Model", "Revision", "Imei", "Imsi", "Iccid",
                                     "IpAddress", "Registration", "AccessTechnology")}
            want = {"Vendor": vendor, "Manufacturer": manufacturer, "Model": model, "Revision": revision,
                    "Imei": imei, "Imsi": IMSI, "Iccid": iccid, "IpAddress": IP, "Registration": "home",
                    "AccessTechnology": "lte"}
            assert got == want, f"got {got}, want {want}"
            expected, reset, lost_urc = DIALECT[vendor]
            history = c.sim.history()
            missing = [x for x in expected if x not in history]
            assert not missing, f"{vendor}: never sent {missing}; history {history}"
            assert PASSWORD not in c.d.log(), "the APN password appears in the daemon log"

            if lost_urc:
                before = c.props()["Recoveries"]
                c.sim.control("urc " + lost_urc)
                c.wait(lambda p: p["Recoveries"] > before, 10, f"recovery after {lost_urc!r}")
                c.wait_state("connected", 30)

            c.bus.call("/org/cellgate/Gateway1/Modem", "org.cellgate.Gateway1.Modem", "Reset")
            c.wait(lambda p: p["Resets"] == 1, 5, "Resets == 1")
            c.wait(lambda p: p["State"] == "connected" and p["IpAddress"] == "10.64.12.35", 30,
                   "connected after the reset")
            assert reset in c.sim.history(), f"{vendor} reset should be {reset}"
            assert c.sim.state()["reboots"] == 1
    test.__name__ = f"test_{vendor}_dialect_end_to_end"
    return test


def test_quectel_ec25_connects_without_the_ec200_dial(args):
    """The EC25 (the usual Pi HAT module) has no QNETDEVCTL: its ECM call is the 3GPP one. It
    must connect at once, not climb the recovery ladder to module resets."""
    with modem_case(args, "normal", vendor="quectel-ec25") as c:
        p = c.wait_state("connected", 25)
        assert (p["Vendor"], p["Model"]) == ("quectel", "EC25"), p
        assert p["Recoveries"] == 0 and p["Resets"] == 0, p
        history = c.sim.history()
        assert "AT+CGACT=1,1" in history, history
        assert not any(x.startswith("AT+QNETDEVCTL=") for x in history), history


if __name__ == "__main__":
    run([vendor_case(v) for v in DIALECT] + [test_quectel_ec25_connects_without_the_ec200_dial])
