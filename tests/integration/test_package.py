#!/usr/bin/env python3
"""The Debian package: cpack builds the .deb from this build tree, `dpkg -x` unpacks it into a
throw-away root, and every file is checked to be where the unit, the bus policy, the sysusers
entry, the udev rule, the code and the man pages say. The installed unit passes
`systemd-analyze verify` and rates at most 2.0 with `systemd-analyze security --offline=true`.
The maintainer scripts run against stub commands: they create the user, reload, enable nothing;
and against the real deb-systemd-helper in a throw-away root: an enablement the administrator made
survives remove and reinstall, and purge takes it away. The binary is hardened (PIE, BIND_NOW,
stack protector, fortified libc calls in an optimised build). lintian reports no error, and the
copyright file names the license that LICENSE holds."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

import harness

SOURCE_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MAX_EXPOSURE = 2.0


def src(*parts: str) -> str:
    with open(os.path.join(SOURCE_DIR, *parts)) as f:
        return f.read()


def run(cmd, check=True, **kw) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=kw.pop("timeout", 120), **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stdout}{r.stderr}")
    return r


class Package:
    """Builds the .deb once per test run and unpacks it."""

    def __init__(self, daemon: str):
        self.build = os.path.dirname(os.path.abspath(daemon))
        self.tmp = tempfile.mkdtemp(prefix="cellgate-pkg-")
        try:
            self._make(daemon)
        except BaseException:
            # pkg() keeps no failed Package: the next test builds again in a directory of its own.
            self.cleanup()
            raise

    def _make(self, daemon: str) -> None:
        config = os.path.join(self.build, "CPackConfig.cmake")
        assert os.path.exists(config), f"{config} missing: is {daemon} in the top build dir?"
        # -B keeps the staging tree out of the build dir, so parallel runs do not collide.
        run(["cpack", "--config", config, "-B", os.path.join(self.tmp, "out")], timeout=300)
        debs = [f for f in os.listdir(os.path.join(self.tmp, "out")) if f.endswith(".deb")]
        assert len(debs) == 1, debs
        self.deb = os.path.join(self.tmp, "out", debs[0])
        self.root = os.path.join(self.tmp, "root")
        run(["dpkg-deb", "-x", self.deb, self.root])
        self.control = os.path.join(self.tmp, "control")
        run(["dpkg-deb", "-e", self.deb, self.control])

    def field(self, name: str) -> str:
        return run(["dpkg-deb", "-f", self.deb, name]).stdout.strip()

    def path(self, p: str) -> str:
        return os.path.join(self.root, p.lstrip("/"))

    def read(self, p: str) -> str:
        with open(self.path(p)) as f:
            return f.read()

    def files(self) -> set:
        out = set()
        for d, _, names in os.walk(self.root):
            for n in names:
                out.add("/" + os.path.relpath(os.path.join(d, n), self.root))
        return out

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


_pkg = None


def pkg(args) -> Package:
    global _pkg
    if _pkg is None:
        _pkg = Package(args.daemon)
    return _pkg


def unit_keys(text: str) -> dict:
    keys = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;[":
            continue
        k, _, v = line.partition("=")
        keys.setdefault(k.strip(), []).append(v.strip())
    return keys


UNIT = "/lib/systemd/system/cellgate.service"


# --- control data ------------------------------------------------------------------------------

def test_control_fields_and_depends(args):
    p = pkg(args)
    assert p.field("Package") == "cellgate"
    version = re.search(r"project\(\s*cellgate\s+VERSION\s+([0-9.]+)", src("CMakeLists.txt")).group(1)
    assert p.field("Version") == version + "-1", p.field("Version")
    arch = run(["dpkg", "--print-architecture"]).stdout.strip()
    assert p.field("Architecture") == arch
    assert os.path.basename(p.deb) == f"cellgate_{version}-1_{arch}.deb", p.deb

    depends = [d.strip() for d in p.field("Depends").split(",")]
    names = {re.split(r"[ (]", alt.strip())[0] for d in depends for alt in d.split("|")}
    assert "dbus-system-bus" in names, depends
    assert "procps" in names, f"ExecReload= runs /bin/kill, which procps ships: {depends}"
    assert "busybox" in names, f"the DHCP client of the module's interface is busybox udhcpc: {depends}"
    # Every library the binary links comes from a package that Depends names (dpkg-shlibdeps).
    needed = re.findall(r"NEEDED\s+(\S+)", run(["objdump", "-p", p.path("/usr/sbin/cellgated")]).stdout)
    assert "libsystemd.so.0" in needed and "libyaml-cpp.so.0.7" in needed, needed
    cache = run(["ldconfig", "-p"]).stdout
    for soname in needed:
        m = re.search(rf"^\s+{re.escape(soname)} \(libc6,x86-64\) => (\S+)$", cache, re.M) or \
            re.search(rf"^\s+{re.escape(soname)} .*=> (\S+)$", cache, re.M)
        assert m, f"{soname} not in the linker cache"
        owner = run(["dpkg", "-S", os.path.realpath(m.group(1))], check=False).stdout or \
            run(["dpkg", "-S", m.group(1)]).stdout
        package = owner.split(":")[0].split(",")[0].strip()
        assert package in names, f"{soname} is in {package}, which Depends lacks: {depends}"


def test_conffiles_and_maintainer_scripts(args):
    p = pkg(args)
    with open(os.path.join(p.control, "conffiles")) as f:
        assert f.read().split() == ["/etc/cellgate/cellgate.yaml"]
    for name in ("postinst", "prerm", "postrm"):
        script = os.path.join(p.control, name)
        assert os.stat(script).st_mode & 0o777 == 0o755, name
        run(["sh", "-n", script])
        with open(script) as f:
            text = "".join(l for l in f if not l.lstrip().startswith("#"))
        # Installing starts nothing (enablement: see the deb-systemd-helper test below).
        assert not re.search(r"(systemctl|deb-systemd-invoke)\s+(\S+\s+)?(start|enable)\b", text), name
        # Units go through deb-systemd-helper/-invoke (policy-rc.d, the enablement state); systemctl
        # only for daemon-reload, as lintian's maintainer-script-calls-systemctl wants.
        for line in text.splitlines():
            if re.search(r"^(?:.+;)?\s*systemctl\b", line):
                assert "daemon-reload" in line, f"{name}: {line.strip()}"


def stub_env(tmp: str, log: str) -> dict:
    """PATH with only logging stubs: each records its argv and succeeds."""
    stubs = os.path.join(tmp, "stubs")
    os.makedirs(stubs)
    for cmd in ("systemd-sysusers", "dpkg-statoverride", "chown", "chmod", "systemctl", "udevadm",
                "deb-systemd-invoke", "deb-systemd-helper", "dbus-send", "getent", "groupadd", "useradd",
                "usermod", "rm"):
        path = os.path.join(stubs, cmd)
        with open(path, "w") as f:
            # dpkg-statoverride --list fails: no override set by an administrator.
            rc = "1" if cmd == "dpkg-statoverride" else "0"
            # deb-systemd-helper's questions: a first install unless the test says otherwise.
            state = ('[ "$1" = debian-installed ] && exit "${CELLGATE_DSH_INSTALLED:-1}"\n'
                     '[ "$2" = was-enabled ] && exit "${CELLGATE_DSH_ENABLED:-1}"\n'
                     if cmd == "deb-systemd-helper" else "")
            f.write(f'#!/bin/sh\necho "{cmd} $*" >> {log}\n{state}exit {rc}\n')
        os.chmod(path, 0o755)
    return {"PATH": stubs}


def test_postinst_creates_the_user_and_enables_nothing(args):
    p = pkg(args)
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "calls")
        open(log, "w").close()
        env = stub_env(tmp, log)
        run(["/bin/sh", os.path.join(p.control, "postinst"), "configure", ""], env=env)
        with open(log) as f:
            calls = f.read().splitlines()
        sysusers = p.read("/usr/lib/sysusers.d/cellgate.conf")
        assert "systemd-sysusers cellgate.conf" in calls, calls
        # A first install records the unit's links for purge and enables or unmasks nothing.
        assert "deb-systemd-helper update-state cellgate.service" in calls, calls
        assert not any(re.search(r"\b(enable|unmask|start)\b", c) for c in calls), calls
        # A reinstall after remove: the mask goes, the administrator's enablement comes back ...
        for enabled, expected in (("0", ["unmask", "enable", "update-state"]), ("1", ["unmask", "update-state"])):
            open(log, "w").close()
            run(["/bin/sh", os.path.join(p.control, "postinst"), "configure", ""],
                env=dict(env, CELLGATE_DSH_INSTALLED="0", CELLGATE_DSH_ENABLED=enabled))
            with open(log) as f:
                verbs = [c.split()[1] for c in f.read().splitlines()
                         if c.startswith("deb-systemd-helper ") and c.split()[1] != "--quiet"]
            assert [v for v in verbs if v != "debian-installed"] == expected, (enabled, verbs)
        open(log, "w").close()
        if not os.path.exists("/etc/cellgate/cellgate.yaml"):
            assert not any(c.startswith(("chown", "chmod")) for c in calls), f"chown of a missing file: {calls}"

        # dpkg --root (chrootless): the user and the config's mode inside the root, nothing else.
        open(log, "w").close()
        run(["/bin/sh", os.path.join(p.control, "postinst"), "configure", ""], env=dict(env, DPKG_ROOT=p.root))
        with open(log) as f:
            calls = f.read().splitlines()
        conf = p.path("/etc/cellgate/cellgate.yaml")
        assert calls[0] == f"systemd-sysusers --root={p.root} cellgate.conf", calls
        assert f"chown root:cellgate {conf}" in calls and f"chmod 0640 {conf}" in calls, calls
        assert not any(c.startswith(("systemctl", "udevadm", "dbus-send", "deb-systemd-invoke")) for c in calls), calls
        assert "deb-systemd-helper update-state cellgate.service" in calls, calls
        assert not any(c.startswith(("systemctl enable", "systemctl start", "deb-systemd-invoke start"))
                       for c in calls), calls
        assert re.search(r"^u cellgate ", sysusers, re.M), sysusers

        # Without systemd-sysusers, the same user by hand.
        os.unlink(os.path.join(env["PATH"], "systemd-sysusers"))
        os.unlink(os.path.join(env["PATH"], "getent"))  # "not found": the user is missing
        open(log, "w").close()
        run(["/bin/sh", os.path.join(p.control, "postinst"), "configure", ""], env=env)
        with open(log) as f:
            calls = f.read()
        assert "useradd --system --gid cellgate" in calls and "usermod --append --groups dialout cellgate" in calls, calls

        # purge removes the state (the outbox) and nothing outside it; the enablement links go
        # through deb-systemd-helper, and without it (init-system-helpers removed) purge still works.
        open(log, "w").close()
        run(["/bin/sh", os.path.join(p.control, "postrm"), "purge"], env=env)
        with open(log) as f:
            calls = f.read().splitlines()
        assert [c for c in calls if c.startswith("rm ")] == ["rm -rf /var/lib/cellgate"], calls
        dsh = [c for c in calls if c.startswith("deb-systemd-helper")]
        assert dsh == ["deb-systemd-helper purge cellgate.service",
                       "deb-systemd-helper unmask cellgate.service"], calls
        os.unlink(os.path.join(env["PATH"], "deb-systemd-helper"))
        open(log, "w").close()
        run(["/bin/sh", os.path.join(p.control, "postrm"), "purge"], env=env)
        with open(log) as f:
            calls = f.read().splitlines()
        assert calls == ["rm -rf /var/lib/cellgate"], calls


def test_enablement_survives_remove_and_purge_removes_it(args):
    """The real deb-systemd-helper (init-system-helpers), in a throw-away root (DPKG_ROOT): the
    maintainer scripts never enable the unit, keep what the administrator enabled across remove
    and reinstall, and purge removes it."""
    helper = shutil.which("deb-systemd-helper")
    assert helper, "deb-systemd-helper not found (init-system-helpers)"
    p = pkg(args)
    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(tmp, "root")
        os.makedirs(os.path.join(root, "lib/systemd/system"))
        log = os.path.join(tmp, "calls")
        env = stub_env(tmp, log)
        os.unlink(os.path.join(env["PATH"], "deb-systemd-helper"))
        env = dict(env, PATH=env["PATH"] + ":" + os.path.dirname(helper) + ":/usr/bin:/bin",
                   DPKG_ROOT=root, DPKG_MAINTSCRIPT_PACKAGE="cellgate")
        wants = os.path.join(root, "etc/systemd/system/multi-user.target.wants/cellgate.service")
        mask = os.path.join(root, "etc/systemd/system/cellgate.service")
        state = os.path.join(root, "var/lib/systemd/deb-systemd-helper-enabled/cellgate.service.dsh-also")

        unit = os.path.join(root, UNIT.lstrip("/"))

        def script(name, *argv):
            # dpkg has the package's files in place for postinst, gone for postrm remove/purge.
            if name == "postinst" and not os.path.exists(unit):
                shutil.copy2(p.path(UNIT), unit)
            if name == "postrm" and os.path.exists(unit):
                os.unlink(unit)
            run(["/bin/sh", os.path.join(p.control, name), *argv], env=env)

        script("postinst", "configure", "")
        assert not os.path.lexists(wants), "the install enabled the unit"
        with open(state) as f:
            assert f.read().split() == ["/etc/systemd/system/multi-user.target.wants/cellgate.service"]
        # The administrator enables it (`systemctl enable cellgate`), then removes the package.
        os.makedirs(os.path.dirname(wants))
        os.symlink(UNIT, wants)
        script("prerm", "remove")
        script("postrm", "remove")
        assert os.readlink(mask) == "/dev/null", "remove left the unit unmasked"
        # Reinstall: unmasked and still enabled.
        script("postinst", "configure", "")
        assert not os.path.lexists(mask), "the reinstall left the unit masked"
        assert os.readlink(wants) == UNIT, "the reinstall lost the enablement"
        # Disabled by the administrator, then upgraded: stays disabled.
        os.unlink(wants)
        script("postinst", "configure", "0.0.9")
        assert not os.path.lexists(wants), "an upgrade enabled a disabled unit"
        # Enabled again, then purged: no link and no state left.
        os.symlink(UNIT, wants)
        script("prerm", "remove")
        script("postrm", "remove")
        script("postrm", "purge")
        assert not os.path.lexists(wants) and not os.path.lexists(mask), "purge left the unit enabled or masked"
        assert not os.path.exists(state)


def _with_running_services(p, script, *argv):
    """Runs a maintainer script in a mount namespace whose /run says systemd, the system bus and
    udev are running (a tmpfs with their directory and sockets), with logging stubs on PATH;
    returns the commands it ran."""
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "calls")
        open(log, "w").close()
        env = stub_env(tmp, log)
        mount, mkdir = shutil.which("mount"), shutil.which("mkdir")
        fake_run = (f"{mount} -t tmpfs none /run && {mkdir} -p /run/systemd/system /run/dbus /run/udev && "
                    f"{sys.executable} -c 'import socket\nfor p in (\"/run/dbus/system_bus_socket\", "
                    f"\"/run/udev/control\"): socket.socket(socket.AF_UNIX).bind(p)' && "
                    f"exec /bin/sh {os.path.join(p.control, script)} " + " ".join(argv))
        run([shutil.which("unshare"), "--mount", "/bin/sh", "-c", fake_run], env=env)
        with open(log) as f:
            return f.read().splitlines()


def test_maintainer_scripts_reload_what_is_running(args):
    p = pkg(args)
    reloads = ["dbus-send --system --type=method_call --dest=org.freedesktop.DBus / "
               "org.freedesktop.DBus.ReloadConfig",
               "systemctl --system daemon-reload",
               "deb-systemd-invoke restart systemd-modules-load.service",
               "udevadm control --reload-rules",
               "udevadm trigger --action=change --subsystem-match=tty --subsystem-match=usb"]
    # A fresh install: reloads, and never starts, restarts or enables the service.
    calls = _with_running_services(p, "postinst", "configure", "''")
    for r in reloads:
        assert r in calls, f"{r!r} not run: {calls}"
    assert not any("cellgate.service" in c and re.search(r"\b(start|restart|try-restart|enable)\b", c)
                   for c in calls), calls
    # An upgrade restarts the service only if it runs: try-restart, never start or restart.
    calls = _with_running_services(p, "postinst", "configure", "0.0.9")
    cellgate = [c for c in calls if c.startswith(("systemctl", "deb-systemd-invoke")) and "cellgate.service" in c]
    assert cellgate == ["deb-systemd-invoke try-restart cellgate.service"], calls
    # remove: stop first (prerm), then forget the unit, the policy and the rule.
    assert _with_running_services(p, "prerm", "remove") == ["deb-systemd-invoke stop cellgate.service"]
    # An upgrade stops nothing before unpacking (postinst's try-restart picks up the new binary).
    assert _with_running_services(p, "prerm", "upgrade", "0.2.0") == []
    calls = _with_running_services(p, "postrm", "remove")
    for r in (reloads[0], reloads[1], reloads[3]):
        assert r in calls, f"{r!r} not run on remove: {calls}"
    assert not any(c.startswith("rm ") for c in calls), f"remove deleted files: {calls}"


# --- the unpacked tree -------------------------------------------------------------------------

def test_files_are_where_the_unit_says(args):
    p = pkg(args)
    keys = unit_keys(p.read(UNIT))
    for cmd in keys["ExecStart"] + keys["ExecStartPre"]:
        argv = cmd.lstrip("-+!@:").split()
        assert os.access(p.path(argv[0]), os.X_OK), f"{argv[0]} (from {cmd}) not installed"
        config = argv[argv.index("--config") + 1]
        assert os.path.isfile(p.path(config)), config
    assert keys["User"] == ["cellgate"] and keys["SupplementaryGroups"] == ["dialout"], keys
    # The user and its group membership come from the sysusers entry.
    sysusers = p.read("/usr/lib/sysusers.d/cellgate.conf")
    assert re.search(r"^u cellgate\s", sysusers, re.M), sysusers
    assert re.search(r"^m cellgate dialout$", sysusers, re.M), sysusers
    # The drivers behind DeviceAllow=char-ttyUSB/char-ttyACM are loaded at boot, so the majors
    # exist when the service starts (systemd drops an unknown one from the allow-list).
    modules = [l for l in p.read("/usr/lib/modules-load.d/cellgate.conf").splitlines()
               if l and not l.startswith("#")]
    classes = {d.split()[0] for d in keys["DeviceAllow"]}
    assert {"char-ttyUSB", "char-ttyACM", "char-pts"} <= classes, classes
    assert modules == ["usbserial", "cdc_acm"], modules
    # Documentation= names installed man pages.
    for doc in " ".join(keys["Documentation"]).split():
        m = re.fullmatch(r"man:([\w.-]+)\((\d)\)", doc)
        assert m, doc
        assert os.path.isfile(p.path(f"/usr/share/man/man{m.group(2)}/{m.group(1)}.{m.group(2)}.gz")), doc
    # The outbox's default path is inside StateDirectory=.
    outbox = re.search(r'std::string path = "([^"]+)"', src("bridge", "outbox.hpp")).group(1)
    assert os.path.dirname(outbox) == "/var/lib/" + keys["StateDirectory"][0], (outbox, keys["StateDirectory"])
    assert keys["ConfigurationDirectory"] == ["cellgate"]


def test_bus_policy_matches_the_unit(args):
    p = pkg(args)
    keys = unit_keys(p.read(UNIT))
    name = keys["BusName"][0]
    policy = p.path(f"/usr/share/dbus-1/system.d/{name}.conf")
    assert os.path.isfile(policy), policy
    root = ET.parse(policy).getroot()
    owners = {pol.get("user") for pol in root.findall("policy")
              for a in pol.findall("allow") if a.get("own") == name}
    assert owners == {"cellgate", "root"}, owners
    default = next(pol for pol in root.findall("policy") if pol.get("context") == "default")
    assert any(d.get("send_destination") == name and len(d.attrib) == 1 for d in default.findall("deny"))
    allowed = {(a.get("send_interface"), a.get("send_member")) for a in default.findall("allow")
               if a.get("send_destination") == name}
    assert allowed == {("org.freedesktop.DBus.Introspectable", None), ("org.freedesktop.DBus.Peer", None),
                       ("org.freedesktop.DBus.Properties", "Get"),
                       ("org.freedesktop.DBus.Properties", "GetAll")}, allowed


def test_ca_files_and_docs(args):
    p = pkg(args)
    ca_dir = re.search(r'kDefaultCaDir = "([^"]+)"', src("cloud", "platform_detail.hpp")).group(1)
    for pem in ("aliyun-ca.pem", "onenet-ca.pem"):
        with open(p.path(f"{ca_dir}/{pem}")) as f:
            assert "BEGIN CERTIFICATE" in f.read(), pem
    assert os.path.isfile(p.path("/usr/share/doc/cellgate/README.md"))
    # The installed example is a valid config (checked by the packaged binary itself).
    r = run([p.path("/usr/sbin/cellgated"), "--check-config", "--config", p.path("/etc/cellgate/cellgate.yaml")],
            check=False)
    assert r.returncode == 0, r.stderr
    expected = {"/etc/cellgate/cellgate.yaml", UNIT, "/usr/sbin/cellgated", "/usr/bin/cellgatectl",
                "/usr/lib/sysusers.d/cellgate.conf", "/usr/lib/modules-load.d/cellgate.conf",
                "/lib/udev/rules.d/70-cellgate.rules",
                "/usr/share/dbus-1/system.d/org.cellgate.Gateway1.conf", "/usr/libexec/cellgate/udhcpc-hook",
                f"{ca_dir}/aliyun-ca.pem", f"{ca_dir}/onenet-ca.pem",
                "/usr/share/man/man8/cellgated.8.gz", "/usr/share/man/man5/cellgate.yaml.5.gz",
                "/usr/share/man/man1/cellgatectl.1.gz",
                "/usr/share/doc/cellgate/README.md", "/usr/share/doc/cellgate/changelog.Debian.gz",
                "/usr/share/doc/cellgate/copyright", "/usr/share/lintian/overrides/cellgate"}
    assert p.files() == expected, sorted(p.files() ^ expected)


def test_udev_rule_covers_every_known_module(args):
    p = pkg(args)
    rules = p.read("/lib/udev/rules.d/70-cellgate.rules")
    table = re.findall(r"\{Vendor::\w+, \{0x([0-9a-f]{4}), 0x([0-9a-f]{4}),", src("modem", "vendor.cpp"))
    assert len(table) >= 10, table
    for vid, pid in table:
        assert re.search(rf'ATTRS\{{idVendor\}}=="{vid}", ATTRS\{{idProduct\}}=="{pid}", '
                         r'ENV\{CELLGATE_MODEM\}="[^"]+"', rules), f"{vid}:{pid} missing from the udev rule"
    # And the other way: no rule line for a module the code does not know.
    listed = re.findall(r'ATTRS\{idVendor\}=="([0-9a-f]{4})", ATTRS\{idProduct\}=="([0-9a-f]{4})"', rules)
    assert sorted(listed) == sorted(table), f"rule and usb_table() differ: {set(listed) ^ set(table)}"
    # Vendors the code takes whole (any product) are tagged whole, after the exact names.
    detect = re.search(r"detect_vendor_usb\(.*?\n}\n", src("modem", "vendor.cpp"), re.S).group(0)
    whole = re.findall(r"case 0x([0-9a-f]{4}): return Vendor::", detect)
    assert whole, detect
    for vid in whole:
        assert re.search(rf'^ENV\{{CELLGATE_MODEM\}}!="\?\*", SUBSYSTEMS=="usb", ATTRS\{{idVendor\}}=="{vid}", '
                         r'ENV\{CELLGATE_MODEM\}="[^"]+"$', rules, re.M), f"vendor {vid} is not tagged whole"
    lines = [l for l in rules.splitlines() if l and not l.startswith("#")]
    assert 'ENV{CELLGATE_MODEM}!="?*", GOTO="cellgate_end"' in lines
    assert 'ENV{ID_MM_DEVICE_IGNORE}="1"' in lines
    assert 'SUBSYSTEM=="tty", GROUP="dialout", MODE="0660"' in lines
    # The module's netdev is cellgated's: NetworkManager keeps off, and a QMI one is raw-ip before it
    # first goes up (both after the GOTO, so they apply to known modules only).
    end = lines.index('ENV{CELLGATE_MODEM}!="?*", GOTO="cellgate_end"')
    assert lines.index('SUBSYSTEM=="net", ENV{NM_UNMANAGED}="1"') > end
    assert lines.index('ACTION=="add", SUBSYSTEM=="net", DRIVERS=="qmi_wwan", TEST=="qmi/raw_ip", '
                       'ATTR{qmi/raw_ip}="Y"') > end
    assert lines[-1] == 'LABEL="cellgate_end"'


def platform_keys() -> set:
    """The keys each registered cloud platform's profile declares (its `ConfigKey kKeys[]` table),
    as the config reader accepts them: a secret also as `<name>_file`."""
    registry = src("cloud", "platform_registry.cpp")
    platforms = re.findall(r"&detail::(\w+)_profile\(\)", registry)
    assert len(platforms) >= 4, registry
    keys = set()
    for name in platforms:
        text = src("cloud", f"platform_{name}.cpp")
        table = re.search(r"constexpr ConfigKey \w+\[\] = \{(.*?)\n\};", text, re.S)
        assert table, f"no ConfigKey table in cloud/platform_{name}.cpp"
        entries = re.findall(r'\{\s*\.name = "([a-z_]+)"([^{}]*)\}', table.group(1))
        assert entries, f"no keys read from cloud/platform_{name}.cpp"
        for key, rest in entries:
            keys.add(key)
            if "Kind::secret" in rest:
                keys.add(key + "_file")
    return keys


def config_keys() -> set:
    """Every config key the loader accepts: the MapWalker key lists and key tables of the section
    readers (daemon/config*.cpp) and the cloud platforms' own keys."""
    config = "".join(src("daemon", f) for f in sorted(os.listdir(os.path.join(SOURCE_DIR, "daemon")))
                     if f.startswith("config") and f.endswith(".cpp"))
    keys = set()
    for stmt in re.findall(r"MapWalker \w+\((.*?)\);", config, re.S):
        keys.update(re.findall(r'"([a-z_]+)"', stmt))
    for table in re.findall(r"constexpr std::string_view k\w+Keys\[\] = \{(.*?)\};", config, re.S):
        keys.update(re.findall(r'"([a-z_]+)"', table))
    return keys | platform_keys()


