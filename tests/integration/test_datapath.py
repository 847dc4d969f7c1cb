#!/usr/bin/env python3
"""The host side of the data path, end to end, in network namespaces (datapath_net.py): cellgated
in the "pi" namespace finds the module's interface, takes its lease from the module's DHCP server
(or the modem's settings on a raw-ip TUN), installs the route policy, and its cloud session goes
out through the module whatever Ethernet's better default route says, with the cloud host
resolved by the module's DNS. Then the module's side breaks (carrier, address, DHCP server) and
the path must heal without a restart. Every assertion is made from outside the daemon."""

import os
import sys
import time

from datapath_net import BROKER_IP, CLOUD_HOST, MODULE_IP, PI_ETH_IP, Topology, usable
from harness import (CLOUD_IFACE, MODEM_IFACE, MODEM_PATH, Daemon, PrivateBus, Simulator, cloud_config,
                     cloud_path, modem_config, run)

CLIENT = "gw-lab"


def hook(args) -> str:
    return os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(args.sim)))),
                        "net", "udhcpc-hook")


class Case:
    """The topology, the simulator and cellgated in the pi namespace, with one cloud session to
    cloud.example."""

    def __init__(self, args, tag, route, raw_ip=False, bus_type=PrivateBus):
        self.args, self.tag, self.route, self.raw_ip, self.bus_type = args, tag, route, raw_ip, bus_type

    def __enter__(self):
        self.net = Topology(self.tag, raw_ip=self.raw_ip, keep=self.args.keep)
        self.net.__enter__()
        try:
            self.bus = self.bus_type(self.args.policy, keep=self.args.keep).__enter__()
            sim_args = ["--ip", "10.64.12.34", "--prefix", "32", "--gateway", "10.64.12.1", "--dns", "10.64.12.1",
                        "--mtu", "1400"] if self.raw_ip else []
            self.sim = Simulator(self.args.sim, "normal", vendor="generic", speed=4.0, extra_args=sim_args,
                                 keep=self.args.keep).__enter__()
            modem = modem_config(self.sim.link, interface=self.net.interface,
                                 ip_method="static" if self.raw_ip else "dhcp", route=self.route)
            session = dict(name="lab", platform="generic", endpoint=f"{CLOUD_HOST}:1883", tls=False,
                           keepalive="60s", client_id=CLIENT)
            self.d = Daemon(self.args.daemon, cloud_config([session], modem=modem), self.bus, keep=self.args.keep,
                            env={"CELLGATE_UDHCPC_HOOK": hook(self.args)},
                            wrapper=("ip", "netns", "exec", self.net.pi)).__enter__()
            self.d.wait_ready(timeout=15)
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def __exit__(self, *exc):
        for part in ("d", "sim", "bus"):
            if hasattr(self, part):
                getattr(self, part).__exit__(*exc)
        self.net.__exit__(*exc)

    def modem(self):
        return self.bus.get_all(MODEM_PATH, MODEM_IFACE)

    def session(self):
        return self.bus.get_property(cloud_path("lab"), CLOUD_IFACE, "State")

    def wait(self, pred, timeout, what):
        """Polls pred() every 50 ms; returns the seconds it took."""
        start = time.monotonic()
        while not pred():
            assert self.d.proc.poll() is None, f"cellgated exited with {self.d.proc.returncode}"
            if time.monotonic() - start > timeout:
                raise AssertionError(f"not within {timeout} s: {what}; modem {self.modem()}, "
                                     f"session {self.session()}")
            time.sleep(0.05)
        return time.monotonic() - start


def connects_through_the_module(c, address):
    """The session's connections all reached the module's broker, from the module's address."""
    sources = c.net.module_broker.clients(CLIENT)
    assert sources and set(sources) == {address}, f"module broker saw {CLIENT} from {sources}"
    assert c.net.lan_broker.clients(CLIENT) == [], "the session went out through Ethernet"


def bring_up(c):
    c.wait(lambda: c.modem()["State"] == "connected", 30, "modem connected")
    took = c.wait(lambda: c.session() == "connected", 30, "session connected through the module")
    print(f"data call up -> first CONNECT through the module: {took:.2f} s", flush=True)
    return took


