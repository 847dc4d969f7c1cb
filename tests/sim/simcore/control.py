"""The test's side door: an AF_UNIX stream socket taking one-line commands (see modemsim.py --help)."""
import json
import os
import socket

from . import cell

HELP = ("reboot | unplug | plug | urc <text> | deact | deregister | register | silence on|off | "
        "noise on|off | mqtt drop|silent|pdp|state | cell <field>=<value>... | state | history [times]")


class Control:
    def __init__(self, loop, path, module):
        self.loop, self.path, self.m = loop, path, module
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(8)
        self.sock.setblocking(False)
        self.bufs = {}
        loop.readers[self.sock.fileno()] = self._accept

    def close(self):
        self.loop.readers.pop(self.sock.fileno(), None)
        self.sock.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass

    def _accept(self):
        try:
            conn, _ = self.sock.accept()
        except BlockingIOError:
            return
        conn.setblocking(False)
        self.bufs[conn] = b""
        self.loop.readers[conn.fileno()] = lambda: self._read(conn)

    def _drop(self, conn):
        self.loop.readers.pop(conn.fileno(), None)
        self.bufs.pop(conn, None)
        conn.close()

    def _read(self, conn):
        try:
            data = conn.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._drop(conn)
            return
        buf = self.bufs[conn] + data
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            answer = self.handle(line.decode("utf-8", "replace").strip())
            try:
                conn.settimeout(5.0)  # bounded: a client that stops reading cannot wedge the module
                conn.sendall(answer.encode())
                conn.setblocking(False)
            except OSError:
                self._drop(conn)
                return
        self.bufs[conn] = buf

    def handle(self, line):
        m = self.m
        cmd, _, arg = line.partition(" ")
        m.note("control: " + line)
        if cmd == "reboot":
            if m.port.is_open:
                m.reboot("control")
        elif cmd == "unplug":
            m.unplug()
        elif cmd == "plug":
            m.plug()
        elif cmd == "urc" and arg:
            m.inject(arg)
        elif cmd == "deact":
            m.network_deact()
        elif cmd == "deregister":
            m.deregister()
        elif cmd == "register":
            m.register()
        elif cmd in ("silence", "noise") and arg in ("on", "off"):
            if cmd == "silence":
                m.silent = arg == "on"
            else:
                m.noise = arg == "on"
        elif cmd == "mqtt":
            return m.mqtt.control(arg)
        elif cmd == "cell" and arg:
            problem = cell.update(m.cell, arg)
            if problem:
                return "error: " + problem + "\n"
        elif cmd == "state":
            return json.dumps(self.state()) + "\n"
        elif cmd == "history":
            h = m.history if arg == "times" else [c for _, c in m.history]
            return json.dumps(h) + "\n"
        else:
            return "error: " + HELP + "\n"
        return "ok\n"

    def state(self):
        m = self.m
        return {
            "vendor": m.vendor.name, "scenario": m.sc.name, "port_open": m.port.is_open,
            "plugged": m.plugged, "link": m.port.link,
            "registration": m.reg_stat("+CEREG"), "creg": m.reg_stat("+CREG"), "attached": m.attached,
            "data_call": bool(m.vcall or any(m.active.values())),
            "active_cids": sorted(c for c, up in m.active.items() if up), "ip": m.ip(),
            "echo": m.echo, "cmee": m.cmee, "cfun": m.cfun, "sim": m.sim_now(),
            "reg_n": m.reg_n, "cgerep": list(m.cgerep), "cops_format": m.cops_format,
            "commands": len(m.history), "reboots": m.reboots, "silent": m.silent, "noise": m.noise,
            "apn": m.contexts.get(1, ["", ""])[1], "uptime": round(m.loop.now(), 3), "cell": dict(m.cell),
        }