def test_man_pages_cover_options_and_keys(args):
    p = pkg(args)
    pages = {}
    for name, sec in (("cellgated", 8), ("cellgate.yaml", 5)):
        path = p.path(f"/usr/share/man/man{sec}/{name}.{sec}.gz")
        text = run(["zcat", path]).stdout
        pages[name] = text.replace("\\-", "-")
        if shutil.which("man"):
            r = run(["man", "--warnings", "-l", path], env=dict(os.environ, MANWIDTH="80"))
            assert r.stderr.strip() == "", r.stderr
    # Every long option of main.cpp.
    options = re.findall(r'\{"([a-z-]+)", (?:no|required)_argument', src("daemon", "main.cpp"))
    assert "check-config" in options, options
    for o in options:
        assert f"--{o}" in pages["cellgated"], f"--{o} not in cellgated(8)"
    keys = config_keys()
    assert {"port", "apn", "keepalive", "device_secret", "device_secret_file", "auth_info_file",
            "token_lifetime", "log_level", "status_topic"} <= keys, sorted(keys)
    missing = sorted(k for k in keys if not re.search(rf"\b{k}\b", pages["cellgate.yaml"]))
    assert not missing, f"keys not in cellgate.yaml(5): {missing}"
    # The shipped example explains every key too (commented out where it has no default).
    example = p.read("/etc/cellgate/cellgate.yaml")
    missing = sorted(k for k in keys if not re.search(rf"\b{k}\b", example))
    assert not missing, f"keys not in the installed /etc/cellgate/cellgate.yaml: {missing}"


