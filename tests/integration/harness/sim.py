"""The modem simulator (tests/sim/modemsim.py) as a context manager: an AT module on a pty."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys

from .procs import make_workdir, stop_process
from .run import wait_for


class Simulator:
    """Runs modemsim.py with a control socket; cellgated opens the pty link `.link`.

        with Simulator(args.sim, "normal", vendor="quectel") as sim:
            sim.control("deact"); sim.state()["data_call"]; sim.history()
    """

    def __init__(self, sim_path: str, scenario: str = "normal", vendor: str = "generic",
                 speed: float = 4.0, pin: str | None = None, extra_args=(), keep: bool = False):
        self.sim_path = os.path.abspath(sim_path)
        self.scenario, self.vendor, self.speed, self.pin = scenario, vendor, speed, pin
        self.extra_args = list(extra_args)
        self.keep = keep
        self.workdir = make_workdir("cellgate-sim-")
        self.link = os.path.join(self.workdir, "ttyMODEM")
        self.control_path = os.path.join(self.workdir, "control.sock")
        self.log_path = os.path.join(self.workdir, "at.log")
        self.proc = None

    def __enter__(self) -> "Simulator":
        cmd = [sys.executable, self.sim_path, "--link", self.link, "--scenario", self.scenario,
               "--vendor", self.vendor, "--control", self.control_path, "--log", self.log_path,
               "--speed", str(self.speed), *self.extra_args]
        if self.pin:
            cmd += ["--pin", self.pin]
        with open(os.path.join(self.workdir, "sim.stderr"), "w") as err:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=err, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: os.path.exists(self.control_path) and os.path.islink(self.link)
                     or self.proc.poll() is not None, 10, "simulator start")
            if self.proc.poll() is not None:
                raise RuntimeError("modemsim exited: " + self._read("sim.stderr"))
        except BaseException:
            stop_process(self.proc)
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        stop_process(self.proc)
        if exc_type is not None:
            sys.stderr.write(f"--- modemsim {self.scenario}/{self.vendor} AT transcript (tail) ---\n"
                             + "".join(self.transcript().splitlines(True)[-60:]) + "--- end ---\n")
        if not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _read(self, name: str) -> str:
        try:
            with open(os.path.join(self.workdir, name), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def transcript(self) -> str:
        return self._read("at.log")

    def control(self, line: str, timeout: float = 5.0) -> str:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(self.control_path)
            s.sendall(line.encode() + b"\n")
            out = b""
            while not out.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        return out.decode(errors="replace").strip()

    def state(self) -> dict:
        return json.loads(self.control("state"))

    def history(self) -> list:
        """Every AT command line the module received, in order."""
        return json.loads(self.control("history"))
