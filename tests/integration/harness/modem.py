"""One modem case: a private bus, the simulator and cellgated driving it; and what each
simulated module reports."""

from __future__ import annotations

import contextlib
import time

from .bus import GATEWAY_IFACE, GATEWAY_PATH, MODEM_IFACE, MODEM_PATH, PrivateBus
from .config_yaml import modem_config
from .daemon import Daemon, assert_clean_stop
from .props import PropertySampler
from .run import wait_for
from .sim import Simulator

SPEED = 4.0  # every module delay divided by this

# What each simulated vendor reports (tests/sim/simcore/vendors.py).
IDENTITY = {
    "generic": ("Generic Modem Inc", "GM-LTE1", "GM_LTE1_V1.0.3", "356938035643809", "89860012345678901234"),
    "quectel": ("Quectel", "EC200A", "EC200AEUHAR01A03M16", "867584030123456", "89860025128306012474"),
    "quectel-ec25": ("Quectel", "EC25", "EC25EFAR06A06M4G", "867584030123456", "89860025128306012474"),
    "simcom": ("SIMCOM INCORPORATED", "SIMCOM_SIM7600E-H", "SIM7600M22_V2.0", "862636051234567", "89860318760220133897"),
    "luat": ("AirM2M", "Air780E", "AirM2M_780E_V1149_LTE_AT", "866714061234567", "89860321245570108745"),
    "huawei": ("Huawei Technologies Co., Ltd.", "ME909s-821", "11.617.01.00.00", "860461024123456", "89860113890138204233"),
}
IMSI = "460001234567890"
IP = "10.64.12.34"


def summary(p: dict) -> dict:
    keys = ("State", "FailedReason", "Registration", "IpAddress", "Recoveries", "Resets", "RecoveryStep", "LastError")
    return {k: p[k] for k in keys if k in p}


class ModemCase:
    """What modem_case() yields: .bus, .sim (the Simulator), .d (the Daemon)."""

    def __init__(self, bus, sim, daemon):
        self.bus, self.sim, self.d = bus, sim, daemon

    def props(self) -> dict:
        return self.bus.get_all(MODEM_PATH, MODEM_IFACE)

    def gateway_state(self) -> str:
        return self.bus.get_property(GATEWAY_PATH, GATEWAY_IFACE, "State")

    def wait(self, pred, timeout, what) -> dict:
        """Polls the Modem properties until pred(props) holds; the error shows the last ones seen."""
        last = {}

        def check():
            self.assert_alive()
            last.clear()
            last.update(self.props())
            return pred(last)
        try:
            wait_for(check, timeout, what, interval=0.1)
        except TimeoutError as e:
            raise AssertionError(f"{e}; last Modem properties: {summary(last)}") from None
        return dict(last)

    def wait_state(self, state, timeout=20, reason=None) -> dict:
        return self.wait(lambda p: p["State"] == state and (reason is None or p["FailedReason"] == reason),
                         timeout, f"State {state}" + (f"/{reason}" if reason else ""))

    def assert_alive(self) -> None:
        rc = self.d.proc.poll()
        assert rc is None, f"cellgated exited with {rc}"

    def commands_during(self, seconds) -> list:
        """AT commands the module received during the next `seconds`."""
        before = len(self.sim.history())
        time.sleep(seconds)
        return self.sim.history()[before:]

    def record(self) -> PropertySampler:
        """Samples (State, FailedReason) in the background so short transitions are seen;
        stop() it, then values() lists them."""
        return PropertySampler(self.bus, [(MODEM_PATH, MODEM_IFACE, "State"),
                                          (MODEM_PATH, MODEM_IFACE, "FailedReason")], interval=0.1)


@contextlib.contextmanager
def modem_case(args, scenario="normal", vendor="generic", pin=None, sim_pin=None, config_vendor=None,
               speed=SPEED, **timers):
    """Yields a ModemCase with cellgated driving the simulator; a clean exit ends with
    assert_clean_stop()."""
    with PrivateBus(args.policy, keep=args.keep) as bus, \
            Simulator(args.sim, scenario, vendor=vendor, speed=speed, pin=sim_pin, keep=args.keep) as sim:
        config = modem_config(sim.link, vendor=config_vendor, pin=pin, **timers)
        with Daemon(args.daemon, config, bus, keep=args.keep) as d:
            d.wait_ready(timeout=15)
            case = ModemCase(bus, sim, d)
            yield case
            assert_clean_stop(d)