# --- systemd -----------------------------------------------------------------------------------

def systemd_root(p: Package) -> str:
    """verify needs the targets a service depends on by default: the host's units, under ours."""
    unitdir = p.path("/lib/systemd/system")
    for d in ("/lib/systemd/system", "/usr/lib/systemd/system"):
        if os.path.isdir(d):
            for n in os.listdir(d):
                if not os.path.lexists(os.path.join(unitdir, n)):
                    src_path = os.path.join(d, n)
                    if os.path.isfile(src_path) and not os.path.islink(src_path):
                        shutil.copy2(src_path, unitdir)
    # ExecReload= runs /bin/kill (procps, a Depends of the package): the host's, as dpkg would bring.
    os.makedirs(p.path("/bin"), exist_ok=True)
    if not os.path.exists(p.path("/bin/kill")):
        shutil.copy2("/bin/kill", p.path("/bin/kill"))
    return p.root


def test_systemd_analyze_verify_installed_unit(args):
    p = pkg(args)
    tool = shutil.which("systemd-analyze")
    assert tool, "systemd-analyze not found"
    root = systemd_root(p)
    # man runs on the host: point it at the unpacked man pages for Documentation=.
    r = run([tool, "verify", f"--root={root}", "--man=yes", "cellgate.service"], check=False,
            env=dict(os.environ, MANPATH=p.path("/usr/share/man")))
    assert r.returncode == 0 and (r.stdout + r.stderr).strip() == "", r.stdout + r.stderr
    # A verify that does not look inside the root would pass without the binary: it must not.
    os.rename(p.path("/usr/sbin/cellgated"), p.path("/usr/sbin/cellgated.away"))
    try:
        r = run([tool, "verify", f"--root={root}", "--man=no", "cellgate.service"], check=False)
        assert r.returncode != 0 and "/usr/sbin/cellgated" in r.stderr, r
    finally:
        os.rename(p.path("/usr/sbin/cellgated.away"), p.path("/usr/sbin/cellgated"))


