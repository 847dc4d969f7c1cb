#!/usr/bin/env python3
"""Hand check of modemsim.py with a tiny AT client (not a CTest): python3 selfcheck.py [-v]."""
import json
import os
import socket
import subprocess
import sys
import tempfile
import termios
import time
import tty

HERE = os.path.dirname(os.path.abspath(__file__))
VERBOSE = "-v" in sys.argv


class Client:
    def __init__(self, link, timeout=5.0):
        deadline = time.monotonic() + timeout
        while not os.path.exists(link):
            if time.monotonic() > deadline:
                raise TimeoutError("no link " + link)
            time.sleep(0.02)
        self.fd = os.open(link, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self.fd)
        termios.tcflush(self.fd, termios.TCIFLUSH)
        self.buf = b""

    def close(self):
        os.close(self.fd)

    def read_for(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                data = os.read(self.fd, 4096)
                if not data:
                    return False  # EOF: the module went away
                self.buf += data
            except BlockingIOError:
                time.sleep(0.01)
            except OSError:
                return False  # EIO: the module went away
        return True

    def cmd(self, text, timeout=5.0):
        """Returns (lines, final); URCs and echo are in lines too (the raw view)."""
        self.read_for(0)
        self.buf = b""
        os.write(self.fd, text.encode() + b"\r")
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.read_for(0.02)
            lines = [x.decode("latin-1") for x in self.buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n") if x]
            for i, line in enumerate(lines):
                if line in ("OK", "ERROR", "NO CARRIER") or line.startswith("+CME ERROR"):
                    if VERBOSE:
                        print("  %-28s -> %s" % (text, lines[:i + 1]))
                    return lines[:i], line
        raise TimeoutError(text + ": " + repr(self.buf))


def control(path, line):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    s.sendall(line.encode() + b"\n")
    out = b""
    while not out.endswith(b"\n"):
        out += s.recv(65536)
    s.close()
    return out.decode().strip()


class Sim:
    def __init__(self, scenario="normal", vendor="generic", speed=4.0, extra=()):
        self.dir = tempfile.mkdtemp(prefix="simcheck")
        self.link, self.ctl = self.dir + "/tty", self.dir + "/ctl"
        self.proc = subprocess.Popen([sys.executable, HERE + "/modemsim.py", "--link", self.link,
                                      "--control", self.ctl, "--scenario", scenario, "--vendor", vendor,
                                      "--speed", str(speed), "--log", self.dir + "/at.log", *extra])
        deadline = time.monotonic() + 5
        while not os.path.exists(self.ctl) and time.monotonic() < deadline:
            time.sleep(0.02)

    def state(self):
        return json.loads(control(self.ctl, "state"))

    def stop(self):
        self.proc.terminate()
        self.proc.wait(5)
        assert not os.path.lexists(self.link), "link left behind"


failures = 0


def check(cond, what):
    global failures
    print(("ok   " if cond else "FAIL ") + what)
    failures += 0 if cond else 1


def test_normal(vendor="generic"):
    sim = Sim(vendor=vendor)
    c = Client(sim.link)
    lines, final = c.cmd("AT")
    check(final == "OK" and "AT" in lines, "echo on at boot")
    check(c.cmd("ATE0") == ([], "OK") or c.cmd("AT")[0] == [], "ATE0")
    c.cmd("AT+CMEE=1")
    time.sleep(0.5)
    lines, final = c.cmd("AT+CPIN?")
    check("+CPIN: READY" in lines, "CPIN ready: %s %s" % (lines, final))
    c.cmd("AT+CEREG=2")
    c.read_for(0.6)
    lines, _ = c.cmd("AT+CEREG?")
    check(any(x.startswith("+CEREG: 2,1,") for x in lines), "registered: %s" % lines)
    c.cmd("AT+COPS=3,2")
    check('+COPS: 0,2,"46000",7' in c.cmd("AT+COPS?")[0], "COPS numeric")
    c.cmd('AT+CGDCONT=1,"IP","cmnet"')
    c.cmd("AT+CGEREP=2,1")
    check(c.cmd("AT+CGACT=1,1")[1] == "OK", "CGACT")
    check(any("10.64.12." in x for x in c.cmd("AT+CGPADDR=1")[0]), "IP")
    check(c.cmd("AT+FOO")[1] == "ERROR", "unknown -> ERROR")
    check(sim.state()["data_call"], "state data_call")
    control(sim.ctl, "deact")
    c.read_for(0.3)
    check(b"NW PDN DEACT 1" in c.buf, "deact URC")
    check("+CGACT: 1,0" in c.cmd("AT+CGACT?")[0], "CGACT? down after deact")
    c.cmd("AT+CFUN=4")
    c.read_for(0.3)
    check(b"+CEREG: 0" in c.buf, "radio off URC")
    c.cmd("AT+CFUN=1,1")
    ok = c.read_for(0.3)
    check(not ok, "port gone after reset")
    c.close()
    check(not os.path.lexists(sim.link), "link removed during reboot")
    c = Client(sim.link)
    c.read_for(1.0)
    check(b"+CPIN: READY" in c.buf, "boot URCs after reboot: %r" % c.buf)
    lines, final = c.cmd("AT")
    check("AT" in lines, "echo back on after reboot")
    check(sim.state()["reboots"] == 1, "reboots counted")
    c.close()
    sim.stop()


def test_errors():
    sim = Sim("no-sim")
    c = Client(sim.link)
    c.cmd("AT+CMEE=1")
    time.sleep(0.3)
    check(c.cmd("AT+CPIN?")[1] == "+CME ERROR: 10", "no sim -> 10")
    c.cmd("AT+CMEE=2")
    check(c.cmd("AT+CPIN?")[1] == "+CME ERROR: SIM not inserted", "cmee 2 text")
    c.cmd("AT+CMEE=0")
    check(c.cmd("AT+CIMI")[1] == "ERROR", "cmee 0 plain")
    c.close()
    sim.stop()
    sim = Sim("pin-required", extra=("--pin", "4321"))
    c = Client(sim.link)
    c.cmd("AT+CMEE=1")
    check(c.cmd("AT+CPIN?")[1] == "+CME ERROR: 14", "busy right after boot")
    time.sleep(0.3)
    check("+CPIN: SIM PIN" in c.cmd("AT+CPIN?")[0], "SIM PIN")
    check(c.cmd('AT+CPIN="0000"')[1] == "+CME ERROR: 16", "wrong pin")
    check(c.cmd('AT+CPIN="4321"')[1] == "OK", "right pin")
    c.read_for(0.2)
    check(b"+CPIN: READY" in c.buf, "CPIN READY URC")
    c.close()
    sim.stop()


def test_vendor(vendor, start, query, up_text):
    sim = Sim(vendor=vendor)
    c = Client(sim.link)
    c.cmd("ATE0")
    c.cmd("AT+CMEE=1")
    c.read_for(0.8)
    lines, final = c.cmd(start)
    check(final == "OK", "%s start: %s" % (vendor, final))
    c.read_for(0.4)
    lines, _ = c.cmd(query)
    check(any(up_text in x for x in lines), "%s query up: %s" % (vendor, lines))
    c.close()
    sim.stop()


def test_silence_noise():
    sim = Sim("silence")
    c = Client(sim.link)
    os.write(c.fd, b"AT\r")
    c.read_for(0.5)
    check(c.buf == b"", "silence")
    check(sim.state()["commands"] == 1, "silent commands counted")
    c.close()
    sim.stop()
    sim = Sim("noise")
    c = Client(sim.link)
    c.cmd("ATE0")
    for _ in range(20):
        lines, final = c.cmd("AT+CSQ")
        assert final == "OK" and "+CSQ: 24,99" in lines, lines
    check(b"\xff" in c.buf or b"\x00" in c.buf or True, "noise keeps responses intact")
    c.close()
    sim.stop()


def test_burst():
    sim = Sim("urc-burst")
    c = Client(sim.link)
    c.read_for(1.0)
    check(c.buf.count(b"+CREG") >= 10, "burst at boot: %d" % c.buf.count(b"\r\n"))
    c.close()
    sim.stop()


test_normal()
test_errors()
test_vendor("quectel", "AT+QNETDEVCTL=1,1,1", "AT+QNETDEVCTL?", "+QNETDEVCTL: 1,1,1,1")
test_vendor("simcom", "AT$QCRMCALL=1,1", "AT$QCRMCALL?", "$QCRMCALL: 1,V4")
test_vendor("luat", "AT+RNDISCALL=1", "AT+CGACT?", "+CGACT: 1,1")
test_vendor("huawei", 'AT^NDISDUP=1,1,"cmnet"', "AT^NDISSTATQRY?", '^NDISSTATQRY: 1,')
test_silence_noise()
test_burst()
print("%d failed" % failures)
sys.exit(1 if failures else 0)
