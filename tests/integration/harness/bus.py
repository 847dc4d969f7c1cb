"""A private system bus for one test, and the command-line clients that talk to it.

busctl and dbus-send are used (rather than an in-process client) because both can run as another
user through setpriv: the policy tests call as `nobody`. dbus_client.DBusClient is the in-process
client for volume (pipelined Publish calls).
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import subprocess

from .procs import make_workdir, stop_process
from .run import wait_for

SERVICE = "org.cellgate.Gateway1"
GATEWAY_PATH = "/org/cellgate/Gateway1"
GATEWAY_IFACE = "org.cellgate.Gateway1"
MODEM_PATH = "/org/cellgate/Gateway1/Modem"
MODEM_IFACE = "org.cellgate.Gateway1.Modem"
CLOUD_IFACE = "org.cellgate.Gateway1.CloudSession"

# Drop to nobody with no supplementary groups: an unprivileged bus client.
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def cloud_path(name: str) -> str:
    """The session's object path; the name is escaped like sd_bus_path_encode() does
    (every byte outside [A-Za-z0-9] becomes _xx)."""
    if not name:
        return "/org/cellgate/Gateway1/Cloud/_"
    enc = "".join(ch if ch.isascii() and ch.isalnum() else "".join(f"_{b:02x}" for b in ch.encode())
                  for ch in name)
    return "/org/cellgate/Gateway1/Cloud/" + enc


class BusError(Exception):
    def __init__(self, name: str, message: str):
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <!-- Same default policy as Debian's /usr/share/dbus-1/system.conf, minus activation,
       forking, syslog and the system.d include dirs: only the policy under test is added. -->
  <type>system</type>
  <auth>EXTERNAL</auth>
  <listen>unix:path={socket}</listen>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"
          send_member="UpdateActivationEnvironment"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Debug.Stats"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
  <include>{policy}</include>
{extra}
</busconfig>
"""

_PERMISSIVE = """  <policy context="mandatory">
    <allow send_destination="org.cellgate.Gateway1"/>
  </policy>"""


def _typed_value(v):
    """busctl --json=short renders {"type": sig, "data": value}; return the plain value."""
    if isinstance(v, dict) and set(v) == {"type", "data"}:
        return _typed_value(v["data"])
    if isinstance(v, list):
        return [_typed_value(x) for x in v]
    if isinstance(v, dict):
        return {k: _typed_value(x) for k, x in v.items()}
    return v


def _as_user(cmd: list, user: str | None) -> list:
    if user == "nobody":
        return NOBODY + cmd
    if user not in (None, "root"):
        raise ValueError(f"unsupported user {user!r}")
    return cmd