def test_systemd_analyze_security_installed_unit(args):
    p = pkg(args)
    tool = shutil.which("systemd-analyze")
    assert tool, "systemd-analyze not found"
    root = systemd_root(p)
    r = run([tool, "security", "--offline=true", f"--root={root}", "--no-pager",
             f"--threshold={int(MAX_EXPOSURE * 10)}", "cellgate.service"], check=False)
    m = re.search(r"Overall exposure level for cellgate.service: ([0-9.]+)", r.stdout + r.stderr)
    assert m, r.stdout + r.stderr
    print(f"systemd-analyze security: {m.group(1)}", flush=True)
    assert float(m.group(1)) <= MAX_EXPOSURE, r.stdout
    assert r.returncode == 0, r.stdout + r.stderr
    # The points that are left are the ones the job needs: network, the tty devices, dialout, and
    # configuring the module's network interface (netlink, udhcpc's packet socket, CAP_NET_*).
    open_items = re.findall(r"^✗ (\S+)", r.stdout, re.M)
    assert set(open_items) <= {"RootDirectory=/RootImage=", "SupplementaryGroups=", "PrivateDevices=",
                               "RestrictAddressFamilies=~AF_UNIX", "RestrictAddressFamilies=~AF_(INET|INET6)",
                               "RestrictAddressFamilies=~AF_NETLINK", "RestrictAddressFamilies=~AF_PACKET",
                               "AmbientCapabilities=", "CapabilityBoundingSet=~CAP_NET_ADMIN",
                               "CapabilityBoundingSet=~CAP_NET_(BIND_SERVICE|BROADCAST|RAW)",
                               "PrivateNetwork=", "PrivateUsers=", "DeviceAllow=", "IPAddressDeny="}, open_items


