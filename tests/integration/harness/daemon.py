"""cellgated as a child process: its config file, its sd_notify socket, its log, its clean end."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

from .bus import PrivateBus
from .procs import make_workdir, stop_process
from .run import wait_for

SANITIZER_REPORT = re.compile(r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:")


class Daemon:
    """Runs `cellgated --config <file>` with NOTIFY_SOCKET set (and DBUS_SYSTEM_BUS_ADDRESS, given
    a bus); its output goes to .log_path, and the log is printed when the `with` block fails.

        with Daemon(args.daemon, config_text, bus) as d:
            d.wait_ready(); d.wait_log("text"); d.notifications; d.stop() -> exit code
    """

    def __init__(self, binary: str, config_text: str, bus: PrivateBus | None = None,
                 env: dict | None = None, extra_args=(), workdir: str | None = None,
                 keep: bool = False, wrapper=()):
        self.binary = os.path.abspath(binary)
        self.bus = bus
        self.keep = keep
        self._own_workdir = workdir is None
        self.workdir = workdir or make_workdir("cellgate-daemon-")
        self.config_path = os.path.join(self.workdir, "cellgate.yaml")
        self.log_path = os.path.join(self.workdir, "cellgated.log")
        self.notify_path = os.path.join(self.workdir, "notify.sock")
        self.notifications: list[dict] = []
        self.extra_args = list(extra_args)
        self.env = dict(env or {})
        # A command that execs the daemon, e.g. ("ip", "netns", "exec", "pi"): the pid stays the daemon's.
        self.wrapper = list(wrapper)
        self.proc = None
        self.returncode = None
        with open(self.config_path, "w") as f:
            f.write(config_text)

    def __enter__(self) -> "Daemon":
        self._notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._notify.bind(self.notify_path)
        self._notify.settimeout(0.1)
        # Read datagrams as they come, like PID 1 does: the socket queue holds only ~10 of them,
        # and a daemon whose sd_notify() blocks on a full queue stops serving everything else.
        self._notify_lock = threading.Lock()
        self._notify_stop = threading.Event()
        self._notify_thread = threading.Thread(target=self._notify_reader, daemon=True)
        self._notify_thread.start()
        env = dict(os.environ)
        env.pop("WATCHDOG_USEC", None)
        env.pop("WATCHDOG_PID", None)
        env["NOTIFY_SOCKET"] = self.notify_path
        if self.bus is not None:
            env["DBUS_SYSTEM_BUS_ADDRESS"] = self.bus.address
        env.update(self.env)
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen([*self.wrapper, self.binary, "--config", self.config_path, *self.extra_args],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            stop_process(self.proc, timeout=5)
        finally:
            self._notify_stop.set()
            self._notify_thread.join(1)
            self._notify.close()
            if exc_type is not None:
                sys.stderr.write(f"--- cellgated log ({self.log_path}) ---\n{self.log()}--- end ---\n")
            if self._own_workdir and not self.keep:
                shutil.rmtree(self.workdir, ignore_errors=True)

    def _notify_reader(self) -> None:
        while not self._notify_stop.is_set():
            try:
                data = self._notify.recv(65536)
            except (socket.timeout, BlockingIOError):
                continue
            except OSError:
                return
            msg = {}
            for line in data.decode(errors="replace").splitlines():
                key, _, value = line.partition("=")
                msg[key] = value
            with self._notify_lock:
                self.notifications.append(msg)

    def _drain_notify(self) -> None:
        """The reader thread collects datagrams; give it a moment to catch up."""
        time.sleep(0.01)

    def poll_notifications(self) -> list:
        """Every sd_notify message received so far, one dict per datagram."""
        self._drain_notify()
        return self.notifications

    def wait_notify(self, key: str, value: str | None = None, timeout: float = 10):
        def find():
            self._drain_notify()
            with self._notify_lock:
                seen = list(self.notifications)
            for m in seen:
                if key in m and (value is None or m[key] == value):
                    return m[key]
            if self.proc.poll() is not None:
                raise AssertionError(f"cellgated exited with {self.proc.returncode}")
            return None

        return wait_for(find, timeout, f"sd_notify {key}={value or '*'}")

    def wait_ready(self, timeout: float = 10) -> None:
        self.wait_notify("READY", "1", timeout)

    def log(self) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_log(self, pattern: str, timeout: float = 10, regex: bool = False) -> re.Match:
        """Waits for `pattern` (plain text, or a regular expression with regex=True) in the log."""
        rx = re.compile(pattern if regex else re.escape(pattern), re.MULTILINE)
        return wait_for(lambda: rx.search(self.log()), timeout, f"log matching {pattern!r}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 5) -> int:
        """Signals the daemon and returns its exit code; TimeoutError when it does not exit in time
        (it is left running: the test failed, and __exit__ kills it)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                raise TimeoutError(f"cellgated did not exit within {timeout}s of signal {sig}") from None
        self._drain_notify()
        self.returncode = self.proc.returncode
        return self.returncode


def assert_no_sanitizer_report(d: Daemon, what: str = "the daemon log") -> None:
    m = SANITIZER_REPORT.search(d.log())
    assert not m, f"sanitizer report in {what}:\n" + d.log()[max(0, m.start() - 200):][:4000]


def assert_clean_stop(d: Daemon, timeout: float = 10) -> None:
    """How every case that got this far ends: the daemon still runs, exits 0 on SIGTERM and
    logged no sanitizer report."""
    rc = d.proc.poll()
    assert rc is None, f"cellgated exited with {rc}:\n{d.log()[-4000:]}"
    rc = d.stop(timeout=timeout)
    assert rc == 0, f"cellgated exited with {rc} on SIGTERM:\n{d.log()[-4000:]}"
    assert_no_sanitizer_report(d)


@contextlib.contextmanager
def cloud_daemon(args, config: str, env: dict | None = None, binary: str | None = None,
                 ready_timeout: float = 20):
    """with cloud_daemon(args, cloud_config([...])) as (bus, d): ...  A private bus and cellgated,
    READY=1 already received; a clean exit ends with assert_clean_stop()."""
    with PrivateBus(args.policy, keep=args.keep) as bus, \
            Daemon(binary or args.daemon, config, bus, env=env, keep=args.keep) as d:
        d.wait_ready(timeout=ready_timeout)
        yield bus, d
        assert_clean_stop(d)


def check_config(daemon: str, config: str, workdir: str) -> None:
    """cellgated --check-config: a refused config fails at once with the daemon's reason (instead of
    a READY=1 timeout)."""
    path = os.path.join(workdir, "check.yaml")
    with open(path, "w") as f:
        f.write(config)
    r = subprocess.run([daemon, "--check-config", "--config", path], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise AssertionError(f"cellgated --check-config refused the test's config ({r.returncode}):\n"
                             f"{r.stderr.strip()}\n--- config ---\n{config}")
