"""The simulated module: V.250 framing, echo, CMEE, SIM, registration, packet domain, power cycles.

Vendor dialects (vendors.py) add their own commands on top of the 3GPP TS 27.007 set here.
Times passed to self.after() are module seconds; the loop divides them by --speed.
"""
import random
import time

from . import atparse

CME_TEXT = {
    3: "operation not allowed", 4: "operation not supported", 10: "SIM not inserted",
    11: "SIM PIN required", 12: "SIM PUK required", 13: "SIM failure", 14: "SIM busy",
    16: "incorrect password", 30: "no network service", 50: "incorrect parameters", 100: "unknown",
    133: "requested service option not subscribed", 148: "unspecified GPRS error",
}
REG_CMDS = ("+CREG", "+CGREG", "+CEREG")
LAC, CI, ACT = "1A2B", "01ABCDEF", 7
OPERATOR = {0: "CHINA MOBILE", 1: "CMCC", 2: "46000"}
PUK = "12345678"


class Reply:
    """Info lines, then a final result: "OK", "ERROR", "NO CARRIER", an int (+CME ERROR), or None
    (no answer at all). `then` runs after the final result has been written."""

    def __init__(self, lines=(), final="OK", delay=0.0, then=None):
        self.lines, self.final, self.delay, self.then = list(lines), final, delay, then


def err(code, delay=0.0):
    return Reply([], code, delay)