def test_copyright_names_the_license(args):
    p = pkg(args)
    text = p.read("/usr/share/doc/cellgate/copyright")
    # Paragraphs of fields; a field's continuation lines (" text") are its body.
    paragraphs = []
    for block in text.strip().split("\n\n"):
        fields = {}
        for name, first, body in re.findall(r"^([\w-]+):[ \t]*(.*)\n?((?:^[ \t].*\n?)*)", block, re.M):
            fields[name] = (first, body.strip())
        paragraphs.append(fields)
    assert paragraphs[0]["Format"][0] == "https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
    files = [para for para in paragraphs[1:] if "Files" in para]
    assert all(para.get("Copyright", ("", ""))[0] and "License" in para for para in files), files
    own = next(para for para in files if para["Files"][0] == "*")
    # Every license a Files paragraph names has its text: there, or in a License paragraph.
    texts = {para["License"][0] for para in paragraphs[1:] if "Files" not in para and para["License"][1]}
    for para in files:
        name, body = para["License"]
        assert body or name in texts, f"no text for the license {name!r}"
    # The project's own files: the license in LICENSE, which the copyright file points at in
    # /usr/share/common-licenses rather than repeating (Debian policy 12.5).
    assert own["License"][0] == "Apache-2.0", own
    common = f"/usr/share/common-licenses/{own['License'][0]}"
    assert f'"{common}"' in text, text
    if os.path.exists(common):
        with open(common) as a, open(os.path.join(SOURCE_DIR, "LICENSE")) as b:
            assert a.read() == b.read(), f"LICENSE is not the text of {common}"


