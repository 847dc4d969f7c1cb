#!/usr/bin/env python3
"""The network's DNS servers go to systemd-resolved as the cellular link's servers, where it runs:
a fake org.freedesktop.resolve1 (fake_resolved.py) on the private bus records what cellgated asks
of it while the data path of test_datapath.py comes up and goes down. Without resolve1 on the bus
nothing changes: the session still resolves with the module's DNS."""

import json
import os
import subprocess
import sys
import time

from datapath_net import CLOUD_HOST, MODULE_IP, usable
from harness import PrivateBus, run
from test_datapath import Case, bring_up

FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_resolved.py")

_POLICY = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <include>{shipped}</include>
  <!-- What systemd-resolved's own policy grants: it owns its name, root may call it. -->
  <policy user="root">
    <allow own="org.freedesktop.resolve1"/>
    <allow send_destination="org.freedesktop.resolve1"/>
  </policy>
</busconfig>
"""


class ResolvedBus(PrivateBus):
    """The private bus with the fake resolved on it, before cellgated starts."""

    def __init__(self, policy, keep=False):
        super().__init__(policy, keep=keep)
        shipped = self.policy
        self.policy = os.path.join(self.workdir, "with-resolved.conf")
        with open(self.policy, "w") as f:
            f.write(_POLICY.format(shipped=shipped))

    def __enter__(self):
        super().__enter__()
        self.calls_path = os.path.join(self.workdir, "resolved-calls.jsonl")
        self.fake = subprocess.Popen([sys.executable, FAKE, self.address, self.calls_path],
                                     stdout=subprocess.PIPE, text=True)
        if self.fake.stdout.readline().strip() != "ready":
            self.__exit__(None, None, None)
            raise RuntimeError("the fake resolved did not start")
        return self

    def __exit__(self, *exc):
        if getattr(self, "fake", None):
            self.fake.terminate()
            self.fake.wait(5)
            self.fake.stdout.close()
        super().__exit__(*exc)

    def calls(self):
        try:
            with open(self.calls_path) as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []


def ifindex(c, dev):
    return json.loads(c.net.ip(c.net.pi, f"-j link show {dev}"))[0]["ifindex"]


def test_the_links_dns_servers_go_to_resolved_without_the_default_route(args):
    with Case(args, "rsv", "failover", bus_type=ResolvedBus) as c:
        bring_up(c)
        index = ifindex(c, "usb0")
        module_dns = [2, [int(b) for b in MODULE_IP.split(".")]]
        want = [{"method": "SetLinkDNS", "args": [index, [module_dns]]},
                {"method": "SetLinkDefaultRoute", "args": [index, False]}]
        c.wait(lambda: c.bus.calls()[:2] == want, 10, f"{want} at resolved, got {c.bus.calls()}")
        # No routing domain: the cellular link must not take the Pi's other queries.
        assert not any(x["method"] == "SetLinkDomains" for x in c.bus.calls()), c.bus.calls()

        # The data call ends: resolved forgets the link.
        c.net.ip(c.net.mod, "link set mod0 down")
        c.wait(lambda: c.session() == "waiting-link", 10, "waiting-link after carrier loss")
        c.wait(lambda: {"method": "RevertLink", "args": [index]} in c.bus.calls(), 10,
               f"RevertLink({index}), got {c.bus.calls()}")
        # And gets it again when the link is back.
        count = len(c.bus.calls())
        c.net.ip(c.net.mod, "link set mod0 up")
        c.wait(lambda: c.session() == "connected", 60, "connected after the carrier returned")
        c.wait(lambda: c.bus.calls()[count:count + 2] == want, 10, f"{want} again, got {c.bus.calls()}")


def test_without_resolved_the_servers_stay_with_cellgated(args):
    with Case(args, "nrsv", "failover") as c:
        bring_up(c)
        assert (CLOUD_HOST, c.net.address()) in c.net.dns_queries(), c.net.dns_queries()
        c.d.wait_log("systemd-resolved is not on the system bus; the network's DNS servers stay with cellgated")
        time.sleep(0.5)
        assert c.d.log().count("systemd-resolved is not on the system bus") == 1, c.d.log()
        assert c.d.proc.poll() is None


if __name__ == "__main__":
    if usable():
        print(f"skipped: {usable()}", flush=True)
        sys.exit(77)
    run([test_the_links_dns_servers_go_to_resolved_without_the_default_route,
         test_without_resolved_the_servers_stay_with_cellgated], workers=2)
