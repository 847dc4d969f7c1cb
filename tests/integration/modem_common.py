"""Shared pieces of the test_modem_*.py files: one "case" = private bus + modemsim + real cellgated.

Cases in a file run in parallel threads (each has its own bus, simulator and daemon), so a file
takes about as long as its slowest case.
"""
import contextlib
import re
import sys
import threading
import time
import traceback

import harness
from harness import GATEWAY_IFACE, GATEWAY_PATH, MODEM_IFACE, MODEM_PATH, Daemon, PrivateBus, Simulator, wait_for

SPEED = 4.0  # every module delay divided by this
SANITIZER = re.compile(r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:")

# What each simulated vendor reports (tests/sim/simcore/vendors.py).
IDENTITY = {
    "generic": ("Generic Modem Inc", "GM-LTE1", "GM_LTE1_V1.0.3", "356938035643809", "89860012345678901234"),
    "quectel": ("Quectel", "EC25", "EC25EFAR06A06M4G", "867584030123456", "89860025128306012474"),
    "simcom": ("SIMCOM INCORPORATED", "SIMCOM_SIM7600E-H", "SIM7600M22_V2.0", "862636051234567", "89860318760220133897"),
    "luat": ("AirM2M", "Air780E", "AirM2M_780E_V1149_LTE_AT", "866714061234567", "89860321245570108745"),
    "huawei": ("Huawei Technologies Co., Ltd.", "ME909s-821", "11.617.01.00.00", "860461024123456", "89860113890138204233"),
}
IMSI = "460001234567890"
IP = "10.64.12.34"


class Case:
    def __init__(self, bus, sim, daemon):
        self.bus, self.sim, self.d = bus, sim, daemon

    def props(self):
        return self.bus.get_all(MODEM_PATH, MODEM_IFACE)

    def gateway_state(self):
        return self.bus.get_property(GATEWAY_PATH, GATEWAY_IFACE, "State")

    def wait(self, pred, timeout, what):
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

    def wait_state(self, state, timeout=20, reason=None):
        return self.wait(lambda p: p["State"] == state and (reason is None or p["FailedReason"] == reason),
                         timeout, f"State {state}" + (f"/{reason}" if reason else ""))

    def assert_alive(self):
        rc = self.d.proc.poll()
        assert rc is None, f"cellgated exited with {rc}"

    def commands_during(self, seconds):
        """AT commands the module received during the next `seconds`."""
        before = len(self.sim.history())
        time.sleep(seconds)
        return self.sim.history()[before:]

    def record(self):
        return Recorder(self)


class Recorder:
    """Samples (State, FailedReason, ...) in the background so short transitions are seen."""

    def __init__(self, case, keys=("State", "FailedReason")):
        self.case, self.keys, self.seen = case, keys, []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        wait_for(lambda: self.seen, 10, "first property sample")  # the baseline comes before the fault

    def _run(self):
        while not self._stop.is_set():
            try:
                p = self.case.props()
                v = tuple(p[k] for k in self.keys)
                if not self.seen or self.seen[-1] != v:
                    self.seen.append(v)
            except Exception:  # noqa: BLE001 - a poll may fail while the daemon is busy
                pass
            self._stop.wait(0.1)

    def stop(self):
        self._stop.set()
        self._t.join(5)
        return self.seen

    def states(self):
        return [v[0] for v in self.seen]


def summary(p):
    keys = ("State", "FailedReason", "Registration", "IpAddress", "Recoveries", "Resets", "RecoveryStep", "LastError")
    return {k: p[k] for k in keys if k in p}


@contextlib.contextmanager
def modem_case(args, scenario="normal", vendor="generic", pin=None, sim_pin=None, config_vendor=None,
               speed=SPEED, **timers):
    """Yields a Case with cellgated driving the simulator; afterwards checks the daemon stops cleanly
    (exit 0) and that no sanitizer complained in its log."""
    with PrivateBus(args.policy, keep=args.keep) as bus, \
            Simulator(args.sim, scenario, vendor=vendor, speed=speed, pin=sim_pin, keep=args.keep) as sim:
        config = harness.modem_config(sim.link, vendor=config_vendor, pin=pin, **timers)
        with Daemon(args.daemon, config, bus, keep=args.keep) as d:
            d.wait_ready(timeout=15)
            case = Case(bus, sim, d)
            yield case
            case.assert_alive()
            rc = d.stop(timeout=10)
            assert rc == 0, f"cellgated exited with {rc} on SIGTERM"
            m = SANITIZER.search(d.log())
            assert not m, "sanitizer report in the daemon log:\n" + d.log()[max(0, m.start() - 200):][:4000]


_print_lock = threading.Lock()


def run_parallel(cases, argv=None, workers=None):
    """Runs the case functions (each takes args) concurrently; prints one PASS/FAIL line per case,
    then "N passed, M failed"; exits 1 on any failure."""
    args = harness.parse_args(argv)
    cases = [c for c in cases if not args.only or args.only in c.__name__]
    results = {}

    def run(fn):
        start = time.monotonic()
        try:
            fn(args)
            ok, detail = True, ""
        except Exception:  # noqa: BLE001 - report every failure, keep going
            ok, detail = False, traceback.format_exc()
        results[fn.__name__] = ok
        with _print_lock:
            if detail:
                sys.stdout.write(detail)
            print(f"{'PASS' if ok else 'FAIL'} {fn.__name__} ({time.monotonic() - start:.1f}s)", flush=True)

    start = time.monotonic()
    pending = list(cases)
    active = []
    limit = workers or len(cases)
    while pending or active:
        while pending and len(active) < limit:
            t = threading.Thread(target=run, args=(pending.pop(0),))
            t.start()
            active.append(t)
        time.sleep(0.05)
        active = [t for t in active if t.is_alive()]
    passed = sum(1 for ok in results.values() if ok)
    failed = len(cases) - passed
    print(f"{passed} passed, {failed} failed ({time.monotonic() - start:.1f}s)", flush=True)
    sys.exit(1 if failed else 0)
