"""Real MQTT brokers for the integration tests: mosquitto, with certificates made by the openssl CLI.

    with MosquittoBroker(workdir, users={"gw": "pw"}, tls=True) as b:
        b.port, b.ca, b.client_cert, b.client_key   # generated per broker
        b.kill(); b.start()                        # same port
        b.freeze(); b.thaw()                       # SIGSTOP / SIGCONT: a silent broker
        b.pingreqs("gw-001") -> [monotonic times]  # from "Received PINGREQ from gw-001"
        b.connects("gw-001") -> [monotonic times]  # from "New client connected ... as gw-001"

Log lines are time-stamped with time.monotonic() when they arrive (mosquitto's own stamps have
one-second resolution, too coarse for ping spacing). SynSniffer sees every TCP connect attempt
to a port on loopback, also while nothing listens there (ECONNREFUSED leaves no broker log).
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time

from harness.procs import stop_process


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _run(cmd, cwd=None):
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    return r.stdout


class CertificateAuthority:
    """A throw-away CA with a server certificate for 127.0.0.1/localhost and client certificates,
    made with the openssl CLI (EC P-256 keys: fast to generate)."""

    def __init__(self, workdir: str):
        self.dir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.ca = os.path.join(workdir, "ca.pem")
        self.ca_key = os.path.join(workdir, "ca.key")
        _run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
              "-nodes", "-keyout", self.ca_key, "-out", self.ca, "-days", "2", "-subj",
              "/O=cellgate tests/CN=cellgate test CA", "-addext", "basicConstraints=critical,CA:TRUE",
              "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        self.server_cert, self.server_key = self.issue("server", "localhost",
                                                       san="DNS:localhost,IP:127.0.0.1",
                                                       usage="serverAuth")

    def issue(self, name: str, cn: str, san: str | None = None, usage: str = "clientAuth"):
        key = os.path.join(self.dir, f"{name}.key")
        csr = os.path.join(self.dir, f"{name}.csr")
        cert = os.path.join(self.dir, f"{name}.pem")
        ext = os.path.join(self.dir, f"{name}.ext")
        _run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
              "-keyout", key, "-out", csr, "-subj", f"/O=cellgate tests/CN={cn}"])
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                    f"extendedKeyUsage={usage}\n")
            if san:
                f.write(f"subjectAltName={san}\n")
        _run(["openssl", "x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key,
              "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext])
        os.chmod(key, 0o600)
        return cert, key


class MosquittoBroker:
    """mosquitto on a free loopback port, with password auth and/or a TLS listener.

    users: {name: password} -> password_file made with mosquitto_passwd; anonymous is then refused.
    tls: the listener speaks TLS with a generated CA; require_certificate demands a client
         certificate (one is issued for `client_cn`), use_identity_as_username maps its CN to the user.
    """

    def __init__(self, workdir: str | None = None, users: dict | None = None, tls: bool = False,
                 require_certificate: bool = True, use_identity_as_username: bool = False,
                 client_cn: str = "gw-001", port: int | None = None, extra_conf: str = "",
                 keep: bool = False):
        self._own_workdir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix="cellgate-mosq-")
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.users = dict(users or {})
        self.tls = tls
        self.require_certificate = require_certificate
        self.use_identity_as_username = use_identity_as_username
        self.client_cn = client_cn
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.extra_conf = extra_conf
        self.keep = keep
        self.conf_path = os.path.join(self.dir, "mosquitto.conf")
        self.log_path = os.path.join(self.dir, "mosquitto.log")
        self.proc = None
        self.frozen = False
        self.lines: list[tuple[float, str]] = []  # (monotonic arrival, line) over every run
        self._lock = threading.Lock()
        self._reader = None
        self.ca = self.client_cert = self.client_key = None
        self.starts = 0

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    # --- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> "MosquittoBroker":
        try:
            self._prepare()
            self.start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.kill()
        if self._own_workdir and not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _prepare(self) -> None:
        conf = [f"listener {self.port} {self.host}",
                "log_dest stdout", "log_type all", "log_timestamp true",
                "connection_messages true", "user root", "persistence false"]
        if self.users:
            pw = os.path.join(self.dir, "passwd")
            first = True
            for user, password in self.users.items():
                _run(["mosquitto_passwd", "-b"] + (["-c"] if first else []) + [pw, user, password])
                first = False
            conf += ["allow_anonymous false", f"password_file {pw}"]
        elif self.tls and self.use_identity_as_username:
            conf += ["allow_anonymous false"]
        else:
            conf += ["allow_anonymous true"]
        if self.tls:
            ca = CertificateAuthority(os.path.join(self.dir, "pki"))
            self.ca = ca.ca
            self.client_cert, self.client_key = ca.issue("client", self.client_cn)
            conf += [f"cafile {ca.ca}", f"certfile {ca.server_cert}", f"keyfile {ca.server_key}",
                     f"require_certificate {'true' if self.require_certificate else 'false'}",
                     f"use_identity_as_username {'true' if self.use_identity_as_username else 'false'}"]
            self.pki = ca
        if self.extra_conf:
            conf.append(self.extra_conf)
        with open(self.conf_path, "w") as f:
            f.write("\n".join(conf) + "\n")

    def start(self, timeout: float = 10) -> None:
        """(Re)starts the broker on the same port; returns once it listens."""
        assert self.proc is None or self.proc.poll() is not None, "already running"
        # stdbuf: mosquitto's stdout is block-buffered on a pipe, and arrival times matter here.
        cmd = ["mosquitto", "-c", self.conf_path]
        if shutil.which("stdbuf"):
            cmd = ["stdbuf", "-oL", "-eL"] + cmd
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.frozen = False
        self.starts += 1
        self._reader = threading.Thread(target=self._read, args=(self.proc,), daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._reader.join(1)
                raise RuntimeError(f"mosquitto exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
            # "running" comes after the listener is open; no probe connect (SynSniffer would see it).
            if self.count(" running") >= self.starts:
                return
            time.sleep(0.02)
        raise TimeoutError("mosquitto did not start listening:\n" + self.log()[-3000:])

    def _read(self, proc) -> None:
        with open(self.log_path, "a", buffering=1) as out:
            for raw in proc.stdout:
                now = time.monotonic()
                line = raw.decode(errors="replace").rstrip("\n")
                out.write(f"{now:.3f} {line}\n")
                with self._lock:
                    self.lines.append((now, line))

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Ends the broker abruptly (SIGKILL: sockets reset by the kernel, no DISCONNECT)."""
        if self.proc is None:
            return
        stop_process(self.proc, sig, cont=self.frozen and sig != signal.SIGKILL)
        if self._reader:
            self._reader.join(2)
        self.frozen = False

    def freeze(self) -> None:
        """SIGSTOP: the kernel still ACKs TCP, but nothing answers (no PINGRESP, no FIN)."""
        self.proc.send_signal(signal.SIGSTOP)
        self.frozen = True

    def thaw(self) -> None:
        self.proc.send_signal(signal.SIGCONT)
        self.frozen = False

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # --- log queries ---------------------------------------------------------------------------
    def log(self) -> str:
        with self._lock:
            return "\n".join(line for _, line in self.lines) + "\n"

    def events(self, pattern: str) -> list[tuple[float, re.Match]]:
        rx = re.compile(pattern)
        with self._lock:
            lines = list(self.lines)
        out = []
        for t, line in lines:
            m = rx.search(line)
            if m:
                out.append((t, m))
        return out

    def count(self, text: str) -> int:
        with self._lock:
            return sum(1 for _, line in self.lines if text in line)

    def pingreqs(self, client_id: str | None = None) -> list[float]:
        who = re.escape(client_id) if client_id else r"\S+"
        return [t for t, _ in self.events(rf"Received PINGREQ from {who}$")]

    def connects(self, client_id: str | None = None) -> list[float]:
        who = re.escape(client_id) if client_id else r"\S+"
        return [t for t, _ in self.events(rf"New client connected from \S+ as {who} ")]

    def connect_lines(self) -> list[str]:
        return [m.string for _, m in self.events(r"New client connected from ")]

    def wait_log(self, pattern: str, timeout: float = 10, after: float = 0.0) -> tuple[float, re.Match]:
        """Waits for a line matching the regex that arrived after monotonic time `after`."""
        deadline = time.monotonic() + timeout
        while True:
            for t, m in self.events(pattern):
                if t >= after:
                    return t, m
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no mosquitto log line matching {pattern!r} within {timeout}s; "
                                   f"tail:\n{self.log()[-2000:]}")
            time.sleep(0.02)


