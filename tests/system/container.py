"""A booted Debian bookworm for the system tests: a root tree built once by debootstrap and cached,
booted under systemd-nspawn with a throw-away overlay, and commands run inside it with nsenter.

    root, built_in = cached_root(cache_dir, packages)      # built_in: seconds, or None if cached
    with Container(root, binds={host_dir: "/srv/systest"}) as c:
        c.run(["systemctl", "is-system-running"]).stdout

The cached tree is never written to: --volatile=overlay puts a tmpfs over it, so whatever a test
installs or changes is gone when the container stops, and the next run boots the same tree.

What this needs from the host, beyond root: systemd-nspawn (systemd-container), debootstrap, a
Debian mirror for the first build, and a kernel with overlayfs, network and PID namespaces. The
unit's DevicePolicy= is enforced only on the unified cgroup hierarchy with the bpf() call and
CAP_BPF handed to the container; machined registration and a scope of its own need a host whose
PID 1 is systemd, so neither is asked for (machinectl then does not see the container; nsenter
into its PID 1 does the same job)."""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import signal
import subprocess
import time

SUITE = "bookworm"
MIRROR = os.environ.get("CELLGATE_DEBIAN_MIRROR", "http://deb.debian.org/debian")
# Bumped when what cached_root() does to the tree changes, so an old cache is not reused.
ROOT_FORMAT = "1"
DEBOOTSTRAP_TIMEOUT = 900
BOOT_TIMEOUT = 90
SHUTDOWN_TIMEOUT = 30
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Units a test container has no use for: a getty on the console would read the test's stdin, and
# the apt timers would reach for the network at random.
MASKED_UNITS = ("console-getty.service", "getty@.service", "apt-daily.timer", "apt-daily-upgrade.timer",
                "systemd-timesyncd.service")


class CannotRun(Exception):
    """The host lacks something the test needs (not a failure of the product)."""


def run(cmd, timeout: float = 60, check: bool = True, **kw) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stdout}{r.stderr}")
    return r


def _apt_cache(*args: str) -> str:
    # Exits non-zero when one of several names is not found; what it found is still printed.
    return subprocess.run(["apt-cache", *args], capture_output=True, text=True, timeout=300).stdout


def depends_packages(depends: str, have=()) -> list:
    """Packages that satisfy a Depends field, for debootstrap's --include (which resolves neither
    alternatives nor virtual packages): an entry one of whose alternatives is in `have` is already
    met; otherwise the first alternative that is a package of the native architecture, or else the
    first package that provides it. Versions are not checked here: apt checks them when the package
    is installed in the container. Two apt-cache calls in all: each one loads the whole cache."""
    entries = []
    for entry in filter(None, (e.strip() for e in depends.split(","))):
        alternatives = [re.split(r"[\s(:]", a.strip())[0] for a in entry.split("|")]
        if not any(a in have for a in alternatives):
            entries.append((entry, alternatives))
    names = sorted({a for _, alts in entries for a in alts})
    if not names:
        return []
    real = set(re.findall(r"^Package: (\S+)$", _apt_cache("show", "--no-all-versions", *names), re.M))
    providers = {}
    virtual = [n for n in names if n not in real]
    if virtual:
        for block in _apt_cache("showpkg", *virtual).split("Package: ")[1:]:
            name = block.split(None, 1)[0]
            provides = block.split("Reverse Provides:", 1)[1] if "Reverse Provides:" in block else ""
            providers[name] = [l.split()[0] for l in provides.splitlines() if l.strip() and ":" not in l.split()[0]]
    chosen = []
    for entry, alternatives in entries:
        candidates = [p for a in alternatives for p in ([a] if a in real else providers.get(a, []))]
        if not candidates:
            raise AssertionError(f"nothing on this system's apt lists satisfies Depends entry {entry!r} "
                                 "(apt-get update?)")
        chosen.append(candidates[0])
    return chosen


def mounts_under(path: str) -> list:
    """Mount points at or below `path` in this mount namespace, deepest first."""
    path = os.path.realpath(path).rstrip("/")
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4].replace("\\040", " ") for line in f]
    return sorted({p for p in points if p == path or p.startswith(path + "/")}, key=len, reverse=True)


def safe_rmtree(path: str) -> None:
    """rmtree that first detaches what a killed debootstrap may have left mounted inside (its /proc,
    /sys, or a bind of the host's /dev in a container), and refuses rather than delete through a mount."""
    if not os.path.lexists(path):
        return
    for point in mounts_under(path):
        subprocess.run(["umount", "-l", point], capture_output=True, timeout=60)
    left = mounts_under(path)
    if left:
        raise AssertionError(f"not deleting {path}: still mounted inside it: {left}")
    shutil.rmtree(path, ignore_errors=True)