def cmake_cache(p: Package) -> dict:
    with open(os.path.join(p.build, "CMakeCache.txt")) as f:
        return dict(re.findall(r"^(\w+):\w+=(.*)$", f.read(), re.M))


def test_binary_is_hardened(args):
    """Debian's hardening: what lintian's hardening-no-* tags (and hardening-check) look for."""
    p = pkg(args)
    binary = p.path("/usr/sbin/cellgated")
    dynamic = run(["readelf", "-d", "-W", binary]).stdout
    assert re.search(r"\(FLAGS\)\s.*\bBIND_NOW\b", dynamic), f"no BIND_NOW:\n{dynamic}"
    assert re.search(r"\(FLAGS_1\)\s.*\bPIE\b", dynamic), f"not a PIE:\n{dynamic}"
    assert "GNU_RELRO" in run(["readelf", "-l", "-W", binary]).stdout, "no RELRO segment"
    imported = set(re.findall(r"\bUND\s+(\w+)", run(["readelf", "--dyn-syms", "-W", binary]).stdout))
    assert "__stack_chk_fail" in imported, "no stack protector"
    # _FORTIFY_SOURCE needs optimisation, and is off under the sanitizers (they check instead).
    cache = cmake_cache(p)
    checked = sorted(s for s in imported if re.fullmatch(r"__\w+_chk", s) and s != "__stack_chk_fail")
    if cache.get("CMAKE_BUILD_TYPE") in ("Release", "RelWithDebInfo", "MinSizeRel") and \
            cache.get("CELLGATE_SANITIZE", "OFF") == "OFF":
        assert checked, "no fortified libc call (__*_chk) in an optimised build"
        print(f"fortified: {', '.join(checked)}", flush=True)
    else:
        print(f"fortify not expected in a {cache.get('CMAKE_BUILD_TYPE')} build with "
              f"CELLGATE_SANITIZE={cache.get('CELLGATE_SANITIZE')}: only BIND_NOW, PIE, RELRO and "
              "the stack protector checked", flush=True)


