#!/usr/bin/env python3
"""Scriptable AT module on a pty, for cellgated's integration tests (Python 3 stdlib only).

    modemsim.py --link PATH --scenario NAME --vendor generic|quectel|quectel-ec25|simcom|luat|huawei
                [--pin 1234] [--control SOCKETPATH] [--log FILE] [--speed FACTOR]
                [--ip A.B.C.D --prefix N --gateway A.B.C.D --dns A,B --mtu N]

PATH becomes a symlink to the pty slave, like /dev/serial/by-id/... for a USB module. Scenarios:
normal no-sim pin-required puk-required reg-denied slow-reg pdp-fail reboot silence noise urc-burst.
The control socket takes one line per command and answers "ok" (state/history answer JSON):
reboot, unplug, plug, urc <text>, deact, deregister, register, silence on|off, noise on|off,
mqtt drop|silent|pdp|state (the module's own MQTT client, simcore/mqtt_module.py),
cell <field>=<value>... (tac ci pci earfcn band rsrp rsrq sinr: a new serving cell), state,
history [times]. SIGTERM/SIGINT exit cleanly and remove the link and the socket.
"""
import argparse
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from simcore import scenarios, vendors  # noqa: E402
from simcore.control import Control  # noqa: E402
from simcore.loop import Loop  # noqa: E402
from simcore.module import Module  # noqa: E402
from simcore.port import PtyLink  # noqa: E402


class Stop(Exception):
    pass


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--link", required=True)
    p.add_argument("--scenario", default="normal", choices=scenarios.NAMES)
    p.add_argument("--vendor", default="generic", choices=sorted(vendors.PROFILES))
    p.add_argument("--pin", default="1234", help="the SIM's PIN (pin-required scenario)")
    p.add_argument("--control")
    p.add_argument("--log")
    p.add_argument("--speed", type=float, default=1.0, help="divides every module delay")
    p.add_argument("--sim-busy", type=float, default=1.0,
                   help="module seconds after boot during which the SIM answers +CME ERROR: 14")
    p.add_argument("--ip", help="the PDN's address (CGPADDR, CGCONTRDP) instead of 10.64.12.x")
    p.add_argument("--prefix", type=int, default=24, help="CGCONTRDP's subnet mask, as a prefix length")
    p.add_argument("--gateway", default="10.64.12.1", help="CGCONTRDP's gateway")
    p.add_argument("--dns", default="211.136.17.107,211.136.20.203", help="CGCONTRDP's DNS servers, comma separated")
    p.add_argument("--mtu", type=int, default=0, help="CGCONTRDP's IPv4 MTU (0: not given)")
    a = p.parse_args(argv)
    context = {"ip": a.ip, "prefix": a.prefix, "gateway": a.gateway, "dns": a.dns.split(","), "mtu": a.mtu}

    def stop(signum, frame):
        raise Stop()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    loop = Loop(a.speed)
    transcript = open(a.log, "w", buffering=1, encoding="latin-1") if a.log else None
    module = None
    port = PtyLink(loop, a.link, lambda data: module.feed(data))
    module = Module(loop, port, vendors.PROFILES[a.vendor](), scenarios.make(a.scenario), a.pin,
                    transcript, a.sim_busy, context)
    control = Control(loop, a.control, module) if a.control else None
    try:
        port.open()
        module.boot()
        module.note("ready: %s -> %s, vendor %s, scenario %s, speed %g"
                    % (a.link, os.readlink(a.link), a.vendor, a.scenario, a.speed))
        loop.run()
    except Stop:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        port.close()
        port.remove_link()
        if control:
            control.close()
        if transcript:
            transcript.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
