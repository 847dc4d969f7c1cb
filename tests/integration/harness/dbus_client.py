"""An in-process D-Bus client for volume: many Publish calls in flight on one connection.

python3-dbus delivers asynchronous replies only through a main loop, so one GLib main loop thread
(started with the first client) dispatches the replies of every client; the calls themselves are
sent from the caller's thread, in call order.
"""

from __future__ import annotations

import itertools
import threading

import dbus
import dbus.bus
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

from .bus import CLOUD_IFACE, SERVICE, BusError, cloud_path

_loop_lock = threading.Lock()
_dbus_loop = None


def _main_loop():
    global _dbus_loop
    with _loop_lock:
        if _dbus_loop is None:
            _dbus_loop = DBusGMainLoop()
            threading.Thread(target=GLib.MainLoop().run, daemon=True, name="glib-main-loop").start()
        return _dbus_loop


class DBusClient:
    """Calls pipelined on a connection of its own: call_async() sends at once and returns a handle,
    result(handle) waits for that reply.

        with DBusClient(bus.address) as c:
            h = c.call_async(SERVICE, path, CLOUD_IFACE, "Publish", "sayy", ["t", b"{}", 1])
            c.result(h, timeout=10)        # -> [id] or raises BusError
            c.publish("lab", "t", b"{}")   # the same, blocking
            c.watch_properties(MODEM_PATH, MODEM_IFACE)  # PropertiesChanged as they come

    A call still pending when the daemon vanishes gets the bus's NoReply error. It authenticates as
    the current user; for denial tests use PrivateBus.send(user="nobody")."""

    # Longer than any test waits: result(timeout) decides, not the library.
    CALL_TIMEOUT = 3600.0

    def __init__(self, address: str):
        self._conn = dbus.bus.BusConnection(address, mainloop=_main_loop())
        self._conn.set_exit_on_disconnect(False)
        self.unique_name = str(self._conn.get_unique_name())
        self._handles = itertools.count(1)
        self._cond = threading.Condition()
        self._replies: dict = {}      # handle -> (ok, values or BusError)
        self.closed = False
        self._conn.add_signal_receiver(self._on_disconnected, "Disconnected", "org.freedesktop.DBus.Local",
                                       path="/org/freedesktop/DBus/Local")

    def __enter__(self) -> "DBusClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if not self.closed:
            self._conn.close()
        self._on_disconnected()

    def _on_disconnected(self, *_) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def _reply(self, handle: int, ok: bool, value) -> None:
        with self._cond:
            self._replies[handle] = (ok, value)
            self._cond.notify_all()

    def call_async(self, dest: str, path: str, iface: str, member: str, signature: str = "", args=()) -> int:
        handle = next(self._handles)
        try:
            self._conn.call_async(
                dest, path, iface, member, signature, tuple(args),
                lambda *values: self._reply(handle, True, list(values)),
                lambda e: self._reply(handle, False, BusError(e.get_dbus_name() or "?", e.get_dbus_message() or "")),
                timeout=self.CALL_TIMEOUT, byte_arrays=True)
        except dbus.exceptions.DBusException as e:  # the connection is gone: nothing was sent
            raise ConnectionError(f"D-Bus call not sent: {e}") from e
        return handle

    def result(self, handle: int, timeout: float = 10.0) -> list:
        """Waits for the reply to call `handle`; returns its values or raises BusError."""
        with self._cond:
            self._cond.wait_for(lambda: handle in self._replies or self.closed, timeout)
            if handle not in self._replies:
                raise TimeoutError(f"no D-Bus reply to call {handle} within {timeout}s"
                                   + (" (connection closed)" if self.closed else ""))
            ok, value = self._replies.pop(handle)
        if not ok:
            raise value
        return value

    def call(self, dest: str, path: str, iface: str, member: str, signature: str = "", args=(),
             timeout: float = 10.0) -> list:
        return self.result(self.call_async(dest, path, iface, member, signature, args), timeout)

    def watch_properties(self, path: str, iface: str) -> list:
        """From now on, every PropertiesChanged of `iface` at `path`: the list it returns grows by
        one {name: value} dict per signal, in arrival order."""
        seen: list = []

        def on_changed(interface, changed, _invalidated):
            if interface == iface:
                with self._cond:
                    seen.append({str(k): v for k, v in changed.items()})
                    self._cond.notify_all()
        self._conn.add_signal_receiver(on_changed, "PropertiesChanged", "org.freedesktop.DBus.Properties",
                                       path=path)
        return seen

    def publish_async(self, session: str, topic: str, payload: bytes, qos: int = 1) -> int:
        return self.call_async(SERVICE, cloud_path(session), CLOUD_IFACE, "Publish", "sayy",
                               [topic, payload, qos])

    def publish(self, session: str, topic: str, payload: bytes, qos: int = 1, timeout: float = 10.0) -> int:
        """CloudSession.Publish; returns the message id (the reply means: durable in the outbox)."""
        return int(self.result(self.publish_async(session, topic, payload, qos), timeout)[0])