def _key(packages, depends: str) -> str:
    text = "\n".join([ROOT_FORMAT, SUITE, MIRROR, *sorted(set(packages)), depends])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _customise(root: str) -> None:
    for unit in MASKED_UNITS:
        link = os.path.join(root, "etc/systemd/system", unit)
        os.makedirs(os.path.dirname(link), exist_ok=True)
        if not os.path.lexists(link):
            os.symlink("/dev/null", link)
    with open(os.path.join(root, "etc/hostname"), "w") as f:
        f.write("cellgate-systest\n")
    # Each boot gets a machine id of its own from nspawn.
    with open(os.path.join(root, "etc/machine-id"), "w"):
        pass


def cached_root(cache_dir: str, packages, depends: str = "") -> tuple:
    """The root tree with `packages` and what satisfies the Depends field `depends` (plus
    debootstrap's minbase), built on first use and kept under cache_dir, keyed by a hash of both.
    Returns (path, packages it was built with, seconds spent building or None)."""
    for tool in ("debootstrap", "systemd-nspawn", "nsenter"):
        if not shutil.which(tool):
            raise CannotRun(f"{tool} not installed (scripts/install-deps installs it)")
    os.makedirs(cache_dir, exist_ok=True)
    key = _key(packages, depends)
    final = os.path.join(cache_dir, key)
    with open(os.path.join(cache_dir, "lock"), "w") as lock:
        # Two runs at once build the tree once: the second waits for the first.
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(os.path.join(final, "ready")):
            with open(os.path.join(final, "ready")) as f:
                return os.path.join(final, "root"), f.read().split(), None
        safe_rmtree(final)
        building = final + ".building"
        safe_rmtree(building)
        os.makedirs(building)
        start = time.monotonic()
        include = sorted(set(packages) | set(depends_packages(depends, have=packages)))
        cmd = ["debootstrap", "--variant=minbase", "--include=" + ",".join(include),
               SUITE, os.path.join(building, "root"), MIRROR]
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=DEBOOTSTRAP_TIMEOUT)
        except subprocess.TimeoutExpired:
            safe_rmtree(building)
            raise AssertionError(f"debootstrap did not finish in {DEBOOTSTRAP_TIMEOUT}s") from None
        if r.returncode != 0:
            log = os.path.join(building, "root", "debootstrap", "debootstrap.log")
            tail = open(log, errors="replace").read()[-3000:] if os.path.exists(log) else ""
            safe_rmtree(building)
            raise AssertionError(f"debootstrap exited {r.returncode}: {r.stderr[-2000:]}\n{tail}")
        _customise(os.path.join(building, "root"))
        spent = time.monotonic() - start
        with open(os.path.join(building, "ready"), "w") as f:
            f.write(" ".join(include) + "\n")
        os.rename(building, final)
        # Only the tree for the current package list is kept.
        for name in os.listdir(cache_dir):
            if name not in (key, "lock"):
                safe_rmtree(os.path.join(cache_dir, name))
        return os.path.join(final, "root"), include, spent


def _status(pid: int) -> dict:
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def _children(pid: int) -> list:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def _descendant(top: int, match) -> int | None:
    """The first of `top` and its descendants whose NSpid list (its PID in each namespace, the
    innermost last) satisfies match(list)."""
    unvisited = [top]
    while unvisited:
        pid = unvisited.pop()
        try:
            nspid = _status(pid).get("NSpid", "").split()
        except OSError:
            continue
        if nspid and match(nspid):
            return pid
        unvisited += _children(pid)
    return None


