#!/usr/bin/env python3
"""Two daemons on one outbox. A second cellgated (on another bus, so its bus name does not stop it)
given the outbox file another one has open refuses to start, at once, with exit status 73 and a
message that says why; the first goes on undisturbed. Once the first has stopped (cleanly, or
killed with SIGKILL: the lock goes with the process) the second starts on the same file."""

import os
import shutil
import signal
import time

from brokers import free_port
from harness import Daemon, PrivateBus, assert_clean_stop, bridge_config, make_workdir, run, wait_for

EX_CANTCREAT = 73


def config(box):
    sessions = [dict(name="lab", platform="generic", endpoint=f"127.0.0.1:{free_port()}", client_id="gw-lock",
                     tls=False, keepalive="60s")]
    return bridge_config(sessions, outbox=dict(path=box), log_level="info")


def refused(args, cfg, bus):
    """Starts a second daemon on `bus`; returns (exit status, seconds to exit, its log)."""
    with Daemon(args.daemon, cfg, bus, keep=args.keep) as d:
        t0 = time.monotonic()
        rc = wait_for(lambda: d.proc.poll() is not None and (d.proc.returncode,), 10, "the second cellgated exiting")[0]
        took = time.monotonic() - t0
        log = d.log()
        assert not d.poll_notifications() or all("READY" not in n for n in d.notifications), \
            f"the second cellgated reported READY:\n{log}"
        return rc, took, log


def test_second_daemon_refuses_a_locked_outbox(args):
    workdir = make_workdir("cellgate-lock-")
    box = os.path.join(workdir, "outbox.db")
    cfg = config(box)
    try:
        with PrivateBus(args.policy, keep=args.keep) as bus_a, PrivateBus(args.policy, keep=args.keep) as bus_b:
            with Daemon(args.daemon, cfg, bus_a, keep=args.keep) as first:
                first.wait_ready(20)
                rc, took, log = refused(args, cfg, bus_b)
                assert rc == EX_CANTCREAT, f"the second cellgated exited with {rc}, want {EX_CANTCREAT}:\n{log}"
                assert "locked by another process" in log and box in log, log
                assert first.proc.poll() is None, "the first cellgated died"
                assert_clean_stop(first)
            with Daemon(args.daemon, cfg, bus_b, keep=args.keep) as second:
                second.wait_ready(20)
                second.proc.send_signal(signal.SIGKILL)
                second.proc.wait(5)
            with Daemon(args.daemon, cfg, bus_a, keep=args.keep) as third:
                third.wait_ready(20)
                assert_clean_stop(third)
        line = next((ln for ln in log.splitlines() if "locked" in ln), "")
        print(f"outbox lock: a second cellgated exited {rc} after {took:.2f} s ({line.strip()}); "
              f"after a clean stop and after SIGKILL the next one starts")
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    run([test_second_daemon_refuses_a_locked_outbox])
