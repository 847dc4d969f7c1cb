"""The one test runner, and the one polling wait.

Every test file ends with `run([test_a, test_b, ...])`; CTest invokes it as
    python3 test_x.py --daemon PATH --sim PATH --policy PATH [--keep] [-k NAME]
Each test is a function taking the parsed arguments that fails by raising.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
import traceback


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="a cellgated integration test")
    p.add_argument("--daemon", required=True, help="path to the built cellgated")
    p.add_argument("--sim", required=True, help="path to tests/sim/modemsim.py")
    p.add_argument("--policy", required=True, help="path to the shipped D-Bus policy file")
    p.add_argument("--keep", action="store_true", help="keep temp dirs for debugging")
    p.add_argument("-k", dest="only", default=None, help="run only tests whose name contains this")
    return p.parse_args(argv)


def run(tests, argv=None, workers: int | None = None) -> None:
    """Runs the tests, at most `workers` at a time (default: all at once; each builds its own bus,
    daemon and brokers, so a file takes about as long as its slowest test). workers=1 runs them in
    order, for files whose tests share state. Prints one PASS/FAIL line per test and a summary;
    exits 1 if any failed."""
    args = parse_args(argv)
    tests = [t for t in tests if not args.only or args.only in t.__name__]
    failed = []
    print_lock = threading.Lock()

    def one(test):
        start = time.monotonic()
        try:
            test(args)
            detail = ""
        except Exception:  # noqa: BLE001 - report every failure, keep going
            detail = traceback.format_exc()
        with print_lock:
            if detail:
                failed.append(test.__name__)
                sys.stdout.write(detail)
            print(f"{'FAIL' if detail else 'PASS'} {test.__name__} ({time.monotonic() - start:.1f}s)", flush=True)

    start = time.monotonic()
    pending, active = list(tests), []
    limit = workers or max(1, len(tests))
    while pending or active:
        while pending and len(active) < limit:
            t = threading.Thread(target=one, args=(pending.pop(0),))
            t.start()
            active.append(t)
        time.sleep(0.05)
        active = [t for t in active if t.is_alive()]
    print(f"{len(tests) - len(failed)} passed, {len(failed)} failed ({time.monotonic() - start:.1f}s)"
          + (": " + ", ".join(failed) if failed else ""), flush=True)
    sys.exit(1 if failed else 0)


def wait_for(predicate, timeout: float = 10.0, what: str = "condition", interval: float = 0.05):
    """Polls predicate() until it returns something truthy, and returns that; raises TimeoutError
    (naming `what` and the last exception the predicate raised) when `timeout` s pass first."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - a poll may fail until the daemon is up
            last_exc = e
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_exc})" if last_exc else ""
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}{detail}")
        time.sleep(interval)