class Container:
    """systemd-nspawn --boot of `root`, read-only under a tmpfs overlay, private network (lo only),
    with host directories bound read-only. .leader is the container's PID 1 as seen from the host."""

    def __init__(self, root: str, binds: dict, log_path: str):
        self.root, self.binds, self.log_path = root, dict(binds), log_path
        self.name = f"cellgate-systest-{os.getpid()}"
        self.proc = None
        self.leader = None
        self.boot_seconds = None
        self.system_state = None

    def __enter__(self) -> "Container":
        cmd = ["systemd-nspawn", "--quiet", "--boot", "--directory", self.root, "--machine", self.name,
               "--volatile=overlay", "--private-network", "--register=no", "--keep-unit",
               "--console=pipe", "--system-call-filter=bpf", "--capability=CAP_BPF"]
        cmd += [f"--bind-ro={host}:{inside}" for host, inside in self.binds.items()]
        env = dict(os.environ, SYSTEMD_NSPAWN_UNIFIED_HIERARCHY="1")
        self._log = open(self.log_path, "w")
        start = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                                     env=env, start_new_session=True)
        try:
            self.leader = self._find_leader(start)
            self._wait_for_manager(start)
            # Waits for the boot transaction to finish: "running", or "degraded" with a failed unit.
            r = self.run(["systemctl", "is-system-running", "--wait"], timeout=BOOT_TIMEOUT, check=False)
            self.system_state = r.stdout.strip()
            self.boot_seconds = time.monotonic() - start
            if self.system_state not in ("running", "degraded"):
                raise AssertionError(f"the container did not boot: is-system-running says {self.system_state!r}"
                                     f"\n{self.console()[-3000:]}")
        except BaseException:
            self._teardown()
            raise
        return self

    def _find_leader(self, start: float) -> int:
        """The container's PID 1: the descendant of nspawn that is PID 1 in its own PID namespace."""
        while time.monotonic() - start < BOOT_TIMEOUT:
            if self.proc.poll() is not None:
                raise AssertionError(f"systemd-nspawn exited {self.proc.returncode}:\n{self.console()[-3000:]}")
            pid = _descendant(self.proc.pid, lambda nspid: len(nspid) >= 2 and nspid[-1] == "1")
            if pid:
                return pid
            time.sleep(0.05)
        raise AssertionError(f"no container PID 1 after {BOOT_TIMEOUT}s:\n{self.console()[-3000:]}")

    def _wait_for_manager(self, start: float) -> None:
        """Until PID 1 runs systemd and its private socket answers: before that, systemctl in the
        container says "offline" instead of waiting."""
        while time.monotonic() - start < BOOT_TIMEOUT:
            if self.proc.poll() is not None:
                raise AssertionError(f"systemd-nspawn exited {self.proc.returncode}:\n{self.console()[-3000:]}")
            try:
                with open(f"/proc/{self.leader}/comm") as f:
                    comm = f.read().strip()
            except OSError:
                comm = ""
            if comm == "systemd" and os.path.exists(f"/proc/{self.leader}/root/run/systemd/private"):
                return
            time.sleep(0.05)
        raise AssertionError(f"PID 1 of the container is not systemd after {BOOT_TIMEOUT}s:\n{self.console()[-3000:]}")

    def console(self) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def run(self, cmd, timeout: float = 60, check: bool = True, input: str | None = None,
            target: int | None = None, namespaces=("-a",)) -> subprocess.CompletedProcess:
        """Runs cmd inside the container (all of PID 1's namespaces, its root and cgroup), or inside
        the namespaces of `target`, a host PID, with `namespaces` naming which (nsenter options)."""
        pid = target or self.leader
        full = ["nsenter", "-t", str(pid), *namespaces, "--", "env", "-i", f"PATH={PATH}", "LANG=C.UTF-8",
                "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0", "DEBIAN_FRONTEND=noninteractive", *cmd]
        r = subprocess.run(full, capture_output=True, text=True, timeout=timeout, input=input,
                           stdin=None if input is not None else subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise AssertionError(f"in the container: {' '.join(cmd)} exited {r.returncode}:\n{r.stdout}{r.stderr}")
        return r

    def host_pid(self, container_pid: int) -> int:
        """The host's PID of a process the container knows as container_pid."""
        pid = _descendant(self.leader, lambda nspid: nspid[-1] == str(container_pid))
        if pid:
            return pid
        raise AssertionError(f"container PID {container_pid} not found under PID 1 (host {self.leader})")

    def __exit__(self, *exc) -> None:
        self._teardown()

    def _teardown(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            # nspawn turns SIGTERM into an orderly shutdown of a booted container.
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(SHUTDOWN_TIMEOUT)
            except subprocess.TimeoutExpired:
                # Killing PID 1 of a PID namespace kills everything in it; nspawn then exits.
                if self.leader:
                    try:
                        os.kill(self.leader, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(10)
        self._log.close()
        self.proc = None

    def leftovers(self) -> list:
        """What the container left after teardown (there should be nothing): a running nspawn,
        mounts under the root, nspawn's propagation directory."""
        out = [f"systemd-nspawn {self.proc.pid} running"] if self.proc and self.proc.poll() is None else []
        out += [f"mount {m}" for m in mounts_under(self.root)]
        propagate = f"/run/systemd/nspawn/propagate/{self.name}"
        if os.path.isdir(propagate):
            try:
                os.rmdir(propagate)  # nspawn refuses to delete it where /run is not a tmpfs
            except OSError:
                out.append(propagate)
        return out