def route_mode_case(route):
    def test(args):
        with Case(args, route[:4], route) as c:
            bring_up(c)
            address = c.net.address()
            assert address.startswith("192.168.225."), address
            connects_through_the_module(c, address)
            # The cloud name came from the module's DNS server, asked from the cellular address.
            assert (CLOUD_HOST, address) in c.net.dns_queries(), c.net.dns_queries()
            m = c.modem()
            got = {k: m[k] for k in ("Interface", "IpMethod", "Ipv4Address", "Ipv4Gateway", "Dns", "Mtu", "Route")}
            assert got == {"Interface": "usb0", "IpMethod": "dhcp", "Ipv4Address": f"{address}/24",
                           "Ipv4Gateway": MODULE_IP, "Dns": [MODULE_IP], "Mtu": 1400, "Route": route}, got

            # Pinned traffic takes the module in every mode; the rest follows the metrics.
            assert "dev usb0" in c.net.ip(c.net.pi, f"route get {BROKER_IP} from {address}")
            main = c.net.ip(c.net.pi, "route show table main")
            metric = {"failover": " metric 700", "primary": " metric 50"}.get(route)
            assert ("default via 192.168.225.1 dev usb0" in main) == (metric is not None), main
            if metric:
                assert metric in main, main
            assert "metric 0" not in main, main
            other = c.net.exec(c.net.pi, f"{sys.executable} -c \"import socket; s = socket.create_connection("
                               f"('{BROKER_IP}', 1883), 3); print(s.getsockname()[0])\"").strip()
            expected = address if route == "primary" else PI_ETH_IP
            assert other == expected, f"an unbound socket left from {other} in {route} mode"
            broker = c.net.module_broker if route == "primary" else c.net.lan_broker
            c.wait(lambda: broker.connections_from(other) >= (2 if route == "primary" else 1), 3,
                   "the other connection at the broker its route leads to")

            # Counters come from the interface and move with the traffic.
            c.wait(lambda: c.modem()["RxBytes"] > 0 and c.modem()["TxBytes"] > 0, 10, "RxBytes/TxBytes")
    test.__name__ = f"test_sessions_go_through_the_module_in_{route}_mode"
    return test


def test_faults_on_the_module_side_heal_without_a_restart(args):
    with Case(args, "fault", "failover") as c:
        bring_up(c)
        pid = c.d.proc.pid

        # The module's end loses its carrier.
        c.net.ip(c.net.mod, "link set mod0 down")
        took = c.wait(lambda: c.session() == "waiting-link", 10, "waiting-link after carrier loss")
        print(f"dead link on the module side (carrier) noticed after {took:.2f} s", flush=True)
        c.net.ip(c.net.mod, "link set mod0 up")
        took = c.wait(lambda: c.session() == "connected", 60, "connected after the carrier returned")
        print(f"path back {took:.2f} s after the carrier returned", flush=True)

        # Someone flushes the interface's address.
        c.net.ip(c.net.pi, "addr flush dev usb0")
        took = c.wait(lambda: c.session() == "waiting-link", 10, "waiting-link after an address flush")
        print(f"address flush noticed after {took:.2f} s", flush=True)
        c.wait(lambda: c.session() == "connected", 60, "connected after the address flush")

        # The module's DHCP server stops answering: the next probe (status_poll, 5 s) finds it.
        c.net.stop_dnsmasq()
        took = c.wait(lambda: c.session() == "waiting-link", 30, "waiting-link after the DHCP server stopped")
        print(f"dead DHCP server noticed after {took:.2f} s", flush=True)
        c.net.start_dnsmasq()
        took = c.wait(lambda: c.session() == "connected", 90, "connected after the DHCP server returned")
        print(f"path back {took:.2f} s after the DHCP server returned", flush=True)

        assert c.d.proc.pid == pid and c.d.proc.poll() is None, "the daemon was restarted"
        connects_through_the_module(c, c.net.address())


def test_raw_ip_link_from_the_modems_settings(args):
    with Case(args, "raw", "failover", raw_ip=True) as c:
        bring_up(c)
        connects_through_the_module(c, "10.64.12.34")
        assert (CLOUD_HOST, "10.64.12.34") in c.net.dns_queries(), c.net.dns_queries()
        m = c.modem()
        got = {k: m[k] for k in ("Interface", "IpMethod", "Ipv4Address", "Dns", "Mtu")}
        assert got == {"Interface": "wwan0", "IpMethod": "static", "Ipv4Address": "10.64.12.34/32",
                       "Dns": ["10.64.12.1"], "Mtu": 1400}, got
        assert "mtu 1400" in c.net.ip(c.net.pi, "link show wwan0")
        main = c.net.ip(c.net.pi, "route show table main")
        assert "default dev wwan0 proto static scope link src 10.64.12.34 metric 700" in main, main


if __name__ == "__main__":
    if usable():
        print(f"skipped: {usable()}", flush=True)
        sys.exit(77)
    run([route_mode_case(r) for r in ("failover", "primary", "none")] +
        [test_faults_on_the_module_side_heal_without_a_restart, test_raw_ip_link_from_the_modems_settings],
        workers=2)
