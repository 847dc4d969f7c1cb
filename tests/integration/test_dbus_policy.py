#!/usr/bin/env python3
"""The shipped D-Bus policy with the daemon as the service user: cellgated installed with
`cmake --install` into a throw-away root, run as user `cellgate` (created from the installed
sysusers.d entry when missing) on a system-bus style dbus-daemon that includes the installed
policy, against the modem simulator and a local mosquitto as the cloud. An unprivileged caller
reads properties and introspects but cannot call Reset, Reconnect or Publish; root can.

Needs root (to create the user and to switch to it); skips with a message otherwise."""

import os
import pwd
import shutil
import subprocess
import sys
import tempfile

import harness
from brokers import MosquittoBroker
from harness import (GATEWAY_IFACE, GATEWAY_PATH, MODEM_IFACE, MODEM_PATH, SERVICE, BusError, Daemon, PrivateBus,
                     Simulator, bridge_config, check_config, cloud_path, modem_config, wait_for)

USER = "cellgate"  # the name the policy and the unit use
CLOUD_IFACE = "org.cellgate.Gateway1.CloudSession"
DENIED = "org.freedesktop.DBus.Error.AccessDenied"


class Installed:
    """`DESTDIR=<tmp> cmake --install <build dir> --prefix /usr`: the files the package ships."""

    def __init__(self, daemon: str, keep: bool):
        self.build = os.path.dirname(os.path.abspath(daemon))
        self.keep = keep
        self.root = tempfile.mkdtemp(prefix="cellgate-root-")
        os.chmod(self.root, 0o755)  # the service user runs the installed binary from here

    def __enter__(self):
        env = dict(os.environ, DESTDIR=self.root)
        try:
            r = subprocess.run(["cmake", "--install", self.build, "--prefix", "/usr"], env=env,
                               capture_output=True, text=True, timeout=120)
            assert r.returncode == 0, r.stdout + r.stderr
        except BaseException:
            self.__exit__(None, None, None)  # `with` calls it only once __enter__ returned
            raise
        return self

    def __exit__(self, *exc):
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)

    def path(self, p: str) -> str:
        return os.path.join(self.root, p.lstrip("/"))


def ensure_service_user(sysusers_conf: str) -> pwd.struct_passwd:
    """The user as the package's postinst makes it. Left in place afterwards, like a package
    removal does: tests running in parallel may share it."""
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        pass
    r = subprocess.run(["systemd-sysusers", sysusers_conf], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    print(f"created system user {USER!r} from {sysusers_conf}", flush=True)
    return pwd.getpwnam(USER)


def as_service_user(workdir: str, binary: str) -> str:
    """A wrapper that runs `binary` as the service user with its groups (dialout), as the unit's
    User= and SupplementaryGroups= do, and with the unit's ProtectProc=invisible/ProcSubset=pid
    (its own /proc shows no other user's processes: sd-bus cannot learn a caller's capabilities
    from /proc there). Each step execs, so the harness's pid is cellgated's."""
    path = os.path.join(workdir, "cellgated-as-" + USER)
    drop = f"exec setpriv --reuid={USER} --regid={USER} --init-groups --"
    inner = f"mount -t proc -o hidepid=invisible,subset=pid proc /proc && {drop} \"$0\" \"$@\""
    with open(path, "w") as f:
        if HIDEPID:
            f.write("#!/bin/sh\n"
                    f"exec unshare --mount --propagation private sh -c '{inner}' {binary} \"$@\"\n")
        else:
            f.write(f"#!/bin/sh\n{drop} {binary} \"$@\"\n")
    os.chmod(path, 0o755)
    return path


def _can_hide_proc() -> bool:
    """A private mount namespace with hidepid /proc, as ProtectProc= makes (not in every container)."""
    r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                        "mount -t proc -o hidepid=invisible,subset=pid proc /proc"],
                       capture_output=True, text=True, timeout=10)
    return r.returncode == 0


HIDEPID = False  # set in main()


def expect_error(call, name: str, text: str | None = None) -> BusError:
    try:
        call()
    except BusError as e:
        assert e.name == name, f"want {name}, got {e}"
        assert text is None or text in e.message, f"want {text!r} in {e}"
        return e
    raise AssertionError(f"call succeeded; want {name}")


def config(port: str, broker_endpoint: str, outbox: str) -> str:
    # The service user cannot write /var/lib/cellgate here (no StateDirectory= outside systemd).
    return bridge_config([dict(name="lab", platform="generic", endpoint=broker_endpoint, client_id="gw-policy",
                               keepalive="60s")], outbox=dict(path=outbox), modem=modem_config(port))


def test_policy_with_daemon_as_service_user(args):
    with Installed(args.daemon, args.keep) as inst:
        policy = inst.path("/usr/share/dbus-1/system.d/org.cellgate.Gateway1.conf")
        binary = inst.path("/usr/sbin/cellgated")
        assert os.path.isfile(policy) and os.access(binary, os.X_OK), "install layout changed"
        user = ensure_service_user(inst.path("/usr/lib/sysusers.d/cellgate.conf"))
        assert user.pw_uid != 0

        work = tempfile.mkdtemp(prefix="cellgate-policy-")
        os.chmod(work, 0o777)
        try:
            with PrivateBus(policy, keep=args.keep) as bus, \
                    Simulator(args.sim, "normal", keep=args.keep) as sim, \
                    MosquittoBroker() as broker:
                # A USB tty is root:dialout 0660; the simulator's pty is root's until handed over.
                os.chown(os.path.realpath(sim.link), user.pw_uid, -1)
                text = config(sim.link, broker.endpoint, os.path.join(work, "outbox.db"))
                check_config(binary, text, work)
                wrapper = as_service_user(work, binary)
                # The notify socket the harness binds must be writable by the service user.
                old = os.umask(0)
                try:
                    daemon = Daemon(wrapper, text, bus, keep=args.keep)
                    daemon.__enter__()
                finally:
                    os.umask(old)
                try:
                    run_checks(bus, daemon, user)
                finally:
                    daemon.__exit__(*sys.exc_info())
        finally:
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)