class PrivateBus:
    """A system-bus-like dbus-daemon on a unix socket in a scratch directory: deny by default,
    <include>s the shipped policy. permissive=True adds a rule letting anyone call anything, to
    test the daemon's own checks.

        with PrivateBus(args.policy) as bus:
            bus.address; bus.get_property(MODEM_PATH, MODEM_IFACE, "State", user="nobody")

    call() goes through busctl, which prints only the error message (and "Access denied" for any
    AccessDenied), so BusError.name is a best guess there; send() (dbus-send) gives the exact
    error name and message."""

    def __init__(self, policy: str, permissive: bool = False, workdir: str | None = None,
                 keep: bool = False):
        self.policy = os.path.abspath(policy)
        self.permissive = permissive
        self.keep = keep
        self._own_workdir = workdir is None
        self.workdir = workdir or make_workdir("cellgate-bus-")
        self.socket_path = os.path.join(self.workdir, "system_bus_socket")
        self.address = ""
        self.proc = None

    def __enter__(self) -> "PrivateBus":
        if not os.path.exists(self.policy):
            raise FileNotFoundError(self.policy)
        config = os.path.join(self.workdir, "bus.conf")
        with open(config, "w") as f:
            f.write(_BUS_CONFIG.format(socket=self.socket_path, policy=self.policy,
                                       extra=_PERMISSIVE if self.permissive else ""))
        with open(os.path.join(self.workdir, "bus.log"), "w") as log:
            self.proc = subprocess.Popen(
                ["dbus-daemon", f"--config-file={config}", "--print-address", "--nofork"],
                stdout=subprocess.PIPE, stderr=log, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 10)
        if not ready:
            stop_process(self.proc)
            raise TimeoutError("dbus-daemon did not print its address")
        self.address = self.proc.stdout.readline().strip()
        if not self.address:
            stop_process(self.proc)
            raise RuntimeError("dbus-daemon failed: " + self._bus_log())
        os.chmod(self.socket_path, 0o777)
        return self

    def __exit__(self, *exc) -> None:
        stop_process(self.proc)
        if self.proc is not None:
            self.proc.stdout.close()
        if self._own_workdir and not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _bus_log(self) -> str:
        try:
            with open(os.path.join(self.workdir, "bus.log")) as f:
                return f.read()
        except OSError:
            return ""

    def busctl(self, *args: str, user: str | None = None, check: bool = True,
               timeout: float = 10) -> subprocess.CompletedProcess:
        cmd = _as_user(["busctl", f"--address={self.address}", "--no-pager", *args], user)
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise _busctl_error(r)
        return r

    def get_property(self, path: str, iface: str, prop: str, user: str | None = None):
        r = self.busctl("--json=short", "get-property", SERVICE, path, iface, prop, user=user)
        return _typed_value(json.loads(r.stdout))

    def get_all(self, path: str, iface: str, user: str | None = None) -> dict:
        r = self.busctl("--json=short", "call", SERVICE, path, "org.freedesktop.DBus.Properties",
                        "GetAll", "s", iface, user=user)
        return _typed_value(json.loads(r.stdout))[0]

    def call(self, path: str, iface: str, method: str, signature: str = "", *args,
             user: str | None = None) -> list:
        """The reply's values; raises BusError on an error reply."""
        extra = [signature, *map(str, args)] if signature else []
        r = self.busctl("--json=short", "call", SERVICE, path, iface, method, *extra, user=user)
        out = r.stdout.strip()
        return _typed_value(json.loads(out)) if out else []

    def send(self, path: str, iface: str, method: str, *args: str, user: str | None = None,
             timeout: float = 10) -> str:
        """dbus-send --print-reply; args in its syntax ("string:x", "uint32:5"). Returns the reply
        text; raises BusError with the exact error name and message."""
        cmd = _as_user(["dbus-send", f"--bus={self.address}", "--print-reply", f"--dest={SERVICE}",
                        f"--reply-timeout={int(timeout * 1000)}", path, f"{iface}.{method}", *args], user)
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 5)
        if r.returncode != 0:
            m = re.match(r"Error (\S+): (.*)", r.stderr.strip(), re.DOTALL)
            if m:
                raise BusError(m.group(1), m.group(2))
            raise BusError("unknown", r.stderr.strip())
        return r.stdout

    def wait_property(self, path: str, iface: str, prop: str, expected, timeout: float = 10):
        seen = []

        def check():
            v = self.get_property(path, iface, prop)
            seen[:] = [v]
            return v == expected

        try:
            wait_for(check, timeout, f"{prop} == {expected!r}")
        except TimeoutError as e:
            raise TimeoutError(f"{e}; last value {seen[0] if seen else None!r}") from None

    def has_owner(self, name: str = SERVICE) -> bool:
        r = self.busctl("call", "org.freedesktop.DBus", "/org/freedesktop/DBus",
                        "org.freedesktop.DBus", "NameHasOwner", "s", name)
        return r.stdout.strip() == "b true"


def _busctl_error(r: subprocess.CompletedProcess) -> BusError:
    """busctl prints only the error message; map well-known ones back to their names."""
    msg = r.stderr.strip()
    known = [
        ("org.freedesktop.DBus.Error.AccessDenied", ("Access denied", "not permitted",
                                                      "Rejected send message")),
        ("org.freedesktop.DBus.Error.UnknownMethod", ("Unknown method",)),
        ("org.freedesktop.DBus.Error.UnknownProperty", ("Unknown property",)),
        ("org.freedesktop.DBus.Error.ServiceUnknown", ("was not provided by any",)),
    ]
    for name, needles in known:
        if any(n in msg for n in needles):
            return BusError(name, msg)
    m = re.search(r"\b((?:[A-Za-z_][\w]*\.)+Error\.[\w.]+)", msg)
    return BusError(m.group(1) if m else "unknown", msg)
