#!/usr/bin/env python3
"""scripts/demo, what a new user runs first: closing its terminal (SIGHUP to its process group)
ends every process it started and removes its scratch directory; a SIGKILLed demo takes its
children with it; it follows PropertiesChanged instead of polling; --help answers without building."""

from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time

from harness import run, stop_process, wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO = os.path.join(ROOT, "scripts", "demo.py")
WRAPPER = os.path.join(ROOT, "scripts", "demo")


class DemoRun:
    """scripts/demo.py in a session of its own, as a terminal runs it; its output is kept line by line."""

    def __init__(self, daemon: str):
        self.proc = subprocess.Popen([sys.executable, DEMO, "--daemon", daemon], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True)
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    def output(self) -> str:
        with self._lock:
            return "\n".join(self.lines)

    def wait_line(self, pattern: str, timeout: float) -> re.Match:
        rx = re.compile(pattern)

        def find():
            if self.proc.poll() is not None:
                raise AssertionError(f"the demo exited with {self.proc.returncode}:\n{self.output()[-4000:]}")
            with self._lock:
                return next((m for m in map(rx.search, self.lines) if m), None)
        try:
            return wait_for(find, timeout, f"demo output matching {pattern!r}")
        except TimeoutError as e:
            raise AssertionError(f"{e}; output so far:\n{self.output()[-4000:]}") from None

    def __enter__(self) -> "DemoRun":
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self._reader.join(5)
        # A SIGKILLed demo (by its test, or here after a failure) leaves its scratch directory behind.
        work = re.search(r"demo: scratch directory (\S+)", self.output())
        if work:
            shutil.rmtree(work.group(1), ignore_errors=True)


def processes(sid: int | None = None, mentioning: str | None = None) -> dict[int, str]:
    """pid -> command line of the processes in session `sid`, or whose command line mentions `mentioning`."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if fields[0] == "Z":
            continue
        if (sid is not None and int(fields[3]) == sid) or (mentioning and mentioning in cmdline):
            out[int(entry)] = cmdline
    return out


def started_by(demo: DemoRun, work: str, besides=()) -> dict[int, str]:
    """The demo's processes: in its session, or naming its scratch directory (but for `besides`)."""
    found = processes(sid=demo.proc.pid)
    found.update(processes(mentioning=work))
    for pid in (demo.proc.pid, *besides):
        found.pop(pid, None)
    return found


def assert_all_started(found: dict[int, str]) -> None:
    """The rig the cleanup must take down is really there: cellgated, both brokers, the bus, the simulator."""
    text = "\n".join(found.values())
    for what, n in (("cellgated --config", 1), ("mosquitto -c", 2), ("dbus-daemon", 1), ("modemsim.py", 1)):
        assert text.count(what) == n, f"expected {n} x {what!r} among the demo's processes:\n{text}"


def start_monitor(address: str):
    """dbus-monitor on the demo's private bus (becoming a monitor takes root there), or None."""
    if os.geteuid() != 0:
        return None
    mon = subprocess.Popen(["dbus-monitor", "--address", address], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(mon.stdout), daemon=True).start()
    wait_for(lambda: any("NameAcquired" in x or "member=" in x for x in lines), 10, "dbus-monitor attached")
    return mon, lines


def count_traffic(lines: list[str]) -> tuple[int, int]:
    """(property reads sent to cellgated, PropertiesChanged signals) seen by dbus-monitor."""
    reads = sum(1 for x in lines if x.startswith("method call") and "interface=org.freedesktop.DBus.Properties"
                in x and re.search(r"member=Get(All)?$", x.strip()))
    changes = sum(1 for x in lines if x.startswith("signal") and "member=PropertiesChanged" in x)
    return reads, changes


