"""The modules' own MQTT command sets, backed by real broker connections (mqtt_link.py):

  luat     AT+MCONFIG / MIPSTART / MCONNECT / MSUB / MUNSUB / MPUB / MPUBEX / MQTTSTATU /
           MDISCONNECT / MIPCLOSE; CONNECT OK, CONNACK OK, SUBACK, PUBACK, CLOSED, +PDP DEACT, +MSUB:
  quectel  AT+QURCCFG, QMTCFG / QMTOPEN / QMTCONN / QMTSUB / QMTUNS / QMTPUBEX / QMTDISC / QMTCLOSE;
           +QMTOPEN/CONN/SUB/UNS/PUBEX/DISC/CLOSE, +QMTSTAT, +QMTRECV (with the length)
  simcom   AT+CATR, CMQTTSTART / STOP / ACCQ / REL / CFG / CONNECT / TOPIC / PAYLOAD / PUB / SUB /
           UNSUB / DISC; the +CMQTTRX* block, +CMQTTCONNLOST, +CMQTTNONET

As the manuals have it: OK first, the outcome later as a URC; length-prefixed input after "> ".
TLS: certificates uploaded into the module's files (Luat FSCREATE/FSWRITE, Quectel QFDEL/QFUPL after
CONNECT, SIMCom CCERTDOWN), SSL contexts (SSLCFG context 88, QSSLCFG + QMTCFG "ssl", CSSLCFG +
CMQTTSSLCFG or ACCQ server type 1); a TLS client's broker connection checks the uploaded CA.
Fault controls (control socket "mqtt ..."): drop [idx] (the broker side goes away: lost-link URC),
silent [idx] (the connection dies and the URC is lost on the UART), pdp [seconds] (the bearer goes:
every connection drops, opens fail meanwhile), state (JSON).
"""
import json

from .mqtt_link import BrokerLink, reachable
from .reply import Reply


class Held(Reply):
    """A reply that comes later: the module stays busy until finish(). With `input_len`, the module
    prints "> " and hands the next input_len bytes to on_input(data), which finishes it."""
    held = True

    def __init__(self, input_len=None, on_input=None, prompt="> "):
        super().__init__([], None)
        self.input_len, self.on_input, self.prompt = input_len, on_input, prompt


def unescape_luat(text):
    for esc, ch in (("\\22", '"'), ("\\0D", "\r"), ("\\0A", "\n"), ("\\5C", "\\")):
        text = text.replace(esc, ch)
    return text


class Client:
    """One of the module's MQTT clients (an index)."""

    def __init__(self, mm, idx):
        self.mm, self.idx = mm, idx
        self.cfg = {}
        self.opened = False        # TCP (MIPSTART / QMTOPEN) or acquired (CMQTTACCQ)
        self.host = self.port = None
        self.topic = self.payload = b""
        self.ssl_ctx = None        # the SSL context the client connects with; None: plain TCP
        self.link = BrokerLink(mm.m.loop, mm.m.note, self._message, self._lost)
        self.published = 0

    @property
    def connected(self):
        return self.link.connected

    def _message(self, topic, payload):
        self.mm.downlink(self, topic, payload)

    def _lost(self, reason):
        self.mm.m.note("mqtt %d: %s" % (self.idx, reason))
        self.opened = self.mm.name == "simcom" and self.opened
        self.mm.lost(self)


