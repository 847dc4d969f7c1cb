"""One bridge case: a local mosquitto, a private bus and cellgated with the bridge sections."""

from __future__ import annotations

import contextlib
import os
import shutil

from .config_yaml import bridge_config
from .daemon import check_config, cloud_daemon
from .mqtt import MqttCollector
from .procs import make_workdir
from .props import cloud_props, wait_cloud


class BridgeCase:
    """What bridge_case() yields: the private bus, the running daemon, the local mosquitto broker
    (persistence off, anonymous), a scratch directory (the outbox lives there) and the config."""

    def __init__(self, bus, daemon, local, workdir: str, config: str):
        self.bus, self.d, self.local, self.workdir, self.config = bus, daemon, local, workdir, config

    def props(self, name: str) -> dict:
        return cloud_props(self.bus, name)

    def wait(self, name: str, pred, timeout: float, what: str) -> dict:
        return wait_cloud(self.bus, name, pred, timeout, what, self.d)

    def publisher(self, client_id: str = "app-pub") -> MqttCollector:
        """A local application connection (clean session, no subscriptions) to publish with."""
        return MqttCollector(self.local.host, self.local.port, [], client_id=client_id, clean=True)


def bridge_outbox_path(workdir: str) -> str:
    return os.path.join(workdir, "outbox.db")


@contextlib.contextmanager
def bridge_case(args, sessions, routes=(), downlink=(), outbox: dict | None = None, backoff: dict | None = None,
                local_client_id: str = "cellgate", ready_timeout: float = 20, modem: str | None = None,
                env: dict | None = None):
    """with bridge_case(args, [platform_session("ali", emu)], routes=[...]) as case: ...
    The outbox is in a fresh scratch directory unless `outbox` names a path; the config must pass
    --check-config first. A clean exit ends like cloud_daemon()."""
    from brokers import started_mosquitto  # brokers imports this package: not at module level

    workdir = make_workdir("cellgate-bridge-")
    try:
        with started_mosquitto(keep=args.keep) as local:
            box = {"path": bridge_outbox_path(workdir)}
            box.update(outbox or {})
            cfg = bridge_config(sessions, local=dict(endpoint=local.endpoint, client_id=local_client_id),
                                routes=routes, downlink=downlink, outbox=box, backoff=backoff, modem=modem)
            check_config(args.daemon, cfg, workdir)
            with cloud_daemon(args, cfg, env=env, ready_timeout=ready_timeout) as (bus, d):
                yield BridgeCase(bus, d, local, workdir, cfg)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