def test_sighup_leaves_nothing(args):
    with DemoRun(args.daemon) as demo:
        work = demo.wait_line(r"demo: scratch directory (\S+)", 30).group(1)
        assert os.path.basename(work).startswith("cellgate-demo-"), work
        address = demo.wait_line(r"demo: private bus (\S+)", 60).group(1)
        monitor = start_monitor(address)
        ours = [monitor[0].pid] if monitor else []
        try:
            demo.wait_line(r"demo: >>> ", 90)
            time.sleep(3)  # into the first fault: changes flow
            found = started_by(demo, work, ours)
            assert_all_started(found)
            os.killpg(demo.proc.pid, signal.SIGHUP)  # what closing its terminal does
            t0 = time.monotonic()
            try:
                demo.proc.wait(10)
            except subprocess.TimeoutExpired:
                raise AssertionError(f"the demo still runs 10 s after SIGHUP:\n{demo.output()[-3000:]}") from None
            took = time.monotonic() - t0
            try:
                wait_for(lambda: not started_by(demo, work, ours), 3, "the demo's processes to end")
            except TimeoutError:
                raise AssertionError(f"left behind after SIGHUP: {started_by(demo, work, ours)}") from None
            assert demo.proc.returncode == 128 + signal.SIGHUP, \
                f"exit {demo.proc.returncode}, not the orderly 129:\n{demo.output()[-3000:]}"
            assert not os.path.exists(work), f"{work} left behind: {os.listdir(work)}"
            print(f"  SIGHUP: demo and {len(found)} processes gone {took:.1f}s later, {work} removed")
        finally:
            if monitor:
                stop_process(monitor[0])
        if monitor:
            reads, changes = count_traffic(monitor[1])
            print(f"  bus: {reads} Get/GetAll calls to cellgated, {changes} PropertiesChanged signals")
            assert changes >= 10, f"only {changes} PropertiesChanged seen: is the monitor blind?"
            # The start reads each of its three objects once; a retry or two while the daemon takes
            # its name is fine; polling is not.
            assert reads <= 6, f"{reads} property reads against {changes} change signals: the demo polls"


def test_sigkill_takes_children_along(args):
    """A SIGKILLed demo cannot clean up; PR_SET_PDEATHSIG still ends every child (the scratch
    directory is what stays behind, removed here)."""
    with DemoRun(args.daemon) as demo:
        work = demo.wait_line(r"demo: scratch directory (\S+)", 30).group(1)
        try:
            demo.wait_line(r"demo: modem connected", 90)
            assert_all_started(started_by(demo, work))
            os.kill(demo.proc.pid, signal.SIGKILL)  # the demo only, not its process group
            demo.proc.wait(5)
            try:
                wait_for(lambda: not started_by(demo, work), 5, "the children of a killed demo to end")
            except TimeoutError:
                raise AssertionError(f"outlived the demo: {started_by(demo, work)}") from None
        finally:
            shutil.rmtree(work, ignore_errors=True)


def test_help_answers_without_building(args):
    """scripts/demo --help: no install, no cmake, and no internal option shown as required."""
    with tempfile.TemporaryDirectory(prefix="cellgate-demo-help-") as fake:
        marker = os.path.join(fake, "ran")
        for tool in ("cmake", "apt-get", "dpkg-query"):
            path = os.path.join(fake, tool)
            with open(path, "w") as f:
                f.write(f"#!/bin/sh\necho {tool} >> {marker}\nexit 1\n")
            os.chmod(path, stat.S_IRWXU)
        env = dict(os.environ, PATH=fake + os.pathsep + os.environ.get("PATH", ""))
        t0 = time.monotonic()
        r = subprocess.run([WRAPPER, "--help"], capture_output=True, text=True, timeout=30, env=env)
        took = time.monotonic() - t0
        assert r.returncode == 0, f"rc {r.returncode}: {r.stderr}"
        assert not os.path.exists(marker), f"--help ran {open(marker).read().split()}"
        assert took < 10, f"--help took {took:.1f}s"
    usage = r.stdout.split("\n\n")[0]
    assert usage.startswith("usage:"), r.stdout
    assert "--daemon" not in r.stdout, f"the internal --daemon is shown:\n{usage}"
    required = re.sub(r"\[[^\]]*\]", "", usage)  # what is left outside [...] is required
    assert "--" not in required, f"an option is shown as required:\n{usage}"
    for step in ("the network drops the data call", "the cloud broker dies", "the coverage is gone"):
        assert step in r.stdout, f"story step {step!r} missing from --help:\n{r.stdout}"
    assert "pin-required" in r.stdout, "the simulator's scenarios are not listed"


if __name__ == "__main__":
    run([test_sighup_leaves_nothing, test_sigkill_takes_children_along, test_help_answers_without_building])
