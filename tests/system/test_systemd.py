#!/usr/bin/env python3
"""System test: the real package on a booted systemd. A Debian bookworm root (debootstrap, cached
under the build tree) boots under systemd-nspawn; the .deb built from the tree under test is
installed with apt; the modem simulator runs inside on a pty; the shipped unit is started and
everything is asserted from the running system: READY=1, watchdog pings, the name on the real
system bus with the shipped policy, reload, the user, capabilities, mounts and device policy of
the process, `systemd-analyze security`, a clean stop, and what remove and purge leave.

    test_systemd.py --build BUILD_DIR --sim tests/sim/modemsim.py [--cache DIR] [--keep]

Exits 77 (skipped) when it cannot run here: not root, no systemd-nspawn or debootstrap."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import harness  # noqa: E402  (config writers and D-Bus names shared with the integration tests)
import package  # noqa: E402
from container import CannotRun, Container, cached_root  # noqa: E402
from harness import GATEWAY_IFACE, GATEWAY_PATH, MODEM_IFACE, MODEM_PATH, NOBODY, SERVICE  # noqa: E402

SKIP = 77
# What the test needs in the root beyond the package's own Depends.
TEST_PACKAGES = [
    "systemd-sysv",  # /sbin/init for nspawn --boot
    "dbus",          # the system bus (dbus-daemon) and dbus-send, which prints exact error names
    "python3",       # the modem simulator
    "mosquitto",     # a broker on the container's loopback for a cloud session (the package Recommends it)
]
MAX_EXPOSURE = 2.0  # the same bound the package test puts on the offline rating
INSIDE = "/srv/systest"            # the host's per-run directory, bound read-only
SIM_DIR = "/run/modemsim"          # outside /tmp: the unit has PrivateTmp=yes
LINK = f"{SIM_DIR}/ttyMODEM"
CONFIG = "/etc/cellgate/cellgate.yaml"
UNIT = "cellgate.service"
CGROUP = f"/sys/fs/cgroup/system.slice/{UNIT}"
LAB = harness.cloud_path("lab")
CLOUD_IFACE = harness.CLOUD_IFACE


OUTBOX = "/var/lib/cellgate/outbox.db"


def first_config() -> str:
    """The simulated modem (the integration tests' short timers) and an outbox, which opens only at
    start and which Publish needs; no cloud session yet."""
    return harness.modem_config(LINK, vendor="quectel") + f"outbox:\n  path: {OUTBOX}\n"


def lab_config() -> str:
    """The same plus a session to the container's mosquitto: what the reload adds."""
    session = dict(name="lab", platform="generic", endpoint="127.0.0.1:1883", client_id="gw-lab", tls=False,
                   keepalive="60s")
    return harness.bridge_config([session], outbox={"path": OUTBOX},
                                 modem=harness.modem_config(LINK, vendor="quectel"))


class Failed(AssertionError):
    pass


class SystemTest:
    def __init__(self, c: Container, deb: str):
        self.c, self.deb = c, deb
        self.results: list = []  # (name, passed, seconds, message)
        self.measures: dict = {}
        self.main_pid = None     # as the container sees it
        self.cursor = None       # journal position at the service's start

    # --- helpers -------------------------------------------------------------------------------

    def sh(self, script: str, timeout: float = 60, check: bool = True):
        return self.c.run(["sh", "-c", script], timeout=timeout, check=check)

    def show(self, *props: str) -> dict:
        """systemctl show: {property: value}, a property listed more than once joined with ", "."""
        out = {}
        for line in self.c.run(["systemctl", "show", UNIT, *(f"-p{p}" for p in props)]).stdout.splitlines():
            k, sep, v = line.partition("=")
            if sep:
                out[k] = f"{out[k]}, {v}" if k in out else v
        return out

    def journal(self, *extra: str) -> str:
        """The unit's journal since its first start (the daemon's lines and systemd's about it)."""
        args = ["journalctl", "--no-pager", "-u", UNIT, "-o", "short-monotonic", *extra]
        if self.cursor:
            args.append(f"--after-cursor={self.cursor}")
        return self.c.run(args, check=False).stdout

    def journal_tail(self, n: int = 40) -> str:
        return "\n--- journalctl -u cellgate (tail) ---\n" + "".join(self.journal().splitlines(True)[-n:])

    def busctl(self, *args: str, user: list | None = None, check: bool = True):
        return self.c.run([*(user or []), "busctl", "--system", *args], check=check, timeout=30)

    def prop(self, path: str, iface: str, name: str, user: list | None = None) -> str:
        out = self.busctl("get-property", SERVICE, path, iface, name, user=user).stdout.strip()
        return out.split(" ", 1)[1].strip('"') if " " in out else out

    def send(self, path: str, iface: str, method: str, *args: str, user: list | None = None):
        """dbus-send --print-reply: (exit status, output); the output names the exact error."""
        r = self.c.run([*(user or []), "dbus-send", "--system", "--print-reply", f"--dest={SERVICE}", path,
                        f"{iface}.{method}", *args], check=False, timeout=30)
        return r.returncode, (r.stdout + r.stderr).strip()

    def wait(self, pred, timeout: float, what: str):
        return harness.wait_for(pred, timeout, what, interval=0.2)

    def check(self, name: str, fn, required: bool = False) -> bool:
        start = time.monotonic()
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - every failure is reported, the rest goes on
            spent = time.monotonic() - start
            message = str(e) if isinstance(e, (AssertionError, TimeoutError)) else traceback.format_exc()
            self.results.append((name, False, spent, message))
            print(f"FAIL {name} ({spent:.1f}s)\n{message}", flush=True)
            if required:
                raise Failed(f"{name} failed; the checks after it need it") from None
            return False
        spent = time.monotonic() - start
        self.results.append((name, True, spent, ""))
        print(f"PASS {name} ({spent:.1f}s)", flush=True)
        return True

    # --- the checks, in the order they run -----------------------------------------------------

    def install(self):
        start = time.monotonic()
        # As the README says, from a local file. The container has no network: every Depends must be
        # in the root already, or this fails.
        name = os.path.basename(self.deb)
        r = self.sh(f"cp {INSIDE}/{name} /root/ && cd /root && apt-get install -y ./{name}", timeout=300,
                    check=False)
        self.measures["apt-get install"] = f"{time.monotonic() - start:.1f}s"
        assert r.returncode == 0, f"apt-get install of the package failed:\n{r.stdout[-3000:]}{r.stderr[-3000:]}"
        ids = self.c.run(["id", "cellgate"], check=False)
        assert ids.returncode == 0, "postinst did not create the user cellgate: " + ids.stderr
        assert "(dialout)" in ids.stdout, f"cellgate is not in dialout (sysusers 'm cellgate dialout'): {ids.stdout}"
        mode = self.c.run(["stat", "-c", "%U:%G %a", CONFIG]).stdout.strip()
        assert mode == "root:cellgate 640", f"postinst should make {CONFIG} root:cellgate 0640, it is {mode}"
        enabled = self.c.run(["systemctl", "is-enabled", UNIT], check=False).stdout.strip()
        active = self.c.run(["systemctl", "is-active", UNIT], check=False).stdout.strip()
        assert (enabled, active) == ("disabled", "inactive"), \
            f"the package must install the unit neither enabled nor started: is-enabled {enabled}, is-active {active}"

    def modem_simulator(self):
        # A transient service, so systemd owns its lifetime; the pty slave gets what udev gives a
        # USB modem's port (root:dialout 0660), as a socat bridge would be told to.
        self.c.run(["mkdir", "-p", SIM_DIR])
        self.c.run(["systemd-run", "--unit=modemsim", "--property=Environment=PYTHONDONTWRITEBYTECODE=1", "--",
                    "python3", f"{INSIDE}/sim/modemsim.py", "--link", LINK, "--vendor", "quectel", "--speed", "4",
                    "--control", f"{SIM_DIR}/control.sock", "--log", f"{SIM_DIR}/at.log"])
        self.wait(lambda: self.sh(f"test -L {LINK} && test -S {SIM_DIR}/control.sock", check=False).returncode == 0,
                  20, "the simulator's pty link")
        self.sh(f"chgrp dialout $(readlink -f {LINK}) && chmod 0660 $(readlink -f {LINK})")
        self.write_config(first_config())

    def write_config(self, text: str):
        # In place, so the owner and mode postinst gave the conffile stay.
        self.c.run(["sh", "-c", f"cat > {CONFIG}"], input=text)

    def start(self):
        self.cursor = re.search(r"cursor: (\S+)", self.c.run(["journalctl", "-n0", "--show-cursor"]).stdout).group(1)
        start = time.monotonic()
        r = self.c.run(["systemctl", "start", UNIT], timeout=90, check=False)
        self.measures["systemctl start (to READY=1)"] = f"{time.monotonic() - start:.2f}s"
        p = self.show("Type", "ActiveState", "SubState", "MainPID", "NRestarts", "StatusText", "Result")
        assert r.returncode == 0, f"systemctl start failed ({r.stderr.strip()}): {p}" + self.journal_tail()
        assert p["Type"] == "notify" and (p["ActiveState"], p["SubState"]) == ("active", "running"), p
        assert p["NRestarts"] == "0" and p["Result"] == "success", p
        assert p["StatusText"], f"no STATUS= from the daemon: {p}"
        self.main_pid = int(p["MainPID"])
        self.measures["StatusText after start"] = p["StatusText"]

    def modem_over_pty(self):
        try:
            self.wait(lambda: self.prop(MODEM_PATH, MODEM_IFACE, "State") == "connected", 60,
                      "Modem.State connected")
        except TimeoutError as e:
            state = self.prop(MODEM_PATH, MODEM_IFACE, "State")
            raise AssertionError(f"{e}; State is {state!r}: the daemon did not bring the simulated modem up "
                                 f"through {LINK} (DeviceAllow=char-pts, dialout)" + self.journal_tail()) from None

    def device_policy(self):
        """The unit's device allow-list is a BPF program on its cgroup. A root shell moved into that
        cgroup may open a node of an allowed class (char-ttyS), the modem's pty and /dev/zero (a
        standard pseudo device), but not a device outside the list (/dev/net/tun), nor create any
        node (DeviceAllow= grants r and w, never m); the same shell outside may do all of it.
        (/run is nodev in the container: the nodes go to its /dev. systemd allows char-pts to every
        DevicePolicy=closed unit, so the pty alone would not show the unit's own list at work.)"""
        def in_unit(script):
            return self.sh(f"echo $$ > {CGROUP}/cgroup.procs && {script}", check=False)

        tty_s, spare = "/dev/systest-ttyS0", "/dev/systest-spare"
        open_tty = f"dd if={tty_s} of=/dev/null count=0 status=none"
        open_tun = "dd if=/dev/net/tun of=/dev/null count=0 status=none"
        self.sh(f"mknod {tty_s} c 4 64 && {open_tty}")  # control: all of it works outside
        try:
            allowed = in_unit(open_tty)
            assert allowed.returncode == 0, f"a char-ttyS node (DeviceAllow=char-ttyS rw) does not open from the " \
                                            f"unit's cgroup: {allowed.stderr.strip()}"
            denied = {"mknod of a char-ttyS node": in_unit(f"mknod {spare} c 4 65")}
            if self.sh(open_tun, check=False).returncode == 0:  # no /dev/net/tun in some containers
                denied["open of /dev/net/tun"] = in_unit(open_tun)
            for what, r in denied.items():
                assert r.returncode != 0 and "Operation not permitted" in r.stderr, \
                    (f"DevicePolicy=closed is not enforced on the unit's cgroup: {what} inside it gave "
                     f"{r.returncode} {r.stderr.strip()!r}")
        finally:
            self.sh(f"rm -f {tty_s} {spare}")
        for what, script in {"the modem's pty": f"dd if=/dev/zero of=$(readlink -f {LINK}) bs=1 count=0 status=none",
                             "/dev/zero": "dd if=/dev/zero of=/dev/null count=1 status=none"}.items():
            r = in_unit(script)
            assert r.returncode == 0, f"{what} does not open from the unit's cgroup: {r.stderr}"
        self.measures["DeviceAllow (systemctl show)"] = self.show("DeviceAllow")["DeviceAllow"]

    def bus_name(self):
        pid = self.busctl("call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                          "GetConnectionUnixProcessID", "s", SERVICE).stdout.split()
        uid = self.busctl("call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                          "GetConnectionUnixUser", "s", SERVICE).stdout.split()
        cellgate_uid = self.c.run(["id", "-u", "cellgate"]).stdout.strip()
        assert pid == ["u", str(self.main_pid)], f"{SERVICE} is owned by PID {pid}, the unit's MainPID is {self.main_pid}"
        assert uid == ["u", cellgate_uid], f"{SERVICE} is owned by uid {uid}, cellgate is {cellgate_uid}"

    def unprivileged_reads(self):
        state = self.prop(GATEWAY_PATH, GATEWAY_IFACE, "State", user=NOBODY)
        version = self.prop(GATEWAY_PATH, GATEWAY_IFACE, "Version", user=NOBODY)
        assert state and version, (state, version)
        everything = self.busctl("call", SERVICE, MODEM_PATH, "org.freedesktop.DBus.Properties", "GetAll", "s",
                                 MODEM_IFACE, user=NOBODY).stdout
        assert '"State" s "connected"' in everything, f"GetAll as nobody: {everything[:500]}"
        tree = self.busctl("introspect", SERVICE, MODEM_PATH, user=NOBODY).stdout
        assert ".Reset" in tree, tree[:500]

    def _denied_by_bus(self, path, iface, method, *args):
        rc, out = self.send(path, iface, method, *args, user=NOBODY)
        assert rc != 0 and "org.freedesktop.DBus.Error.AccessDenied" in out, \
            f"{iface}.{method} as nobody was not denied: {out}"
        # dbus-daemon's own refusal, not the daemon's second check: the call never reached it.
        assert "Rejected send message" in out, f"{method} denied, but not by the bus policy: {out}"

    def unprivileged_reset_denied(self):
        self._denied_by_bus(MODEM_PATH, MODEM_IFACE, "Reset")
        self._denied_by_bus(MODEM_PATH, "org.freedesktop.DBus.Properties", "Set", f"string:{MODEM_IFACE}",
                            "string:State", "variant:string:x")

    def reload(self):
        self.write_config(lab_config())
        mark = len(self.journal().splitlines())
        r = self.c.run(["systemctl", "reload", UNIT], timeout=60, check=False)
        assert r.returncode == 0, f"systemctl reload failed: {r.stderr}" + self.journal_tail()
        p = self.show("ActiveState", "MainPID", "NRestarts")
        assert p["ActiveState"] == "active" and int(p["MainPID"]) == self.main_pid and p["NRestarts"] == "0", \
            f"reload restarted the service: {p}"
        line = self.wait(lambda: [l for l in self.journal().splitlines()[mark:] if "reload: " in l and "lab added" in l],
                         10, "the reload's summary in the journal")
        self.measures["reload journal line"] = line[0].split("]: ", 1)[-1]
        self.wait(lambda: self.prop(LAB, CLOUD_IFACE, "State") == "connected", 30,
                  "the added session 'lab' connected to the container's mosquitto")

    def unprivileged_publish_denied(self):
        payload = ["string:systest/hello", "array:byte:104,105", "byte:1"]
        self._denied_by_bus(LAB, CLOUD_IFACE, "Publish", *payload)
        self._denied_by_bus(LAB, CLOUD_IFACE, "Reconnect")
        journal = self.journal()
        assert "refused: caller is not root" not in journal, \
            f"a call from nobody reached the daemon through the bus policy:\n{journal}"
        # The same call from root goes through and out to the broker: the denial above is the
        # policy's, for nobody.
        rc, out = self.send(LAB, CLOUD_IFACE, "Publish", *payload)
        assert rc == 0 and re.search(r"uint64 \d+", out), f"Publish as root: {out}"
        self.wait(lambda: int(self.prop(LAB, CLOUD_IFACE, "Published")) >= 1, 10, "lab's Published counter")

    def identity_and_capabilities(self):
        host_pid = self.c.host_pid(self.main_pid)
        with open(f"/proc/{host_pid}/status") as f:
            status = dict(l.rstrip("\n").split(":\t", 1) for l in f if ":\t" in l)
        uid = self.c.run(["id", "-u", "cellgate"]).stdout.strip()
        gid = self.c.run(["id", "-g", "cellgate"]).stdout.strip()
        dialout = self.c.run(["getent", "group", "dialout"]).stdout.split(":")[2]
        assert status["Uid"].split() == [uid] * 4 and status["Gid"].split() == [gid] * 4, \
            f"not running as cellgate ({uid}:{gid}): Uid {status['Uid']}, Gid {status['Gid']}"
        # initgroups() lists the user's own group too.
        assert set(status["Groups"].split()) == {dialout, gid}, \
            f"supplementary groups {status['Groups']}, want dialout ({dialout}) and cellgate ({gid})"
        caps = {k: status[k] for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}
        # CAP_NET_ADMIN (12) and CAP_NET_RAW (13), for the module's network interface; nothing else.
        assert all(int(v, 16) == 0x3000 for v in caps.values()), f"capabilities other than CAP_NET_ADMIN/RAW: {caps}"
        assert status["NoNewPrivs"] == "1" and status["Seccomp"] == "2", \
            f"NoNewPrivs {status['NoNewPrivs']}, Seccomp {status['Seccomp']} (want 1 and 2: filter mode)"
        self.measures["process"] = f"uid {uid} gid {gid} groups {status['Groups']} " + \
            " ".join(f"{k}={v}" for k, v in caps.items())

    def filesystem(self):
        host_pid = self.c.host_pid(self.main_pid)
        mounts = {}
        with open(f"/proc/{host_pid}/mountinfo") as f:
            for line in f:
                fields = line.split()
                mounts[fields[4]] = fields[5].split(",")  # the last one at a mount point is on top
        assert "ro" in mounts["/"], f"/ is not read-only for the daemon (ProtectSystem=strict): {mounts['/']}"
        assert "rw" in mounts.get("/var/lib/cellgate", []), \
            f"/var/lib/cellgate is not a writable mount for the daemon: {mounts.get('/var/lib/cellgate')}"
        # Writes as the daemon's user, in the daemon's mount namespace: only the state directory and
        # the private /tmp and /var/tmp (PrivateTmp=yes: the system's /var/tmp does not see them).
        as_cellgate = ["setpriv", "--reuid=cellgate", "--regid=cellgate", "--init-groups"]
        probes = {"/etc/cellgate/probe": False, "/usr/probe": False, "/var/lib/probe": False,
                  "/var/log/probe": False, "/run/probe": False, "/home/probe": False,
                  "/var/lib/cellgate/probe": True, "/var/tmp/systest-probe": True}
        got = {}
        for path in probes:
            r = self.c.run([*as_cellgate, "sh", "-c", f"echo x > {path}"], target=host_pid,
                           namespaces=("-m",), check=False)
            got[path] = (r.returncode == 0, r.stderr.strip())
        leaked = self.c.run(["test", "-e", "/var/tmp/systest-probe"], check=False).returncode == 0
        self.c.run([*as_cellgate, "rm", "-f", "/var/lib/cellgate/probe", "/var/tmp/systest-probe"], target=host_pid,
                   namespaces=("-m",), check=False)
        wrong = {p: got[p] for p, ok in probes.items() if got[p][0] != ok}
        assert not wrong, f"as cellgate in the daemon's mounts, these writes went the wrong way: {wrong}"
        assert not leaked, "/var/tmp is not private to the service (PrivateTmp=yes)"
        owner = self.c.run(["stat", "-c", "%U:%G %a", "/var/lib/cellgate", OUTBOX]).stdout.split("\n")
        assert owner[:2] == ["cellgate:cellgate 750", "cellgate:cellgate 600"], \
            f"StateDirectory and the outbox the daemon made there: {owner}"

    def security(self):
        r = self.c.run(["systemd-analyze", "security", "--no-pager", UNIT], timeout=60, check=False)
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+) (\S+)", r.stdout + r.stderr)
        assert m, r.stdout + r.stderr
        self.measures["systemd-analyze security (running)"] = f"{m.group(1)} {m.group(2)}"
        assert float(m.group(1)) <= MAX_EXPOSURE, f"exposure {m.group(1)} > {MAX_EXPOSURE}:\n{r.stdout}"

    def watchdog(self):
        """systemd stamps WatchdogTimestamp on every WATCHDOG=1; two new stamps after the start are
        two pings (the daemon sends one per half WatchdogSec=30s)."""
        key = "WatchdogTimestampMonotonic"
        p = self.show(key, "WatchdogUSec", "ExecMainStartTimestampMonotonic")
        assert p["WatchdogUSec"] == "30s", p
        seen = [int(p[key])]

        def new_stamp():
            v = int(self.show(key)[key])
            if v != seen[-1]:
                seen.append(v)
            return len(seen) >= 3

        try:
            self.wait(new_stamp, 40, "two watchdog pings")
        except TimeoutError:
            raise AssertionError(f"watchdog stamps {seen} (start {p['ExecMainStartTimestampMonotonic']}): "
                                 "fewer than two WATCHDOG=1 in 40 s" + self.journal_tail()) from None
        self.measures["watchdog ping interval"] = f"{(seen[2] - seen[1]) / 1e6:.1f}s"

    def stop(self):
        """A clean stop: systemctl returns, the unit is inactive with Result=success, the main process
        exited 0 itself (not killed by SIGTERM, which systemd also counts as success), and nothing
        at err or worse was logged for the unit since it started. The unit is unloaded as soon as
        it is inactive, so the exit status is taken from the manager's debug log of the stop."""
        self.c.run(["systemd-analyze", "log-level", "debug"])
        try:
            start = time.monotonic()
            r = self.c.run(["systemctl", "stop", UNIT], timeout=60, check=False)
            self.measures["systemctl stop"] = f"{time.monotonic() - start:.2f}s"
        finally:
            self.c.run(["systemd-analyze", "log-level", "info"])
        p = self.show("ActiveState", "Result")
        assert r.returncode == 0 and p["ActiveState"] == "inactive", f"stop: {r.stderr} {p}"
        journal = self.journal()
        exits = re.findall(r"cellgate\.service: Main process exited, code=(\w+), status=(\S+)", journal)
        assert exits == [("exited", "0/SUCCESS")], \
            f"the daemon did not exit 0 by itself on SIGTERM: {exits or 'no exit logged'}" + self.journal_tail()
        assert "cellgate.service: Deactivated successfully." in journal, self.journal_tail()
        # Control: the daemon's <N> prefixes reach the journal as priorities (else -p err sees nothing).
        assert "reload: modem unchanged; cloud: lab added" in self.journal("-p", "notice"), \
            "the reload summary (log::notice) is not at priority notice in the journal"
        warnings = [l for l in self.journal("-p", "warning").splitlines() if not l.startswith("-- ")]
        self.measures["journal lines at warning or worse"] = "\n  ".join([str(len(warnings)), *warnings[:10]])
        errors = [l for l in self.journal("-p", "err").splitlines() if not l.startswith("-- ")]
        assert not errors, "the journal has errors from the service's run:\n" + "\n".join(errors)

    def remove(self):
        # Running, so prerm's stop is what stops it.
        self.c.run(["systemctl", "start", UNIT], timeout=90)
        self.sh("echo systest > /var/lib/cellgate/systest-marker")
        r = self.c.run(["apt-get", "remove", "-y", "cellgate"], timeout=180, check=False)
        assert r.returncode == 0, f"apt-get remove failed:\n{r.stdout[-2000:]}{r.stderr[-2000:]}"
        left = self.c.run(["pgrep", "-u", "cellgate"], check=False).stdout.split()
        assert not left, f"cellgate processes still running after remove: {left}"
        p = self.show("LoadState", "ActiveState")
        # The unit file is gone; postrm masks the name as debhelper's does, so nothing can start a
        # half-removed service (purge unmasks it).
        assert p == {"LoadState": "masked", "ActiveState": "inactive"}, f"the unit after remove: {p}"
        status = self.c.run(["dpkg-query", "-W", "-f=${Status}", "cellgate"]).stdout
        assert status == "deinstall ok config-files", status
        owned = self.busctl("status", SERVICE, check=False)
        assert owned.returncode != 0, f"{SERVICE} still owned after remove: {owned.stdout}"
        kept = self.sh(f"test -f {CONFIG} && cat /var/lib/cellgate/systest-marker", check=False)
        assert kept.returncode == 0 and kept.stdout.strip() == "systest", \
            f"remove must keep {CONFIG} and /var/lib/cellgate (README): {kept.stderr}"
        config = self.c.run(["cat", CONFIG]).stdout
        assert config == lab_config(), "remove changed the administrator's config"
        for gone in ("/usr/sbin/cellgated", "/lib/systemd/system/cellgate.service",
                     "/usr/share/dbus-1/system.d/org.cellgate.Gateway1.conf"):
            assert self.c.run(["test", "-e", gone], check=False).returncode != 0, f"{gone} left by remove"

    def purge(self):
        r = self.c.run(["apt-get", "purge", "-y", "cellgate"], timeout=180, check=False)
        assert r.returncode == 0, f"apt-get purge failed:\n{r.stdout[-2000:]}{r.stderr[-2000:]}"
        left = self.sh("ls -d /etc/cellgate /var/lib/cellgate 2>/dev/null", check=False).stdout.split()
        assert not left, f"purge left {left} (postrm promises /var/lib/cellgate gone, dpkg the conffile)"
        status = self.c.run(["dpkg-query", "-W", "-f=${Status}", "cellgate"], check=False)
        assert status.returncode != 0 or "not-installed" in status.stdout, status.stdout
        assert self.c.run(["id", "cellgate"], check=False).returncode == 0, \
            "the cellgate user should stay after purge (README, like every Debian system user)"

    def run_all(self):
        try:
            self.check("apt-get install: user, config mode, unit neither enabled nor started", self.install,
                       required=True)
            self.check("modem simulator on a pty inside the container", self.modem_simulator, required=True)
            self.check("systemctl start: Type=notify reaches active/running (READY=1)", self.start, required=True)
            self.check("the modem comes up over the pty (DevicePolicy lets a pty through; dialout)", self.modem_over_pty)
            self.check("DevicePolicy=closed enforced on the unit's cgroup", self.device_policy)
            self.check(f"{SERVICE} owned on the system bus by MainPID as cellgate", self.bus_name)
            self.check("nobody may read properties and introspect", self.unprivileged_reads)
            self.check("nobody may not call Reset or Properties.Set (bus policy)", self.unprivileged_reset_denied)
            self.check("systemctl reload applies a config change (session added)", self.reload)
            self.check("nobody may not call Publish or Reconnect; root may Publish", self.unprivileged_publish_denied)
            self.check("runs as cellgate:cellgate + dialout, no capabilities, NoNewPrivs, seccomp",
                       self.identity_and_capabilities)
            self.check("ProtectSystem=strict: / read-only, only /var/lib/cellgate writable",
                       self.filesystem)
            self.check(f"systemd-analyze security on the running system <= {MAX_EXPOSURE}", self.security)
            self.check("watchdog pings arrive (WatchdogTimestamp advances)", self.watchdog)
            self.check("systemctl stop: exit 0, no error in the journal", self.stop)
            self.check("apt-get remove: stops the service, keeps config and state", self.remove)
            self.check("apt-get purge: config and state gone, user kept", self.purge)
        except Failed as e:
            print(f"stopped: {e}", flush=True)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", required=True, help="the cellgate build tree (configured and built)")
    p.add_argument("--sim", required=True, help="tests/sim/modemsim.py")
    p.add_argument("--cache", help="where the root tree is cached (default: BUILD/system-root)")
    p.add_argument("--keep", action="store_true", help="keep the per-run directory")
    return p.parse_args()


def main() -> int:
    args = parse_args()
    total_start = time.monotonic()
    # CTest's timeout and a ^C both end in the finally blocks below: the container is shut down.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if os.geteuid() != 0:
        print("SKIP: the system test boots a container and needs root", flush=True)
        return SKIP
    missing = [t for t in ("systemd-nspawn", "debootstrap", "nsenter") if not shutil.which(t)] + package.tools_missing()
    if missing:
        print(f"SKIP: not installed: {', '.join(missing)} (scripts/install-deps installs them)", flush=True)
        return SKIP

    work = tempfile.mkdtemp(prefix="cellgate-systest-")
    os.chmod(work, 0o755)
    measures = {}
    results = []
    try:
        start = time.monotonic()
        deb = package.build_deb(package.plain_build(os.path.abspath(args.build)), os.path.join(work, "out"))
        measures["package build"] = f"{time.monotonic() - start:.1f}s ({os.path.basename(deb)})"
        shutil.copy2(deb, work)
        shutil.copytree(os.path.dirname(os.path.abspath(args.sim)), os.path.join(work, "sim"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        cache = args.cache or os.path.join(os.path.abspath(args.build), "system-root")
        try:
            root, packages, built = cached_root(cache, TEST_PACKAGES, package.field(deb, "Depends"))
        except CannotRun as e:
            print(f"SKIP: {e}", flush=True)
            return SKIP
        measures["debootstrap"] = f"{built:.0f}s (cold)" if built is not None else "cached"
        measures["root packages"] = " ".join(packages)
        with Container(root, {work: INSIDE}, os.path.join(work, "console.log")) as c:
            measures["boot (nspawn to is-system-running)"] = f"{c.boot_seconds:.2f}s ({c.system_state})"
            if c.system_state != "running":
                measures["failed units at boot"] = c.run(["systemctl", "--failed", "--no-legend"]).stdout.strip()
            t = SystemTest(c, deb)
            t.run_all()
            results, measures = t.results, {**measures, **t.measures}
        leftovers = c.leftovers()
        results.append(("nothing left of the container after it stopped", not leftovers, 0, str(leftovers)))
    finally:
        if args.keep:
            print(f"kept {work}", flush=True)
        else:
            shutil.rmtree(work, ignore_errors=True)

    measures["total"] = f"{time.monotonic() - total_start:.1f}s"
    print("--- measurements ---")
    for k, v in measures.items():
        print(f"{k}: {v}")
    passed = sum(1 for r in results if r[1])
    failed = [r for r in results if not r[1]]
    print("--- results ---")
    for name, ok, spent, _ in results:
        print(f"{'PASS' if ok else 'FAIL'} {name}")
    print(f"system: {passed} passed, {len(failed)} failed", flush=True)
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main())