class Module:
    def __init__(self, loop, port, vendor, scenario, pin=None, transcript=None, sim_busy=1.0):
        self.loop, self.port, self.vendor, self.sc = loop, port, vendor, scenario
        self.pin = pin or "1234"
        self.transcript = transcript
        self.sim_busy = sim_busy
        self.history = []          # (seconds since start, command line)
        self.reboots = 0
        self.silent = scenario.silence
        self.noise = scenario.noise
        self.plugged = True
        self.network_up = True     # control: deregister/register
        self.fired = set()         # one-shot scenario events; they survive reboots
        self.rng = random.Random(7)
        self.vendor_state = {}     # dialect state; cleared, never replaced, by a power cycle
        self.handlers = self._generic_handlers()
        self.handlers.update(vendor.handlers(self))
        self.timers = []
        self._power_state()
        self.loop.later_real(0.3, self._idle_noise)

    # ---- power ------------------------------------------------------------------------------
    def _power_state(self):
        """Everything a real module forgets when it reboots."""
        for t in self.timers:
            t.cancel()
        self.timers = []
        self.inbuf = bytearray()
        self.queue, self.injected, self.busy = [], [], False
        self.echo, self.cmee, self.cfun = True, 0, 1
        self.sim = self.sc.sim
        self.pin_attempts = 3
        self.sim_ready_at = self.loop.now() + self.sim_busy / self.loop.speed
        self.stat, self.user_detached, self.attached = 0, False, False
        self.reg_n = {n: 0 for n in REG_CMDS}
        self.cops_format = 0
        self.cgerep = (0, 0)
        self.contexts = {1: ["IP", ""]}
        self.auth = {}
        self.active = {}
        self.vcall = False         # the vendor's netdev data call (QNETDEVCTL, NDISDUP, ...)
        self.vendor_state.clear()
        self.reg_timer = None

    def after(self, module_seconds, fn):
        """A timer that dies with the module's power (reboot, unplug)."""
        t = self.loop.later(module_seconds, fn)
        self.timers.append(t)
        if len(self.timers) > 64:
            self.timers = [x for x in self.timers if not x.cancelled and x.when > time.monotonic()]
        return t

    def boot(self):
        """Power-on sequence after the port (re)appears: vendor boot URCs, SIM becomes ready."""
        self._power_state()
        self.note("boot (reboots=%d)" % self.reboots)
        self.after(0.2, lambda: [self.urc(u) for u in self.vendor.boot_urcs(self)])
        self.after(self.sim_busy, self._sim_init_done)
        for hook in self.sc.on_boot:
            hook(self)

    def _sim_init_done(self):
        text = {"ready": "READY", "pin": "SIM PIN", "puk": "SIM PUK", "absent": "NOT INSERTED"}[self.sim]
        self.urc("+CPIN: " + text)
        if self.sim == "ready":
            for u in self.vendor.sim_ready_urcs(self):
                self.urc(u)
        self.start_registration()

    def reboot(self, why):
        """The module resets: port vanishes (daemon sees HUP/EOF), link removed, back after a while."""
        self.reboots += 1
        self.note("reboot: " + why)
        self._power_state()
        self.port.close()
        self.loop.later(self.sc.reboot_secs, self._replug)

    def reset_soon(self, why):
        """After a reset command: the OK must reach the host before the port vanishes (a pty drops
        unread data on hangup, and a real module also takes a moment)."""
        self.after(max(0.2 * self.loop.speed, 0.5), lambda: self.reboot(why))

    def _replug(self):
        if self.plugged and not self.port.is_open:
            self.port.open()
            self.boot()

    def unplug(self):
        self.plugged = False
        self._power_state()
        self.port.close()

    def plug(self):
        if not self.plugged:
            self.plugged = True
            self.port.open()
            self.boot()

    # ---- input ------------------------------------------------------------------------------
    def feed(self, data):
        self.inbuf += data
        while True:
            cut = [i for i in (self.inbuf.find(b"\r"), self.inbuf.find(b"\n")) if i >= 0]
            if not cut:
                break
            i = min(cut)
            line = bytes(self.inbuf[:i])
            del self.inbuf[:i + 1]
            text = line.decode("latin-1").strip()
            if not text:
                continue
            if self.silent:
                self.history.append((round(self.loop.now(), 3), text))
                self.log(">", text + "   (silent)")
                continue
            if self.echo:
                self.port.write(line + b"\r")
            self.queue.append(text)
        if len(self.inbuf) > 4096:
            self.inbuf.clear()
        self._pump()

    def _pump(self):
        while not self.busy and self.queue and self.port.is_open:
            text = self.queue.pop(0)
            self.history.append((round(self.loop.now(), 3), text))
            self.log(">", text)
            reply = self.execute(text)
            if reply is None or reply.final is None:
                continue
            self.busy = True
            if reply.delay > 0:
                self.after(reply.delay, lambda r=reply: self._finish(r))
            else:
                self._finish(reply)

    def execute(self, text):
        cmds = atparse.parse(text)
        if cmds is None:
            return None  # not a command line: real modules ignore it
        lines = []
        for cmd in cmds:
            h = self.handlers.get(cmd.name)
            r = h(cmd) if h else Reply([], "ERROR")
            if r is None or r.final != "OK" or len(cmds) == 1:
                if r is not None and lines:
                    r.lines = lines + r.lines
                return r
            lines += r.lines
        return Reply(lines)

    # ---- output -----------------------------------------------------------------------------
    def _finish(self, reply):
        if not self.port.is_open:
            self.busy = False
            return
        for line in reply.lines:
            self._frame(line)
        injected, self.injected = self.injected, []
        for u in injected:  # the worst place for a parser: between the info lines and the result
            self._frame(u, "URC")
        self._frame(self.final_text(reply.final))
        self.busy = False
        if reply.then:
            reply.then()
        self._pump()

    def final_text(self, final):
        if isinstance(final, int):
            if self.cmee == 1:
                return "+CME ERROR: %d" % final
            if self.cmee == 2:
                return "+CME ERROR: " + CME_TEXT.get(final, "unknown")
            return "ERROR"
        return final

    def _frame(self, text, tag="<"):
        if self.silent:  # a wedged module says nothing at all, not even URCs
            return
        if self.noise and self.rng.random() < 0.5:
            junk = self.garbage()
            self.log("~", junk.hex(" "))
            self.port.write(junk)
        self.log(tag, text)
        self.port.write(b"\r\n" + text.encode("latin-1") + b"\r\n")

    def garbage(self):
        """Junk that can never be read as a response: no CR/LF, no letters, digits, '+', '^' or '>',
        and always at least one NUL or 0xFF so a reader can tell it from text."""
        pool = [b for b in range(256) if not (chr(b).isalnum() or b in b"\r\n+^> ")]
        junk = bytes(self.rng.choice(pool) for _ in range(self.rng.randint(1, 12)))
        return junk + self.rng.choice([b"\x00", b"\xff"])

    def _idle_noise(self):
        if self.noise and self.port.is_open and not self.busy and not self.silent:
            junk = self.garbage()
            self.log("~", junk.hex(" ") + " 0d 0a")
            self.port.write(junk + b"\r\n")
        self.loop.later_real(self.rng.uniform(0.2, 0.8), self._idle_noise)

    def urc(self, text):
        if not self.port.is_open:
            return
        if self.busy:
            self.injected.append(text)
        else:
            self._frame(text, "URC")

    def inject(self, text):
        """Control socket: goes into the next response if one comes soon, else on its own."""
        self.injected.append(text)
        self.loop.later_real(0.3, self._flush_injected)

    def _flush_injected(self):
        if not self.busy and self.injected and self.port.is_open:
            injected, self.injected = self.injected, []
            for u in injected:
                self._frame(u, "URC")

    def cgev(self, text):
        if self.cgerep[0] > 0:
            self.urc("+CGEV: " + text)

    def log(self, tag, text):
        if self.transcript:
            self.transcript.write("%9.3f %-3s %s\n" % (self.loop.now(), tag, text))
            self.transcript.flush()

    def note(self, text):
        self.log("*", text)

    # ---- SIM --------------------------------------------------------------------------------
    def sim_now(self):
        if self.loop.now() < self.sim_ready_at:
            return "busy"
        return self.sim

    def sim_error(self):
        """CME code when the SIM is not usable, else None."""
        return {"busy": 14, "absent": 10, "pin": 11, "puk": 12}.get(self.sim_now())

    # ---- registration -----------------------------------------------------------------------
    def reg_stat(self, name):
        if name != "+CREG" and self.stat in (1, 5) and not self.attached:
            return 0
        return self.stat

    def reg_tail(self, name):
        st = self.reg_stat(name)
        if self.reg_n[name] >= 2 and st in (1, 5):
            return ',"%s","%s",%d' % (LAC, CI, ACT)
        return ""

    def reg_urc(self, name):
        return "%s: %d%s" % (name, self.reg_stat(name), self.reg_tail(name))

    def set_stat(self, stat, attached=None):
        before = {n: self.reg_stat(n) for n in REG_CMDS}
        was_attached = self.attached and self.registered()
        self.stat = stat
        if attached is not None:
            self.attached = attached
        for n in REG_CMDS:
            if self.reg_stat(n) != before[n] and self.reg_n[n] > 0:
                self.urc(self.reg_urc(n))
        if not was_attached and self.attached and self.registered():
            self.vendor.on_attached(self)

    def start_registration(self):
        if self.reg_timer:
            self.reg_timer.cancel()
            self.reg_timer = None
        if self.cfun != 1 or self.sim != "ready" or not self.plugged:
            return
        self.set_stat(2)
        if self.network_up:
            self.reg_timer = self.after(self.sc.reg_delay, self._registered)

    def _registered(self):
        self.reg_timer = None
        if self.sc.reg_denied:
            self.set_stat(3)
        else:
            self.set_stat(1, attached=not self.user_detached)

    def registered(self):
        return self.stat in (1, 5)

    def drop_data(self, who="ME"):
        for cid, up in sorted(self.active.items()):
            if up:
                self.cgev("%s PDN DEACT %d" % (who, cid))
        self.active = {}
        was_up, self.vcall = self.vcall, False
        return was_up

    def radio_off(self, fun):
        self.cfun = fun
        if self.reg_timer:
            self.reg_timer.cancel()
            self.reg_timer = None
        self.drop_data()
        self.set_stat(0, attached=False)

    def data_up(self):
        """Called by whichever command completes the data call; drives one-shot scenario events."""
        for hook in self.sc.on_data_up:
            hook(self)

    def ip(self):
        return "10.64.12.%d" % (34 + self.reboots % 200)

    # ---- network-side events (control socket) -----------------------------------------------
    def network_deact(self):
        cids = [c for c, up in self.active.items() if up] or [1]
        self.note("network drops the data call")
        for cid in cids:
            self.cgev("NW PDN DEACT %d" % cid)
        self.active = {}
        self.vcall = False
        for u in self.vendor.data_lost_urcs(self, cids[0]):
            self.urc(u)

    def deregister(self):
        self.network_up = False
        if self.reg_timer:
            self.reg_timer.cancel()
            self.reg_timer = None
        if self.cfun == 1 and self.sim == "ready":
            self.set_stat(2)

    def register(self):
        self.network_up = True
        if not self.registered():
            self.start_registration()

    # ---- commands ---------------------------------------------------------------------------
    def _generic_handlers(self):
        h = {
            "": lambda c: Reply(), "E": self.c_echo, "V": self.c_ok, "Q": self.c_ok, "X": self.c_ok,
            "&C": self.c_ok, "&D": self.c_ok, "&F": self.c_factory, "Z": self.c_factory, "I": self.c_ati,
            "+CMEE": self.c_cmee, "+CPIN": self.c_cpin, "+CFUN": self.c_cfun,
            "+CGMI": self.c_ident, "+GMI": self.c_ident, "+CGMM": self.c_ident, "+GMM": self.c_ident,
            "+CGMR": self.c_ident, "+GMR": self.c_ident, "+CGSN": self.c_ident, "+GSN": self.c_ident,
            "+CIMI": self.c_cimi, "+COPS": self.c_cops, "+CSQ": self.c_csq, "+CESQ": self.c_cesq,
            "+CGATT": self.c_cgatt, "+CGDCONT": self.c_cgdcont, "+CGAUTH": self.c_cgauth,
            "+CGACT": self.c_cgact, "+CGPADDR": self.c_cgpaddr, "+CGEREP": self.c_cgerep,
            "+CGCONTRDP": self.c_cgcontrdp,
        }
        for n in REG_CMDS:
            h[n] = self.c_reg
        return h

    def c_ok(self, c):
        return Reply()

    def c_echo(self, c):
        v = c.arg(0, "0")
        if v not in ("0", "1"):
            return Reply([], "ERROR")
        self.echo = v == "1"
        return Reply()

    def c_factory(self, c):
        self.echo, self.cmee = True, 0
        return Reply()

    def c_ati(self, c):
        return Reply(self.vendor.ati(self))

    def c_cmee(self, c):
        if c.kind == "read":
            return Reply(["+CMEE: %d" % self.cmee])
        if c.kind == "test":
            return Reply(["+CMEE: (0-2)"])
        v = c.int_arg(0)
        if v not in (0, 1, 2):
            return Reply([], "ERROR")
        self.cmee = v
        return Reply()

    def c_ident(self, c):
        if c.kind == "test":
            return Reply()
        v = self.vendor
        value = {"+CGMI": v.manufacturer, "+GMI": v.manufacturer, "+CGMM": v.model, "+GMM": v.model,
                 "+CGMR": v.revision, "+GMR": v.revision, "+CGSN": v.imei, "+GSN": v.imei}[c.name]
        return Reply([value])

    def c_cimi(self, c):
        e = self.sim_error()
        return err(e) if e else Reply([self.vendor.imsi])

    def c_cpin(self, c):
        state = self.sim_now()
        if c.kind == "test":
            return Reply()
        if c.kind == "read":
            if state in ("busy", "absent"):
                return err(self.sim_error())
            return Reply(["+CPIN: " + {"ready": "READY", "pin": "SIM PIN", "puk": "SIM PUK"}[state]])
        if state in ("busy", "absent"):
            return err(self.sim_error())
        code, new = c.arg(0, ""), c.arg(1)
        if state == "ready":
            return err(3)
        if state == "pin":
            if code == self.pin:
                return Reply(delay=0.2, then=self._pin_ok)
            self.pin_attempts -= 1
            if self.pin_attempts <= 0:
                self.sim = "puk"
            return err(16, 0.2)
        if code == PUK and new:  # state == "puk"
            self.pin = new
            return Reply(delay=0.2, then=self._pin_ok)
        return err(16, 0.2)

    def _pin_ok(self):
        self.sim = "ready"
        self.pin_attempts = 3
        self.after(0.1, lambda: (self.urc("+CPIN: READY"),
                                 [self.urc(u) for u in self.vendor.sim_ready_urcs(self)],
                                 self.start_registration()))

    def c_cfun(self, c):
        if c.kind == "read":
            return Reply(["+CFUN: %d" % self.cfun])
        if c.kind == "test":
            return Reply(["+CFUN: (0,1,4),(0-1)"])
        fun, rst = c.int_arg(0), c.int_arg(1, 0)
        if fun == 1 and rst == 1:
            return Reply(then=lambda: self.reset_soon("AT+CFUN=1,1"))
        if fun in (0, 4):
            return Reply(delay=0.3, then=lambda: self.radio_off(fun))
        if fun == 1:
            def on():
                if self.cfun != 1:
                    self.cfun = 1
                    self.start_registration()
            return Reply(delay=0.3, then=on)
        return err(50)

    def c_reg(self, c):
        n = c.name
        if c.kind == "read":
            return Reply(["%s: %d,%d%s" % (n, self.reg_n[n], self.reg_stat(n), self.reg_tail(n))])
        if c.kind == "test":
            return Reply(["%s: (0-2)" % n])
        v = c.int_arg(0)
        if v is None or not 0 <= v <= (5 if n == "+CEREG" else 2):
            return err(50)
        self.reg_n[n] = v
        return Reply()

    def c_cops(self, c):
        if c.kind == "read":
            if self.registered():
                return Reply(['+COPS: 0,%d,"%s",%d' % (self.cops_format, OPERATOR[self.cops_format], ACT)])
            return Reply(["+COPS: 0"])
        if c.kind == "test":
            return Reply(['+COPS: (2,"CHINA MOBILE","CMCC","46000",7),,(0-4),(0-2)'], delay=3.0)
        mode = c.int_arg(0)
        if mode == 3:
            f = c.int_arg(1)
            if f not in (0, 1, 2):
                return err(50)
            self.cops_format = f
            return Reply()
        if mode in (0, 1, 4):
            return Reply(delay=0.5)
        if mode == 2:
            return Reply(delay=0.3, then=lambda: self.set_stat(0))
        return err(50)

    def c_csq(self, c):
        if c.kind == "test":
            return Reply(["+CSQ: (0-31,99),(0-7,99)"])
        return Reply(["+CSQ: 24,99" if self.cfun == 1 else "+CSQ: 99,99"])

    def c_cesq(self, c):
        if c.kind == "test":
            return Reply(["+CESQ: (0-63,99),(0-7,99),(0-96,255),(0-49,255),(0-34,255),(0-97,255)"])
        return Reply(["+CESQ: 99,99,255,255,20,45" if self.cfun == 1 else "+CESQ: 99,99,255,255,255,255"])

    def c_cgatt(self, c):
        if c.kind == "read":
            return Reply(["+CGATT: %d" % (1 if self.attached else 0)])
        if c.kind == "test":
            return Reply(["+CGATT: (0,1)"])
        v = c.int_arg(0)
        if v == 0:
            self.user_detached = True

            def detach():
                self.drop_data()
                self.cgev("ME DETACH")
                self.set_stat(self.stat, attached=False)
            return Reply(delay=0.3, then=detach)
        if v == 1:
            e = self.sim_error()
            if e:
                return err(e)
            self.user_detached = False
            if not self.registered():
                return err(30, 1.0)
            return Reply(delay=0.3, then=lambda: self.set_stat(self.stat, attached=True))
        return err(50)

    def c_cgdcont(self, c):
        if c.kind == "read":
            return Reply(['+CGDCONT: %d,"%s","%s","0.0.0.0",0,0' % (cid, t, apn)
                          for cid, (t, apn) in sorted(self.contexts.items())])
        if c.kind == "test":
            return Reply(['+CGDCONT: (1-15),"IP",,,(0-2),(0-4)', '+CGDCONT: (1-15),"IPV4V6",,,(0-2),(0-4)'])
        cid = c.int_arg(0)
        if cid is None or not 1 <= cid <= 15:
            return err(50)
        if len(c.args) == 1:
            self.contexts.pop(cid, None)
            return Reply()
        t = (c.arg(1) or "IP").upper()
        if t not in ("IP", "IPV6", "IPV4V6", "PPP"):
            return err(50)
        self.contexts[cid] = [t, c.arg(2, "")]
        return Reply()

    def c_cgauth(self, c):
        if c.kind == "read":
            return Reply(['+CGAUTH: %d,%s' % (cid, a[0]) for cid, a in sorted(self.auth.items())])
        if c.kind == "test":
            return Reply(['+CGAUTH: (1-15),(0-2),,'])
        cid = c.int_arg(0)
        if cid is None or not 1 <= cid <= 15:
            return err(50)
        self.auth[cid] = c.args[1:]
        return Reply()

    def activate(self, cid):
        """Shared by CGACT and the vendor dial commands: error code, or None when the PDN is up."""
        e = self.sim_error()
        if e:
            return e
        if cid not in self.contexts:
            return 50
        if not self.registered():
            return 30
        if self.sc.pdp_fail:
            return 133
        self.attached = True
        return None

    def c_cgact(self, c):
        if c.kind == "read":
            return Reply(["+CGACT: %d,%d" % (cid, 1 if self.active.get(cid) else 0)
                          for cid in sorted(self.contexts)])
        if c.kind == "test":
            return Reply(["+CGACT: (0,1)"])
        state = c.int_arg(0)
        cids = [int(a) for a in c.args[1:] if a.isdigit()] or sorted(self.contexts)
        if state == 1:
            for cid in cids:
                e = self.activate(cid)
                if e:
                    return err(e, 1.0)

            def up():
                for cid in cids:
                    if not self.active.get(cid):
                        self.active[cid] = True
                        self.cgev("ME PDN ACT %d" % cid)
                self.data_up()
            return Reply(delay=0.5, then=up)
        if state == 0:
            def down():
                for cid in cids:
                    if self.active.pop(cid, False):
                        self.cgev("ME PDN DEACT %d" % cid)
            return Reply(delay=0.3, then=down)
        return err(50)

    def c_cgpaddr(self, c):
        if c.kind == "test":
            return Reply(["+CGPADDR: (%s)" % ",".join(str(x) for x in sorted(self.contexts))])
        cids = [int(a) for a in c.args if a.isdigit()] or sorted(self.contexts)
        return Reply(['+CGPADDR: %d,"%s"' % (cid, self.ip() if self.active.get(cid) else "0.0.0.0")
                      for cid in cids])

    def c_cgcontrdp(self, c):
        cids = [int(a) for a in c.args if a.isdigit()] or sorted(self.contexts)
        lines = ['+CGCONTRDP: %d,5,"%s","%s.255.255.255.0","10.64.12.1","211.136.17.107","211.136.20.203"'
                 % (cid, self.contexts.get(cid, ["IP", ""])[1], self.ip())
                 for cid in cids if self.active.get(cid)]
        return Reply(lines)

    def c_cgerep(self, c):
        if c.kind == "read":
            return Reply(["+CGEREP: %d,%d" % self.cgerep])
        if c.kind == "test":
            return Reply(["+CGEREP: (0-2),(0-1)"])
        mode, bfr = c.int_arg(0, 0), c.int_arg(1, 0)
        if mode not in (0, 1, 2) or bfr not in (0, 1):
            return err(50)
        self.cgerep = (mode, bfr)
        return Reply()
