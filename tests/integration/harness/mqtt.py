"""An MQTT client for the test's side of a broker (an application on the local broker, the
platform's backend on the cloud one), on paho-mqtt."""

from __future__ import annotations

import threading
import time

import paho.mqtt.client as paho

from .run import wait_for


class MqttCollector:
    """A background subscriber that keeps every message with its arrival time and reconnects
    (same client id, clean session off by default) when the broker goes away, so a persistent
    session picks up what was queued meanwhile. It also publishes from the same connection.

        with MqttCollector(broker.host, broker.port, ["gw/#"]) as col:
            col.wait_count(1000, timeout=30)   # col.snapshot() -> [(monotonic, topic, payload bytes)]
            col.publish("app/x", b"...", qos=1)   # QoS 1 returns once PUBACKed
    """

    def __init__(self, host: str, port: int, filters, client_id: str = "collector", qos: int = 1,
                 clean: bool = False, username=None, password=None):
        self.host, self.port, self.filters, self.client_id = host, port, list(filters), client_id
        self.qos = qos
        self.messages: list = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._client = paho.Client(client_id=client_id, clean_session=clean, protocol=paho.MQTTv311)
        if username is not None:
            self._client.username_pw_set(username, password)
        # Retry at once, like an application that must not miss the broker's return.
        self._client.reconnect_delay_set(min_delay=0.05, max_delay=0.05)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = lambda *_: self._ready.set()
        self._client.on_message = self._on_message

    def __enter__(self) -> "MqttCollector":
        self._client.connect_async(self.host, self.port, keepalive=60)
        self._client.loop_start()
        if not self._ready.wait(10):
            self.__exit__(None, None, None)
            raise TimeoutError(f"collector {self.client_id} did not connect/subscribe to {self.host}:{self.port}")
        return self

    def __exit__(self, *exc) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(self, client, userdata, flags, rc) -> None:
        if rc != 0:
            return
        if self.filters:
            client.subscribe([(f, self.qos) for f in self.filters])
        else:
            self._ready.set()

    def _on_message(self, client, userdata, msg) -> None:
        with self._lock:
            self.messages.append((time.monotonic(), msg.topic, bytes(msg.payload)))

    def publish(self, topic: str, payload, qos: int = 1, timeout: float = 5.0) -> None:
        if not self._client.is_connected():
            raise ConnectionError(f"{self.client_id} is not connected to {self.host}:{self.port}")
        info = self._client.publish(topic, payload, qos)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            raise ConnectionError(f"{self.client_id}: publish to {topic}: {paho.error_string(info.rc)}")
        if qos:
            info.wait_for_publish(timeout)
            if not info.is_published():
                raise TimeoutError(f"no PUBACK for {topic} within {timeout}s")

    def snapshot(self) -> list:
        with self._lock:
            return list(self.messages)

    def wait_count(self, n: int, timeout: float, pred=None) -> list:
        """Waits until at least n messages (matching pred(topic, payload) if given) arrived."""
        def matching():
            return [m for m in self.snapshot() if pred is None or pred(m[1], m[2])]
        try:
            return wait_for(lambda: (lambda msgs: msgs if len(msgs) >= n else None)(matching()), timeout,
                            f"{n} messages on {self.filters}")
        except TimeoutError:
            raise AssertionError(f"{self.client_id}: {len(matching())} of {n} messages on {self.filters} within "
                                 f"{timeout}s") from None