def test_lintian_reports_no_error(args):
    tool = shutil.which("lintian")
    if not tool:
        print("SKIP: lintian is not installed (scripts/install-deps installs it)", flush=True)
        return
    p = pkg(args)
    # lintian does not remove a database file it makes (mldbm-*): it goes with the package's directory.
    r = run([tool, "--pedantic", "--display-info", "--no-tag-display-limit", "--fail-on", "none", p.deb],
            check=False, timeout=300, env=dict(os.environ, TMPDIR=p.tmp))
    print(r.stdout, flush=True)
    assert r.returncode == 0, r.stdout + r.stderr  # a lintian crash
    tags = re.findall(r"^([EWIPX]): cellgate(?: \w+)?: (\S+)", r.stdout, re.M)
    assert not [t for t in tags if t[0] in "EW"], f"lintian errors or warnings: {tags}"
    assert not [t for t in tags if t[1].startswith("hardening-no-") and t[1] != "hardening-no-fortify-functions"], tags


def main():
    tests = [test_control_fields_and_depends, test_conffiles_and_maintainer_scripts,
             test_postinst_creates_the_user_and_enables_nothing, test_maintainer_scripts_reload_what_is_running,
             test_enablement_survives_remove_and_purge_removes_it,
             test_files_are_where_the_unit_says,
             test_bus_policy_matches_the_unit, test_ca_files_and_docs,
             test_udev_rule_covers_every_known_module, test_man_pages_cover_options_and_keys,
             test_systemd_analyze_verify_installed_unit, test_systemd_analyze_security_installed_unit,
             test_copyright_names_the_license, test_binary_is_hardened, test_lintian_reports_no_error]
    try:
        harness.run(tests, workers=1)
    finally:
        if _pkg is not None:
            _pkg.cleanup()


if __name__ == "__main__":
    main()
