#!/usr/bin/env python3
"""A stand-in for systemd-resolved on a private bus: owns org.freedesktop.resolve1 and writes each
SetLink*/RevertLink call it gets as one JSON line ({"method": ..., "args": [...]}) to the file
given, so a test can see what cellgated asked of resolved.

    fake_resolved.py BUS_ADDRESS CALLS_FILE"""

import json
import sys

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

MANAGER = "org.freedesktop.resolve1.Manager"


def plain(v):
    if isinstance(v, (dbus.Array, dbus.Struct, list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, dbus.Boolean):
        return bool(v)
    if isinstance(v, (dbus.Int32, dbus.Byte, int)):
        return int(v)
    return str(v)


class Manager(dbus.service.Object):
    def __init__(self, conn, out):
        super().__init__(conn, "/org/freedesktop/resolve1")
        self.out = out

    def record(self, method, *args):
        self.out.write(json.dumps({"method": method, "args": [plain(a) for a in args]}) + "\n")
        self.out.flush()

    @dbus.service.method(MANAGER, in_signature="ia(iay)")
    def SetLinkDNS(self, ifindex, addresses):
        self.record("SetLinkDNS", ifindex, addresses)

    @dbus.service.method(MANAGER, in_signature="ib")
    def SetLinkDefaultRoute(self, ifindex, enable):
        self.record("SetLinkDefaultRoute", ifindex, enable)

    @dbus.service.method(MANAGER, in_signature="ia(sb)")
    def SetLinkDomains(self, ifindex, domains):
        self.record("SetLinkDomains", ifindex, domains)

    @dbus.service.method(MANAGER, in_signature="i")
    def RevertLink(self, ifindex):
        self.record("RevertLink", ifindex)


def main():
    DBusGMainLoop(set_as_default=True)
    conn = dbus.bus.BusConnection(sys.argv[1])
    with open(sys.argv[2], "a") as out:
        Manager(conn, out)
        name = dbus.service.BusName("org.freedesktop.resolve1", conn)  # released when collected
        print("ready", flush=True)
        GLib.MainLoop().run()
        del name


if __name__ == "__main__":
    main()
