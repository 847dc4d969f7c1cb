"""The cellgated integration harness: the real daemon, on a private D-Bus bus, against the modem
simulator, real mosquitto brokers (../brokers.py) and the cloud platform emulator (../emulator/).

    from harness import PrivateBus, Daemon, MODEM_PATH, MODEM_IFACE, run

    def test_something(args):
        with PrivateBus(args.policy) as bus, Daemon(args.daemon, CONFIG, bus) as d:
            d.wait_ready()
            assert bus.get_property(MODEM_PATH, MODEM_IFACE, "State") == "disabled"

    if __name__ == "__main__":
        run([test_something])

Rooms:
  run          run(tests, workers=None) the runner; parse_args(); wait_for(pred, timeout, what)
  procs        stop_process(proc): the one way a test ends a child; make_workdir(prefix)
  bus          PrivateBus (dbus-daemon; busctl/dbus-send clients, also as nobody), BusError,
               the object paths and interfaces, cloud_path(name)
  dbus_client  DBusClient: pipelined in-process calls (python3-dbus), e.g. Publish in volume
  daemon       Daemon (cellgated, its sd_notify socket and log), cloud_daemon(args, config),
               assert_clean_stop(d), check_config()
  sim          Simulator: tests/sim/modemsim.py on a pty
  config_yaml  modem_config(), cloud_config(), bridge_config(), platform_session(), write_secret()
  props        PropertySampler, wait_cloud(), cloud_props()
  mqtt         MqttCollector: a subscriber/publisher on paho-mqtt
  modem        modem_case(args, scenario, ...) and what the simulated modules report
  bridge       bridge_case(args, sessions, routes, ...): local mosquitto + bus + cellgated
"""

from .bridge import BridgeCase, bridge_case, bridge_outbox_path
from .bus import (CLOUD_IFACE, GATEWAY_IFACE, GATEWAY_PATH, MODEM_IFACE, MODEM_PATH, NOBODY,
                  SERVICE, BusError, PrivateBus, cloud_path)
from .config_yaml import bridge_config, cloud_config, modem_config, platform_session, to_yaml, write_secret
from .daemon import Daemon, assert_clean_stop, assert_no_sanitizer_report, check_config, cloud_daemon
from .dbus_client import DBusClient
from .modem import IDENTITY, IMSI, IP, ModemCase, modem_case
from .mqtt import MqttCollector
from .procs import make_workdir, stop_process
from .props import PropertySampler, cloud_props, wait_cloud
from .run import parse_args, run, wait_for
from .sim import Simulator

__all__ = [
    "BridgeCase", "bridge_case", "bridge_outbox_path",
    "CLOUD_IFACE", "GATEWAY_IFACE", "GATEWAY_PATH", "MODEM_IFACE", "MODEM_PATH", "NOBODY",
    "SERVICE", "BusError", "PrivateBus", "cloud_path",
    "bridge_config", "cloud_config", "modem_config", "platform_session", "to_yaml", "write_secret",
    "Daemon", "assert_clean_stop", "assert_no_sanitizer_report", "check_config",
    "cloud_daemon",
    "DBusClient",
    "IDENTITY", "IMSI", "IP", "ModemCase", "modem_case",
    "MqttCollector",
    "make_workdir", "stop_process",
    "PropertySampler", "cloud_props", "wait_cloud",
    "parse_args", "run", "wait_for",
    "Simulator",
]
