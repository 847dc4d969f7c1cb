#!/usr/bin/env python3
"""port: auto against a fake sysfs tree: a simulated Air780E (CDC-ACM, AT on interface 6) and an
EC200A (ECM, then DIAG, AT, MODEM) are found by their USB ids and interface numbers; with no module
plugged in, FailedReason is port-missing and LastError lists what was scanned.

cellgated reads sysfs under CELLGATE_SYSFS_ROOT and opens ports under CELLGATE_DEV_DIR when they are
set: a test-only hook, unset on real systems."""

import atexit
import os
import shutil

from harness import Daemon, PrivateBus, Simulator, make_workdir, modem_config, run
from harness.modem import SPEED, ModemCase


class FakeSysfs:
    """The parts of /sys a USB modem shows (devices/..., class/tty/...) and a /dev of links."""

    def __init__(self, root):
        self.root = root
        self.dev = os.path.join(root, "dev")
        os.makedirs(self.dev)

    def device(self, bus, vid, pid):
        d = os.path.join(self.root, "devices", "usb1", f"1-{bus}")
        os.makedirs(d)
        self._write(d, idVendor=vid, idProduct=pid)
        return d

    def interface(self, dev, n, cls, sub, proto):
        d = os.path.join(dev, f"{os.path.basename(dev)}:1.{n}")
        os.makedirs(d)
        self._write(d, bInterfaceNumber=f"{n:02x}", bInterfaceClass=cls, bInterfaceSubClass=sub,
                    bInterfaceProtocol=proto)
        return d

    def acm_tty(self, iface, name, target=None):
        self._tty(name, iface, target)

    def usb_serial_tty(self, iface, name, target=None):
        port = os.path.join(iface, name)
        os.makedirs(port)
        self._tty(name, port, target)

    def _tty(self, name, device, target):
        cls = os.path.join(self.root, "class", "tty", name)
        os.makedirs(cls)
        os.symlink(device, os.path.join(cls, "device"))
        if target:
            os.symlink(target, os.path.join(self.dev, name))

    @staticmethod
    def _write(d, **attrs):
        for k, v in attrs.items():
            with open(os.path.join(d, k), "w") as f:
                f.write(v + "\n")


def fake_root(args):
    root = make_workdir("cellgate-sysfs-")
    if not args.keep:
        atexit.register(shutil.rmtree, root, True)
    return root


def air780e(s, link):
    dev = s.device(1, "19d1", "0001")
    for i, n in enumerate((2, 4, 6)):
        s.acm_tty(s.interface(dev, n, "02", "02", "01"), f"ttyACM{i}", link if n == 6 else None)
    return os.path.join(s.dev, "ttyACM2")


def ec200a(s, link):
    dev = s.device(1, "2c7c", "6005")
    s.interface(dev, 0, "02", "06", "00")
    s.interface(dev, 1, "0a", "00", "00")
    for n in (2, 3, 4):
        s.usb_serial_tty(s.interface(dev, n, "ff", "00", "00"), f"ttyUSB{n - 2}", link if n == 3 else None)
    return os.path.join(s.dev, "ttyUSB1")


def auto_case(vendor, build, expected_vendor):
    def test(args):
        root = fake_root(args)
        s = FakeSysfs(root)
        with PrivateBus(args.policy, keep=args.keep) as bus, \
                Simulator(args.sim, "normal", vendor=vendor, speed=SPEED, keep=args.keep) as sim:
            port = build(s, sim.link)
            # A USB serial adapter that is no modem, found and passed over.
            s.usb_serial_tty(s.interface(s.device(9, "0403", "6001"), 0, "ff", "ff", "ff"), "ttyUSB9")
            env = {"CELLGATE_SYSFS_ROOT": root, "CELLGATE_DEV_DIR": s.dev}
            with Daemon(args.daemon, modem_config("auto"), bus, env=env, keep=args.keep) as d:
                d.wait_ready(timeout=15)
                c = ModemCase(bus, sim, d)
                p = c.wait_state("connected", 25)
                assert p["Port"] == port, p["Port"]
                assert p["Vendor"] == expected_vendor, p["Vendor"]
    test.__name__ = f"test_auto_finds_{vendor}_{build.__name__}"
    return test


def test_nothing_found_is_port_missing_with_what_was_scanned(args):
    root = fake_root(args)
    s = FakeSysfs(root)
    s.usb_serial_tty(s.interface(s.device(1, "0403", "6001"), 0, "ff", "ff", "ff"), "ttyUSB0")
    s.acm_tty(s.interface(s.device(2, "2341", "0043"), 0, "02", "02", "01"), "ttyACM0")
    env = {"CELLGATE_SYSFS_ROOT": root, "CELLGATE_DEV_DIR": s.dev}
    with PrivateBus(args.policy, keep=args.keep) as bus, \
            Daemon(args.daemon, modem_config("auto"), bus, env=env, keep=args.keep) as d:
        d.wait_ready(timeout=15)
        c = ModemCase(bus, None, d)
        p = c.wait(lambda p: p["FailedReason"] == "port-missing", 10, "port-missing")
        err = p["LastError"]
        for part in (root + "/class/tty", "2 USB serial port(s)", "0403:6001", "2341:0043"):
            assert part in err, f"{part!r} not in LastError {err!r}"
        assert p["State"] == "failed", p["State"]


if __name__ == "__main__":
    run([auto_case("luat", air780e, "luat"), auto_case("quectel", ec200a, "quectel"),
         test_nothing_found_is_port_missing_with_what_was_scanned])
