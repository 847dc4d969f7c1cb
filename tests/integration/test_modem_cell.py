#!/usr/bin/env python3
"""The serving cell on D-Bus: each vendor's own report (+CESQ for the generic module, Quectel
+QENG, SIMCom +CPSI, Huawei ^HCSQ, Luat +CCED) read at signal_interval, and the properties
following the simulated network when it moves the module to another cell, with PropertiesChanged."""

from harness import MODEM_IFACE, MODEM_PATH, DBusClient, modem_case, run

UNKNOWN_U, UNKNOWN_I = 4294967295, -2147483648

# The simulator's cells (tests/sim/simcore/cell.py) and what D-Bus shows for them.
FIRST = dict(Band="B3", Earfcn=1650, Pci=318, CellId="1ABCDEF", Tac="1A2B", Rsrp=-95, Rsrq=-11, Sinr=12)
SECOND = dict(Band="B1", Earfcn=100, Pci=301, CellId="1ABCDF0", Tac="1816", Rsrp=-101, Rsrq=-13, Sinr=4)
MOVE = "cell band=1 earfcn=100 pci=301 ci=0x1ABCDF0 tac=0x1816 rsrp=-101 rsrq=-13 sinr=4"
NOT_REPORTED = dict(Band="", Earfcn=UNKNOWN_U, Pci=UNKNOWN_U, CellId="", Tac="", Rsrp=0, Rsrq=0, Sinr=UNKNOWN_I)

# Which properties each dialect's report carries.
REPORTED = {
    "generic": ("Rsrp", "Rsrq"),
    "huawei": ("Rsrp", "Rsrq", "Sinr"),
    "luat": ("Band", "Earfcn", "Pci", "CellId", "Tac", "Rsrp", "Rsrq"),
    "quectel": tuple(FIRST),
    "simcom": tuple(FIRST),
}


def expected(cell, vendor):
    return {k: (cell[k] if k in REPORTED[vendor] else NOT_REPORTED[k]) for k in FIRST}


def vendor_case(vendor):
    def test(args):
        with modem_case(args, "normal", vendor=vendor) as c, DBusClient(c.bus.address) as client:
            changes = client.watch_properties(MODEM_PATH, MODEM_IFACE)
            c.wait_state("connected", 25)
            first = expected(FIRST, vendor)
            p = c.wait(lambda p: all(p[k] == v for k, v in first.items()), 15, f"{vendor}: the first cell")
            assert p["AccessTechnology"] == "lte", p["AccessTechnology"]

            assert c.sim.control(MOVE) == "ok"
            second = expected(SECOND, vendor)
            c.wait(lambda p: all(p[k] == v for k, v in second.items()), 15, f"{vendor}: the second cell")
            # Each change came with PropertiesChanged, carrying the new values.
            for name in REPORTED[vendor]:
                announced = [ch[name] for ch in list(changes) if name in ch]
                assert announced and announced[-1] == SECOND[name], f"{name}: PropertiesChanged carried {announced}"
            assert c.props()["State"] == "connected"
    test.__name__ = f"test_{vendor}_serving_cell_follows_the_network"
    return test


if __name__ == "__main__":
    run([vendor_case(v) for v in REPORTED])
