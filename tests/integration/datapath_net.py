"""Network namespaces for the data path tests: a Pi with a cellular module and an Ethernet uplink.

    pi   the daemon's namespace. usb0: the module's ECM interface (or wwan0, a TUN, for raw-ip);
         eth0: "Ethernet", 198.51.100.2/24, default route via 198.51.100.1 metric 100.
    mod  the module and the mobile network behind it: mod0 192.168.225.1/24 (the far end of usb0),
         dnsmasq as its DHCP and DNS server (cloud.example is 203.0.113.7 here and nowhere
         else), and the cloud broker on 203.0.113.7:1883.
    lan  what is behind Ethernet: 198.51.100.1/24, and a broker on the same 203.0.113.7:1883, so a
         connection that went the wrong way would still succeed, and be seen there.

Every assertion is made from outside the daemon: the brokers' logs (who connected, from which
address), dnsmasq's query log, `ip` in the namespaces, and interface counters.

    with Topology("failover") as net:
        net.ip("pi", "route get 203.0.113.7"); net.module_broker.clients("gw-lab"); net.dns_queries()
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time

from harness import make_workdir, stop_process

BROKER_IP = "203.0.113.7"
CLOUD_HOST = "cloud.example"
MODULE_IP = "192.168.225.1"
PI_ETH_IP = "198.51.100.2"
LAN_IP = "198.51.100.1"


def sh(cmd: str, check: bool = True) -> str:
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=30)
    if check and r.returncode != 0:
        raise RuntimeError(f"{cmd}: exit {r.returncode}: {r.stderr.strip()}")
    return r.stdout


def usable() -> str:
    """Why these tests cannot run here, or ""."""
    if os.geteuid() != 0:
        return "needs root for network namespaces"
    for tool in ("ip", "dnsmasq", "busybox", "mosquitto"):
        if not shutil.which(tool):
            return f"needs {tool}"
    return ""


class Broker:
    """mosquitto in a namespace, on BROKER_IP:1883, logging connections with their source."""

    def __init__(self, ns: str, workdir: str, name: str):
        self.ns, self.log_path = ns, os.path.join(workdir, f"{name}-broker.log")
        self.conf = os.path.join(workdir, f"{name}-broker.conf")
        with open(self.conf, "w") as f:
            f.write(f"listener 1883 {BROKER_IP}\nallow_anonymous true\npersistence false\n"
                    f"log_dest file {self.log_path}\nlog_type all\nuser root\n")
        self.proc = None

    def start(self) -> None:
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.ns, "mosquitto", "-c", self.conf],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while " running" not in self.log() and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop(self) -> None:
        stop_process(self.proc)

    def log(self) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def clients(self, client_id: str) -> list:
        """Source addresses of every connection that identified as `client_id`."""
        return re.findall(rf"New client connected from ([0-9.]+):\d+ as {re.escape(client_id)}\b", self.log())

    def connections_from(self, address: str) -> int:
        return len(re.findall(rf"New connection from {re.escape(address)}:\d+", self.log()))


class Topology:
    """The three namespaces of the module docstring; `raw_ip` makes the module a TUN pair instead
    of a veth with DHCP (a test process relays packets between wwan0 and the module's end)."""

    def __init__(self, tag: str, raw_ip: bool = False, keep: bool = False):
        self.raw_ip, self.keep = raw_ip, keep
        n = f"cg{os.getpid() % 100000}{tag[:6]}"
        self.pi, self.mod, self.lan = n + "pi", n + "mod", n + "lan"
        self.workdir = make_workdir("cellgate-datapath-")
        self.dns_log = os.path.join(self.workdir, "dnsmasq.log")
        self.module_broker = Broker(self.mod, self.workdir, "module")
        self.lan_broker = Broker(self.lan, self.workdir, "lan")
        self.dnsmasq = None
        self.relay = None
        self.interface = "wwan0" if raw_ip else "usb0"

    def ip(self, ns: str, args: str, check: bool = True) -> str:
        return sh(f"ip -n {ns} {args}", check)

    def exec(self, ns: str, cmd: str, check: bool = True) -> str:
        return sh(f"ip netns exec {ns} {cmd}", check)

    def __enter__(self) -> "Topology":
        try:
            self._build()
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def _build(self) -> None:
        for ns in (self.pi, self.mod, self.lan):
            sh(f"ip netns add {ns}")
            self.ip(ns, "link set lo up")
        # Ethernet, with the better default route, and a broker behind it on the same address.
        sh(f"ip link add eth0 netns {self.pi} type veth peer name lan0 netns {self.lan}")
        self.ip(self.pi, f"addr add {PI_ETH_IP}/24 dev eth0")
        self.ip(self.pi, "link set eth0 up")
        self.ip(self.lan, f"addr add {LAN_IP}/24 dev lan0")
        self.ip(self.lan, "link set lan0 up")
        self.ip(self.lan, f"addr add {BROKER_IP}/32 dev lo")
        self.ip(self.pi, f"route add default via {LAN_IP} dev eth0 metric 100")
        self.ip(self.mod, f"addr add {BROKER_IP}/32 dev lo")
        if self.raw_ip:
            self._raw_ip_module()
        else:
            sh(f"ip link add usb0 netns {self.pi} type veth peer name mod0 netns {self.mod}")
            self.ip(self.mod, f"addr add {MODULE_IP}/24 dev mod0")
            self.ip(self.mod, "link set mod0 up")
        self.start_dnsmasq()
        self.module_broker.start()
        self.lan_broker.start()

    def _raw_ip_module(self) -> None:
        """wwan0 in pi and modtun in mod, two TUN devices whose packets a relay process copies
        across: a point-to-point link without ARP, like qmi_wwan in raw-ip mode."""
        self.relay = subprocess.Popen(["ip", "netns", "exec", self.pi, sys.executable, "-c", RELAY,
                                       f"/run/netns/{self.mod}"],
                                      stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = self.relay.stdout.readline()
        if line.strip() != b"ready":
            raise RuntimeError("tun relay: " + (line + self.relay.stderr.read()).decode(errors="replace"))
        self.ip(self.mod, "addr add 10.64.12.1/32 dev modtun")
        self.ip(self.mod, "link set modtun up")
        self.ip(self.mod, "route add 10.64.12.34/32 dev modtun")

    def start_dnsmasq(self) -> None:
        if self.raw_ip:
            where = ["--listen-address=10.64.12.1", "--bind-interfaces", "--no-dhcp-interface=modtun"]
        else:
            where = ["--interface=mod0", "--bind-interfaces", "--dhcp-range=192.168.225.20,192.168.225.60,2m",
                     f"--dhcp-option=option:router,{MODULE_IP}", f"--dhcp-option=option:dns-server,{MODULE_IP}",
                     "--dhcp-option=option:mtu,1400"]
        self.dnsmasq = subprocess.Popen(
            ["ip", "netns", "exec", self.mod, "dnsmasq", "--no-daemon", "--conf-file=/dev/null", *where,
             "--leasefile-ro", "--pid-file=", "--no-ping", "--no-resolv", "--no-hosts",
             f"--address=/{CLOUD_HOST}/{BROKER_IP}", "--log-queries", f"--log-facility={self.dns_log}"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)

    def stop_dnsmasq(self) -> None:
        stop_process(self.dnsmasq)
        self.dnsmasq = None

    def dns_queries(self) -> list:
        """(name, source address) of every A query dnsmasq answered."""
        try:
            with open(self.dns_log, errors="replace") as f:
                text = f.read()
        except OSError:
            return []
        return re.findall(r"query\[A\] (\S+) from ([0-9.]+)", text)

    def counters(self, ns: str, dev: str) -> tuple:
        out = self.ip(ns, f"-s link show dev {dev}")
        nums = re.findall(r"^\s+(\d+)\s+\d+", out, re.M)  # bytes of RX, then of TX
        return int(nums[0]), int(nums[1])

    def address(self) -> str:
        m = re.search(r"inet ([0-9.]+)/", self.ip(self.pi, f"-4 addr show dev {self.interface}"))
        return m.group(1) if m else ""

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            for b in (self.module_broker, self.lan_broker):
                sys.stderr.write(f"--- {b.log_path} (tail) ---\n" + "".join(b.log().splitlines(True)[-30:]))
            for ns in (self.pi, self.mod):
                sys.stderr.write(f"--- {ns} ---\n" + sh(f"ip -n {ns} addr; ip -n {ns} route; ip -n {ns} rule", False))
        for b in (self.module_broker, self.lan_broker):
            b.stop()
        stop_process(self.dnsmasq)
        stop_process(self.relay)
        for ns in (self.pi, self.mod, self.lan):
            sh(f"ip netns del {ns}", check=False)
        if not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)


# Runs in the pi namespace: opens wwan0 there, moves itself into the module's namespace (argv[1])
# to open modtun, and copies packets between the two.
RELAY = r"""
import ctypes, fcntl, os, select, struct, sys
TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454ca, 0x0001, 0x1000
def tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd
a = tun("wwan0")
ns = os.open(sys.argv[1], os.O_RDONLY)
if ctypes.CDLL(None, use_errno=True).setns(ns, 0x40000000) != 0:
    sys.exit("setns: " + os.strerror(ctypes.get_errno()))
b = tun("modtun")
print("ready", flush=True)
peer = {a: b, b: a}
while True:
    for fd in select.select([a, b], [], [])[0]:
        packet = os.read(fd, 65535)
        try:
            os.write(peer[fd], packet)
        except OSError:
            pass  # the other end is down (EIO): the packet is lost, as on a real link
"""
