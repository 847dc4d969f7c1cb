"""cellgated configuration files for tests, written with PyYAML from plain dicts.

None values are left out, so a test can drop a key the function would otherwise write (key=None).
Durations are strings such as "60s".
"""

from __future__ import annotations

import os

import yaml


def _without_none(v):
    if isinstance(v, dict):
        return {k: _without_none(x) for k, x in v.items() if x is not None}
    if isinstance(v, (list, tuple)):
        return [_without_none(x) for x in v]
    return v


def to_yaml(doc: dict) -> str:
    """Block-style YAML of `doc` in its key order (empty when every value is None)."""
    doc = _without_none(doc)
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True) if doc else ""


def modem_config(port: str, vendor: str | None = None, pin: str | None = None, apn: str = "cmnet",
                 log_level: str = "debug", user: str | None = None, password: str | None = None,
                 auth: str | None = None, **timers) -> str:
    """A config driving the simulator at `port`, with timers short enough for tests; timer keyword
    arguments override the defaults below (e.g. status_poll="5s")."""
    t = dict(signal_interval="5s", registration_grace="5s", registration_timeout="10s",
             status_poll="5s", recovery_backoff="1s", recovery_backoff_max="4s",
             port_return_timeout="20s")
    t.update(timers)
    modem = dict(port=port, vendor=vendor, pin=pin, apn=dict(name=apn, user=user, password=password, auth=auth))
    return to_yaml(dict(log_level=log_level, modem={**modem, **t}))


def cloud_config(sessions, backoff: dict | None = None, modem: str | None = None,
                 log_level: str = "debug") -> str:
    """A `cloud:` list of session dicts (nested dicts for tls: {...}) and an optional `backoff:`
    map, after `modem` (modem_config() text, which carries log_level) or a log_level line."""
    head = modem if modem is not None else to_yaml(dict(log_level=log_level))
    return head + to_yaml(dict(cloud=list(sessions), backoff=backoff or None))


def bridge_config(sessions, local: dict | None = None, routes=(), downlink=(), outbox: dict | None = None,
                  backoff: dict | None = None, log_level: str = "debug", modem: str | None = None) -> str:
    """cloud_config() plus the bridge sections:
        local: {endpoint, client_id, username, password_file}
        routes: [{from, to, as, topic, qos}, ...]      (as: property | event:<id> | raw)
        downlink: [{from, to, filters}, ...]          (filters: a list, for generic)
        outbox: {path, max_messages, max_bytes, max_age}"""
    return cloud_config(sessions, backoff=backoff, log_level=log_level, modem=modem) + to_yaml(
        dict(local=local or None, routes=list(routes) or None, downlink=list(downlink) or None,
             outbox=outbox or None))


def platform_session(name: str, emu, **extra) -> dict:
    """A cloud: entry for a PlatformEmulator (mode aliyun, onenet or generic) or a MosquittoBroker
    (generic) on plain TCP with its credentials; keyword arguments override or add keys (None
    removes one)."""
    mode = getattr(emu, "mode", "generic")
    e = dict(name=name, platform=mode, endpoint=emu.endpoint, tls=False, keepalive="60s")
    if mode == "aliyun":
        e.update(product_key=emu.product_key, device_name=emu.device_name, device_secret=emu.device_secret)
    elif mode == "onenet":
        e.update(product_id=emu.product_id, device_name=emu.device_name, device_key=emu.device_key,
                 token_lifetime="1h")
    else:
        e.update(client_id=f"gw-{name}")
    e.update(extra)
    return e


def write_secret(directory: str, name: str, value: str) -> str:
    """A 0600 secret file, the way the config wants it; returns its path."""
    path = os.path.join(directory, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    return path