class MqttModule:
    def __init__(self, module):
        self.m = module
        self.name = module.vendor.name
        self.clients = {}
        self.started = False       # SIMCom CMQTTSTART
        self.pdp_down_until = 0.0
        self.urcport = "usbat"
        self.files = {}            # the module's file system (kept across reboots, as flash is)
        self.uploads = []          # names, in upload order
        self.ssl = {}              # SSL context -> {option: value}

    def client(self, idx):
        if idx not in self.clients:
            self.clients[idx] = Client(self, idx)
        return self.clients[idx]

    def power_off(self):
        """The module reboots: every connection dies without a word (no DISCONNECT either)."""
        for c in self.clients.values():
            c.link.close()
            c.opened, c.cfg, c.topic, c.payload, c.ssl_ctx = False, {}, b"", b"", None
        self.started = False
        self.ssl = {}

    def pdp_up(self):
        return self.m.loop.now() >= self.pdp_down_until

    def later(self, fn, secs=0.05):
        self.m.after(secs, fn)

    def pings(self):
        return sum(c.link.pings for c in self.clients.values())

    # ---- what the module prints -----------------------------------------------------------------
    def lost(self, c):
        self.m.urc({"luat": "CLOSED", "quectel": "+QMTSTAT: %d,1" % c.idx,
                    "simcom": "+CMQTTCONNLOST: %d,1" % c.idx}[self.name])

    def downlink(self, c, topic, payload):
        t = topic.encode()
        text = lambda b: b.decode("latin-1")
        if self.name == "luat":
            self.m.urc('+MSUB: "%s",%d byte,%s' % (topic, len(payload), text(payload)))
        elif self.name == "quectel":
            self.m.urc('+QMTRECV: %d,0,"%s",%d,"%s"' % (c.idx, topic, len(payload), text(payload)))
        else:
            self.m.urc("+CMQTTRXSTART: %d,%d,%d" % (c.idx, len(t), len(payload)))
            self.m.urc("+CMQTTRXTOPIC: %d,%d\r\n%s" % (c.idx, len(t), text(t)))
            for i in range(0, max(len(payload), 1), 1500):  # long payloads come in chunks
                chunk = payload[i:i + 1500]
                self.m.urc("+CMQTTRXPAYLOAD: %d,%d\r\n%s" % (c.idx, len(chunk), text(chunk)))
            self.m.urc("+CMQTTRXEND: %d" % c.idx)

    # ---- fault controls -------------------------------------------------------------------------
    def control(self, arg):
        cmd, _, rest = arg.partition(" ")
        idx = int(rest) if rest.strip().isdigit() else None
        targets = [c for i, c in sorted(self.clients.items()) if idx is None or i == idx]
        if cmd == "drop":
            for c in targets:
                if c.connected:
                    c.link.drop()
                    c._lost("dropped by control")
        elif cmd == "silent":
            for c in targets:
                c.link.drop()
                c.opened = False
        elif cmd == "pdp":
            self.pdp_down_until = self.m.loop.now() + float(rest or 3) / self.m.loop.speed
            for c in self.clients.values():
                was = c.connected
                c.link.drop()
                c.opened = False
                if was and self.name == "quectel":
                    self.m.urc("+QMTSTAT: %d,1" % c.idx)
            if self.name == "luat":
                self.m.urc("+PDP DEACT")
            elif self.name == "simcom":
                self.started = False
                self.m.urc("+CMQTTNONET")
        elif cmd == "state":
            return json.dumps({"pings": self.pings(), "urcport": self.urcport, "started": self.started,
                               "uploads": self.uploads, "files": sorted(self.files),
                               "tls": {i: c.link.tls for i, c in self.clients.items()},
                               "clients": {i: {"connected": c.connected, "opened": c.opened,
                                               "published": c.published, "pings": c.link.pings}
                                           for i, c in self.clients.items()}}) + "\n"
        else:
            return "error: mqtt drop [idx] | silent [idx] | pdp [seconds] | state\n"
        return "ok\n"

    # ---- shared steps -----------------------------------------------------------------------------
    def open_tcp(self, c, host, port, done):
        """done(ok) after the TCP check, a moment later (the module's stack is not instant)."""
        def check():
            ok = self.pdp_up() and reachable(host, port)
            c.opened, c.host, c.port = ok, host, port
            done(ok)
        self.later(check, 0.1)

    def connect(self, c, client_id, user, password, keepalive, clean, done):
        if not self.pdp_up():
            self.later(lambda: done(-1))
            return
        c.link.connect(c.host, c.port, client_id, user, password, keepalive, clean, done, tls=self.tls_for(c))

    def tls_for(self, c):
        """The TLS settings of the client's SSL context: the uploaded files' bytes and the check."""
        if c.ssl_ctx is None:
            return None
        ctx = self.ssl.get(c.ssl_ctx, {})
        level = ctx.get("seclevel", ctx.get("authmode", "0"))
        files = {k: self.files.get(ctx[k]) for k in ("cacert", "clientcert", "clientkey") if ctx.get(k)}
        return dict(ca=files.get("cacert"), cert=files.get("clientcert"), key=files.get("clientkey"),
                    verify=str(level) != "0")

    def store_file(self, name, data):
        self.files[name] = bytes(data)
        self.uploads.append(name)

    def store_ssl(self, cmd):
        """AT+SSLCFG / QSSLCFG / CSSLCFG="<option>",<ctx>,<value>."""
        if cmd.arg(2) is None:
            return Reply([], "ERROR")
        self.ssl.setdefault(cmd.int_arg(1, 0), {})[cmd.arg(0)] = cmd.arg(2)
        return Reply()

    def publish(self, c, topic, payload, qos, retain, done):
        def sent():
            c.published += 1
            done()
        return c.link.publish(topic, payload, qos, retain, sent)

    # ---- the command sets -------------------------------------------------------------------------
    def store_cfg(self, cmd):
        """AT+QMTCFG / AT+CMQTTCFG="<option>",<idx>,<values...>: kept per client, read at connect."""
        self.client(cmd.int_arg(1, 0)).cfg[cmd.arg(0)] = cmd.args[2:]
        return Reply()

    def handlers(self):
        return {"luat": self._luat, "quectel": self._quectel, "simcom": self._simcom}.get(self.name, dict)()

    def _luat(self):
        m = self.m
        c = self.client(0)

        def mconfig(cmd):
            a = cmd.args + ["", ""]
            c.cfg.update(client_id=a[0], user=a[1], password=a[2])
            return Reply()

        def mipstart(cmd, tls=False):
            if c.opened:
                return Reply(then=lambda: m.urc("ALREADY CONNECT"))
            host, port = cmd.arg(0), cmd.arg(1)
            c.ssl_ctx = 88 if tls else None  # the MQTT client's context
            return Reply(then=lambda: self.open_tcp(c, host, port,
                                                    lambda ok: m.urc("CONNECT OK" if ok else "CONNECT FAIL")))

        def mconnect(cmd):
            if not c.opened or c.connected or "client_id" not in c.cfg:
                return Reply([], "ERROR")
            held = Held()

            def connack(rc):
                if rc == 0:
                    m._finish(Reply(then=lambda: m.urc("CONNACK OK")))
                else:
                    c.opened = False
                    m._finish(Reply([], "ERROR"))
            self.connect(c, c.cfg["client_id"], c.cfg["user"], c.cfg["password"], cmd.int_arg(1, 60),
                         cmd.int_arg(0, 1), connack)
            return held

        def msub(cmd):
            if not c.connected:
                return Reply([], "ERROR")
            topic, qos = cmd.arg(0), cmd.int_arg(1, 0)
            return Reply(then=lambda: c.link.subscribe(topic, qos, lambda *_: m.urc("SUBACK")))

        def munsub(cmd):
            if not c.connected:
                return Reply([], "ERROR")
            topic = cmd.arg(0)
            return Reply(then=lambda: c.link.unsubscribe(topic, lambda: m.urc("UNSUBACK")))

        def after_publish(qos):
            if qos == 1:
                return lambda: m.urc("PUBACK")
            if qos == 2:
                return lambda: (m.urc("PUBREC"), m.urc("PUBCOMP"))
            return lambda: None

        def mpub(cmd):
            if not c.connected:
                return Reply([], "ERROR")
            topic, qos, retain = cmd.arg(0), cmd.int_arg(1, 0), cmd.int_arg(2, 0)
            payload = unescape_luat(cmd.arg(3, "")).encode("latin-1")
            if not self.publish(c, topic, payload, qos, retain, after_publish(qos)):
                return Reply([], "ERROR")
            return Reply()

        def mpubex(cmd):
            if not c.connected:
                return Reply([], "ERROR")
            topic, qos, retain, n = cmd.arg(0), cmd.int_arg(1, 0), cmd.int_arg(2, 0), cmd.int_arg(3)
            if not n or n > 4100:
                return Reply([], "ERROR")

            def got(data):
                ok = self.publish(c, topic, data, qos, retain, after_publish(qos))
                return Reply() if ok else Reply([], "ERROR")
            return Held(n, got)

        def mqttstatu(cmd):
            return Reply(["+MQTTSTATU :%d" % (1 if c.connected else 2 if c.opened else 0)])

        def mdisconnect(cmd):
            if not c.connected:
                return Reply([], "ERROR")
            c.link.disconnect()
            return Reply()

        def mipclose(cmd):
            if not c.opened:
                return Reply([], "ERROR")
            c.link.close()
            c.opened = False
            return Reply(then=lambda: m.urc("CLOSED"))

        def fscreate(cmd):
            self.files.setdefault(cmd.arg(0), b"")
            return Reply()

        def fswrite(cmd):
            name, mode, n = cmd.arg(0), cmd.int_arg(1, 0), cmd.int_arg(2)
            if name not in self.files or not n or n > 10240:
                return Reply([], "ERROR")

            def got(data):
                self.store_file(name, (self.files[name] if mode == 1 else b"") + data)
                return Reply()
            return Held(n, got)

        return {"+FSCREATE": fscreate, "+FSWRITE": fswrite, "+SSLCFG": self.store_ssl,
                "+SSLMIPSTART": lambda cmd: mipstart(cmd, tls=True),
                "+MCONFIG": mconfig, "+MIPSTART": mipstart, "+MCONNECT": mconnect, "+MSUB": msub,
                "+MUNSUB": munsub, "+MPUB": mpub, "+MPUBEX": mpubex, "+MQTTSTATU": mqttstatu,
                "+MDISCONNECT": mdisconnect, "+MIPCLOSE": mipclose,
                "+MQTTMSGSET": lambda cmd: Reply()}

    def _quectel(self):
        m = self.m

        def idx_of(cmd):
            i = cmd.int_arg(0, -1)
            return self.client(i) if 0 <= i <= 5 else None

        def qurccfg(cmd):
            if cmd.kind == "set" and cmd.arg(0) == "urcport":
                if cmd.arg(1) is None:
                    return Reply(['+QURCCFG: "urcport","%s"' % self.urcport])
                self.urcport = cmd.arg(1)
            return Reply()

        def qmtopen(cmd):
            c = idx_of(cmd)
            if c is None:
                return Reply([], "ERROR")
            if c.opened:
                return Reply(then=lambda: m.urc("+QMTOPEN: %d,2" % c.idx))
            host, port = cmd.arg(1), cmd.arg(2)
            ssl = c.cfg.get("ssl") or ["0"]
            c.ssl_ctx = int(ssl[1] if len(ssl) > 1 else 0) if ssl[0] == "1" else None

            def opened(ok):
                code = 0 if ok else (3 if not self.pdp_up() else 5)
                m.urc("+QMTOPEN: %d,%d" % (c.idx, code))
            return Reply(then=lambda: self.open_tcp(c, host, port, opened))

        def qmtconn(cmd):
            if cmd.kind == "read":
                return Reply(["+QMTCONN: %d,%d" % (i, 3 if c.connected else 1)
                              for i, c in sorted(self.clients.items()) if c.opened])
            c = idx_of(cmd)
            if c is None or not c.opened or c.connected:
                return Reply([], "ERROR")
            keepalive = int((c.cfg.get("keepalive") or ["120"])[0])
            clean = int((c.cfg.get("session") or ["1"])[0])
            client_id, user, password = cmd.arg(1, ""), cmd.arg(2, ""), cmd.arg(3, "")

            def connack(rc):
                if rc < 0:
                    c.opened = False
                    m.urc("+QMTSTAT: %d,1" % c.idx)
                else:
                    m.urc("+QMTCONN: %d,0,%d" % (c.idx, rc))
            return Reply(then=lambda: self.connect(c, client_id, user, password, keepalive, clean, connack))

        def qmtsub(cmd):
            c = idx_of(cmd)
            if c is None or not c.connected:
                return Reply([], "ERROR")
            mid, topic, qos = cmd.int_arg(1), cmd.arg(2), cmd.int_arg(3, 0)
            return Reply(then=lambda: c.link.subscribe(
                topic, qos, lambda granted=qos: m.urc("+QMTSUB: %d,%d,0,%d" % (c.idx, mid, granted))))

        def qmtuns(cmd):
            c = idx_of(cmd)
            if c is None or not c.connected:
                return Reply([], "ERROR")
            mid, topic = cmd.int_arg(1), cmd.arg(2)
            return Reply(then=lambda: c.link.unsubscribe(topic, lambda: m.urc("+QMTUNS: %d,%d,0" % (c.idx, mid))))

        def qmtpubex(cmd):
            c = idx_of(cmd)
            if c is None or not c.connected:
                return Reply([], "ERROR")
            mid, qos, retain, topic, n = (cmd.int_arg(1), cmd.int_arg(2, 0), cmd.int_arg(3, 0), cmd.arg(4),
                                          cmd.int_arg(5))
            if n is None or n > 4096:
                return Reply([], "ERROR")

            def got(data):
                ok = self.publish(c, topic, data, qos, retain, lambda: m.urc("+QMTPUBEX: %d,%d,0" % (c.idx, mid)))
                return Reply() if ok else Reply([], "ERROR")
            return Held(n, got)

        def qmtdisc(cmd):
            c = idx_of(cmd)
            if c is None:
                return Reply([], "ERROR")
            was = c.connected
            c.link.disconnect()
            c.opened = False
            return Reply(then=lambda: m.urc("+QMTDISC: %d,%d" % (c.idx, 0 if was else -1)))

        def qmtclose(cmd):
            c = idx_of(cmd)
            if c is None:
                return Reply([], "ERROR")
            was = c.opened
            c.link.close()
            c.opened = False
            return Reply(then=lambda: m.urc("+QMTCLOSE: %d,%d" % (c.idx, 0 if was else -1)))

        def qfdel(cmd):
            if self.files.pop(cmd.arg(0), None) is None:
                return Reply([], 405)  # file not found
            return Reply()

        def qfupl(cmd):
            name, n = cmd.arg(0), cmd.int_arg(1)
            if name in self.files:
                return Reply([], 407)  # file exists
            if not n:
                return Reply([], "ERROR")

            def got(data):
                self.store_file(name, data)
                return Reply(["+QFUPL: %d,%x" % (len(data), sum(data) & 0xFFFF)])
            return Held(n, got, prompt="CONNECT")

        return {"+QFDEL": qfdel, "+QFUPL": qfupl, "+QSSLCFG": self.store_ssl,
                "+QURCCFG": qurccfg, "+QMTCFG": self.store_cfg, "+QMTOPEN": qmtopen, "+QMTCONN": qmtconn,
                "+QMTSUB": qmtsub, "+QMTUNS": qmtuns, "+QMTPUBEX": qmtpubex, "+QMTDISC": qmtdisc,
                "+QMTCLOSE": qmtclose}

    def _simcom(self):
        m = self.m

        def idx_of(cmd):
            i = cmd.int_arg(0, -1)
            return self.client(i) if 0 <= i <= 1 else None

        def start(cmd):
            if self.started:
                return Reply([], "ERROR")
            if not self.pdp_up():
                return Reply(then=lambda: m.urc("+CMQTTSTART: 7"))
            self.started = True
            return Reply(then=lambda: m.urc("+CMQTTSTART: 0"))

        def stop(cmd):
            self.power_off()  # every client released with the service
            return Reply(then=lambda: m.urc("+CMQTTSTOP: 0"))

        def accq(cmd):
            c = idx_of(cmd)
            if c is None or not self.started:
                return Reply([], "ERROR")
            if c.opened:
                return Reply(["+CMQTTACCQ: %d,19" % c.idx], "ERROR")
            c.opened = True
            c.cfg = {"client_id": cmd.arg(1, "")}
            # Server type 1: TLS, in the context of the client's number unless CMQTTSSLCFG names one.
            c.ssl_ctx = c.idx if cmd.int_arg(2, 0) == 1 else None
            return Reply()

        def sslcfg(cmd):
            c = idx_of(cmd)
            if c is None or not c.opened:
                return Reply([], "ERROR")
            c.ssl_ctx = cmd.int_arg(1, c.idx)
            return Reply()

        def certdown(cmd):
            name, n = cmd.arg(0), cmd.int_arg(1)
            if not name or not name.endswith((".pem", ".der")) or not n or n > 10240:
                return Reply([], "ERROR")

            def got(data):
                self.store_file(name, data)
                return Reply()
            return Held(n, got)

        def rel(cmd):
            c = idx_of(cmd)
            if c is None or not c.opened or c.connected:
                return Reply([], "ERROR")
            c.opened = False
            return Reply()

        def connect(cmd):
            c = idx_of(cmd)
            if c is None or not c.opened or c.connected:
                return Reply([], "ERROR")
            addr = cmd.arg(1, "")
            if not addr.startswith("tcp://"):
                return Reply([], "ERROR")
            host, _, port = addr[6:].rpartition(":")
            keepalive, clean = cmd.int_arg(2, 60), cmd.int_arg(3, 0)
            user, password = cmd.arg(4, ""), cmd.arg(5, "")
            c.host, c.port = host, port

            def connack(rc):
                code = 0 if rc == 0 else (3 if rc < 0 else 26 + rc)
                m.urc("+CMQTTCONNECT: %d,%d" % (c.idx, code))

            def go():
                if not reachable(host, port):
                    return connack(-1)
                self.connect(c, c.cfg.get("client_id", ""), user, password, keepalive, clean, connack)
            return Reply(then=go)

        def input_into(field):
            def handler(cmd):
                c = idx_of(cmd)
                n = cmd.int_arg(1)
                if c is None or not n:
                    return Reply([], "ERROR")

                def got(data):
                    setattr(c, field, data)
                    return Reply()
                return Held(n, got)
            return handler

        def pub(cmd):
            c = idx_of(cmd)
            if c is None or not c.connected or not c.topic:
                return Reply([], "ERROR")
            qos, retain = cmd.int_arg(1, 0), cmd.int_arg(3, 0)
            topic, payload = c.topic.decode("latin-1"), c.payload
            c.topic = c.payload = b""  # cleared after each PUB
            if not self.publish(c, topic, payload, qos, retain, lambda: m.urc("+CMQTTPUB: %d,0" % c.idx)):
                return Reply([], "ERROR")
            return Reply()

        def sub(cmd):
            c = idx_of(cmd)
            n, qos = cmd.int_arg(1), cmd.int_arg(2, 0)
            if c is None or not c.connected or not n:
                return Reply([], "ERROR")

            def got(data):
                c.link.subscribe(data.decode("latin-1"), qos, lambda *_: m.urc("+CMQTTSUB: %d,0" % c.idx))
                return Reply()
            return Held(n, got)

        def unsub(cmd):
            c = idx_of(cmd)
            n = cmd.int_arg(1)
            if c is None or not c.connected or not n:
                return Reply([], "ERROR")

            def got(data):
                c.link.unsubscribe(data.decode("latin-1"), lambda: m.urc("+CMQTTUNSUB: %d,0" % c.idx))
                return Reply()
            return Held(n, got)

        def disc(cmd):
            if cmd.kind == "read":
                return Reply(["+CMQTTDISC: %d,%d" % (i, 0 if self.client(i).connected else 1) for i in (0, 1)])
            c = idx_of(cmd)
            if c is None:
                return Reply([], "ERROR")
            was = c.connected
            c.link.disconnect()
            return Reply(then=lambda: m.urc("+CMQTTDISC: %d,%d" % (c.idx, 0 if was else 11)))

        return {"+CCERTDOWN": certdown, "+CSSLCFG": self.store_ssl, "+CMQTTSSLCFG": sslcfg,
                "+CATR": lambda cmd: Reply(), "+CMQTTSTART": start, "+CMQTTSTOP": stop, "+CMQTTACCQ": accq,
                "+CMQTTREL": rel, "+CMQTTCFG": self.store_cfg, "+CMQTTCONNECT": connect,
                "+CMQTTTOPIC": input_into("topic"), "+CMQTTPAYLOAD": input_into("payload"), "+CMQTTPUB": pub,
                "+CMQTTSUB": sub, "+CMQTTUNSUB": unsub, "+CMQTTDISC": disc}