def run_checks(bus: PrivateBus, d: Daemon, user: pwd.struct_passwd):
    d.wait_ready(timeout=20)
    # The name is owned by the service user, not by root.
    owner_uid = bus.busctl("call", "org.freedesktop.DBus", "/org/freedesktop/DBus",
                           "org.freedesktop.DBus", "GetConnectionUnixUser", "s", SERVICE).stdout
    assert owner_uid.strip() == f"u {user.pw_uid}", owner_uid
    with open(f"/proc/{wait_for(lambda: daemon_pid(d), 5, 'daemon pid')}/status") as f:
        status = f.read()
    assert f"Uid:\t{user.pw_uid}\t{user.pw_uid}" in status, status
    if HIDEPID:
        with open(f"/proc/{d.proc.pid}/mountinfo") as f:
            assert any(" /proc " in l and "hidepid=invisible" in l for l in f), "no ProtectProc= /proc"
    bus.wait_property(MODEM_PATH, MODEM_IFACE, "State", "connected", timeout=30)
    lab = cloud_path("lab")
    bus.wait_property(lab, CLOUD_IFACE, "State", "connected", timeout=30)

    # Anyone reads and introspects.
    assert bus.get_property(MODEM_PATH, MODEM_IFACE, "State", user="nobody") == "connected"
    assert bus.get_all(GATEWAY_PATH, GATEWAY_IFACE, user="nobody")["State"] in ("online", "degraded")
    assert bus.get_property(lab, CLOUD_IFACE, "State", user="nobody") == "connected"
    assert "org.cellgate.Gateway1.Modem" in bus.send(
        MODEM_PATH, "org.freedesktop.DBus.Introspectable", "Introspect", user="nobody")

    # An unprivileged caller is stopped by dbus-daemon before the daemon sees anything.
    rejected = "Rejected send message"
    expect_error(lambda: bus.send(MODEM_PATH, MODEM_IFACE, "Reset", user="nobody"), DENIED, rejected)
    expect_error(lambda: bus.send(lab, CLOUD_IFACE, "Reconnect", user="nobody"), DENIED, rejected)
    expect_error(lambda: bus.send(lab, CLOUD_IFACE, "Publish", "string:t", "array:byte:0x7b,0x7d",
                                  "byte:1", user="nobody"), DENIED, rejected)
    expect_error(lambda: bus.send(MODEM_PATH, "org.freedesktop.DBus.Properties", "Set",
                                  f"string:{MODEM_IFACE}", "string:Apn", "variant:string:x",
                                  user="nobody"), DENIED, rejected)
    # Nor may anyone but the service user (and root) take the name.
    r = subprocess.run(harness.NOBODY + [
        "dbus-send", f"--bus={bus.address}", "--print-reply", "--dest=org.freedesktop.DBus",
        "/org/freedesktop/DBus", "org.freedesktop.DBus.RequestName", "string:" + SERVICE,
        "uint32:4"], capture_output=True, text=True, timeout=10)
    assert r.returncode != 0 and "AccessDenied" in r.stderr, r

    # Root can: the bus lets it through and so does the daemon, although it runs as another uid.
    bus.send(lab, CLOUD_IFACE, "Reconnect")
    d.wait_log("Reconnect() of cloud lab requested")
    reply = bus.send(lab, CLOUD_IFACE, "Publish", "string:gw/policy", "array:byte:0x7b,0x7d", "byte:1")
    assert "uint64" in reply, reply
    resets = bus.get_property(MODEM_PATH, MODEM_IFACE, "Resets")
    bus.send(MODEM_PATH, MODEM_IFACE, "Reset")
    wait_for(lambda: bus.get_property(MODEM_PATH, MODEM_IFACE, "Resets") > resets, 20,
             "Resets to count root's Reset()")
    assert d.proc.poll() is None, d.log()


def daemon_pid(d: Daemon) -> int:
    """The wrapper execs the daemon, so the harness's process is cellgated itself."""
    with open(f"/proc/{d.proc.pid}/comm") as f:
        return d.proc.pid if f.read().strip() == "cellgated" else 0


def main():
    if os.geteuid() != 0:
        print(f"SKIP test_dbus_policy: needs root to create the {USER!r} user and to run the "
              "daemon as it (run the tests as root, as CI does)", flush=True)
        sys.exit(77)  # CTest's SKIP_RETURN_CODE: reported as skipped, not passed
    for tool in ("setpriv", "systemd-sysusers", "cmake", "mosquitto"):
        assert shutil.which(tool), f"{tool} not found (scripts/install-deps installs it)"
    global HIDEPID
    HIDEPID = _can_hide_proc()
    if not HIDEPID:
        print("note: cannot mount a hidepid /proc here (no mount namespace); the daemon runs "
              "without the unit's ProtectProc=invisible", flush=True)
    harness.run([test_policy_with_daemon_as_service_user], workers=1)


if __name__ == "__main__":
    main()