class SynSniffer:
    """Records the time of every TCP SYN to `port` on the loopback interface (AF_PACKET, root).

    Connect attempts to a port where nothing listens are refused by the kernel and appear in no
    broker log; this sees them all. .times is a list of time.monotonic() stamps."""

    ETH_P_ALL = 0x0003
    PACKET_OUTGOING = 4

    def __init__(self, port: int, ifname: str = "lo"):
        self.port = port
        self.ifname = ifname
        self.times: list[float] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sock = None
        self._t = None

    @staticmethod
    def available() -> bool:
        try:
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(SynSniffer.ETH_P_ALL))
        except (PermissionError, OSError):
            return False
        s.close()
        return True

    def __enter__(self) -> "SynSniffer":
        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(self.ETH_P_ALL))
        self._sock.bind((self.ifname, 0))
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join(2)
        self._sock.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            r, _, _ = select.select([self._sock], [], [], 0.1)
            if not r:
                continue
            try:
                data, addr = self._sock.recvfrom(65535)
            except OSError:
                return
            now = time.monotonic()
            # Loopback shows each packet twice (outgoing and incoming): count it once.
            if addr[2] == self.PACKET_OUTGOING:
                continue
            off = 14  # lo has a (zeroed) Ethernet header
            if len(data) < off + 20 or struct.unpack("!H", data[12:14])[0] != 0x0800:
                continue
            ihl = (data[off] & 0x0F) * 4
            if data[off + 9] != 6:  # TCP
                continue
            tcp = off + ihl
            if len(data) < tcp + 14:
                continue
            dport = struct.unpack("!H", data[tcp + 2:tcp + 4])[0]
            flags = data[tcp + 13]
            if dport == self.port and flags & 0x02 and not flags & 0x10:  # SYN without ACK
                with self._lock:
                    self.times.append(now)

    def attempts(self, after: float = 0.0, before: float = float("inf")) -> list[float]:
        with self._lock:
            return [t for t in self.times if after <= t < before]


@contextlib.contextmanager
def started_mosquitto(attempts: int = 5, **kwargs):
    """with started_mosquitto(users=..., extra_conf=...) as b: -- MosquittoBroker(**kwargs), entered,
    retried on a fresh port when the one free_port() picked was taken before mosquitto bound it
    (any outgoing connection of a parallel test can get that port as its ephemeral port)."""
    for attempt in range(attempts):
        b = MosquittoBroker(**kwargs)
        try:
            b.__enter__()
        except RuntimeError as e:
            if "Address already in use" in str(e) and "port" not in kwargs and attempt + 1 < attempts:
                continue
            raise
        break
    try:
        yield b
    finally:
        b.__exit__(None, None, None)
