"""The module's own MQTT client, for real: a paho-mqtt connection to the broker, driven by the
simulator's select loop (no threads), so CONNECT, PUBLISH, PINGREQ and DISCONNECT are real packets
at the broker. The AT command sets on top of it are in mqtt_module.py.

Like a module, it pings by itself at the keepalive given at connect (paho's loop_misc does).
"""
import os
import shutil
import socket
import ssl
import tempfile

try:
    import paho.mqtt.client as paho
except ImportError:  # only the MQTT command sets need it
    paho = None

TICK = 0.05  # seconds between loop_misc/loop_write turns: keepalive timing within 50 ms


def reachable(host, port, timeout=2.0):
    """The TCP part of MIPSTART/QMTOPEN: can a connection be made at all?"""
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


class BrokerLink:
    """One MQTT connection. Callbacks: on_message(topic, payload bytes), on_lost(reason) when the
    connection ends without our asking."""

    def __init__(self, loop, note, on_message, on_lost):
        self.loop, self.note = loop, note
        self.on_message, self.on_lost = on_message, on_lost
        self.client = None
        self.fd = None
        self.connected = False
        self.pings = 0
        self.acks = {}      # mid -> callback on PUBACK/SUBACK/UNSUBACK
        self.tls = None     # how the last connection was made: None, "verified" or "unverified"
        self._tick_timer = None

    # ---- connect / disconnect ----------------------------------------------------------------
    def connect(self, host, port, client_id, user, password, keepalive, clean, done, tls=None):
        """done(rc): 0 accepted, 1..5 CONNACK refusal, -1 no TCP connection (or no TLS handshake).
        tls: dict(ca, cert, key bytes or None, verify) from the module's SSL context."""
        self.close()
        if paho is None:
            self.note("mqtt: python3-paho-mqtt is not installed")
            self.loop.later_real(0.05, lambda: done(-1))
            return
        c = paho.Client(client_id=client_id, clean_session=bool(clean), protocol=paho.MQTTv311)
        if user or password:
            c.username_pw_set(user or None, password or None)
        c.on_connect = lambda cl, ud, flags, rc: self._connack(rc, done)
        c.on_disconnect = lambda cl, ud, rc: self._closed(rc)
        c.on_message = lambda cl, ud, msg: self.on_message(msg.topic, bytes(msg.payload))
        c.on_publish = lambda cl, ud, mid: self._ack(mid)
        c.on_subscribe = lambda cl, ud, mid, granted: self._ack(mid, granted[0] if granted else 128)
        c.on_unsubscribe = lambda cl, ud, mid: self._ack(mid)
        c.on_log = self._log
        self.client = c
        try:
            self.tls = self._tls_set(c, tls) if tls is not None else None
            c.connect(host, int(port), keepalive=int(keepalive))
        except (OSError, ValueError, ssl.SSLError) as e:
            self.note("mqtt: connect to %s:%s failed: %s" % (host, port, e))
            self.client = None
            self.loop.later_real(0.05, lambda: done(-1))
            return
        self.fd = c.socket().fileno()
        self.loop.readers[self.fd] = self._readable
        self._tick()

    def disconnect(self):
        """A clean DISCONNECT, as AT+MDISCONNECT / QMTDISC / CMQTTDISC send."""
        if self.client and self.connected:
            self.client.disconnect()
            self._write()
        self.close()

    def drop(self):
        """The connection dies under the module (NAT timeout, RST): no DISCONNECT."""
        self.close()

    def close(self):
        """Forget the connection without a word to anyone."""
        c, self.client = self.client, None
        self.connected = False
        self.acks = {}
        if self._tick_timer:
            self._tick_timer.cancel()
            self._tick_timer = None
        if self.fd is not None:
            self.loop.readers.pop(self.fd, None)
            self.fd = None
        if c is not None:
            c.on_disconnect = None
            sock = c.socket()
            if sock is not None:
                try:
                    sock.close()
                except OSError:
                    pass

    @staticmethod
    def _tls_set(c, tls):
        """paho reads certificates from files: the module's uploaded bytes go to a temp dir."""
        tmp = tempfile.mkdtemp(prefix="sim-tls-")

        def path(name):
            if not tls.get(name):
                return None
            p = os.path.join(tmp, name + ".pem")
            with open(p, "wb") as f:
                f.write(tls[name])
            return p
        verify = bool(tls.get("verify"))
        try:
            c.tls_set(ca_certs=path("ca"), certfile=path("cert"), keyfile=path("key"),
                      cert_reqs=ssl.CERT_REQUIRED if verify else ssl.CERT_NONE)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)  # tls_set() has read them into its SSLContext
        if not verify:
            c.tls_insecure_set(True)
        return "verified" if verify else "unverified"

    # ---- traffic ------------------------------------------------------------------------------
    def publish(self, topic, payload, qos, retain, done):
        """done() once sent (QoS 0) or PUBACKed (QoS 1/2)."""
        if not self.connected:
            return False
        info = self.client.publish(topic, payload, int(qos), bool(retain))
        if info.rc != paho.MQTT_ERR_SUCCESS:
            return False
        self.acks[info.mid] = lambda *_: done()
        self._write()
        return True

    def subscribe(self, topic, qos, done):
        if not self.connected:
            return False
        rc, mid = self.client.subscribe(topic, int(qos))
        if rc != paho.MQTT_ERR_SUCCESS:
            return False
        self.acks[mid] = done
        self._write()
        return True

    def unsubscribe(self, topic, done):
        if not self.connected:
            return False
        rc, mid = self.client.unsubscribe(topic)
        if rc != paho.MQTT_ERR_SUCCESS:
            return False
        self.acks[mid] = lambda *_: done()
        self._write()
        return True

    # ---- paho plumbing ------------------------------------------------------------------------
    def _connack(self, rc, done):
        self.connected = rc == 0
        done(rc)

    def _ack(self, mid, *extra):
        cb = self.acks.pop(mid, None)
        if cb:
            cb(*extra)

    def _closed(self, rc):
        was = self.connected
        self.close()
        if was:
            self.on_lost("connection lost (%s)" % paho.error_string(rc))

    def _log(self, client, userdata, level, text):
        if text.startswith("Sending PINGREQ"):
            self.pings += 1
            self.note("mqtt: PINGREQ")

    def _readable(self):
        if self.client:
            self.client.loop_read()
            self._write()

    def _write(self):
        if self.client and self.client.want_write():
            self.client.loop_write()

    def _tick(self):
        self._tick_timer = None
        if not self.client:
            return
        self.client.loop_misc()
        self._write()
        if self.client:
            self._tick_timer = self.loop.later_real(TICK, self._tick)
