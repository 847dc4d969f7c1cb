"""The simulated module: V.250 framing, echo, CMEE, SIM, registration, packet domain, power cycles.

The 3GPP TS 27.007 command set is in commands.py; vendor dialects (vendors.py) add theirs on top.
Times passed to self.after() are module seconds; the loop divides them by --speed.
"""
import random
import time

from . import atparse, cell
from .commands import Commands
from .mqtt_module import MqttModule
from .reply import ACT, CI, CME_TEXT, LAC, REG_CMDS, Reply


class Module(Commands):
    def __init__(self, loop, port, vendor, scenario, pin=None, transcript=None, sim_busy=1.0, context=None):
        self.loop, self.port, self.vendor, self.sc = loop, port, vendor, scenario
        self.pin = pin or "1234"
        self.transcript = transcript
        self.sim_busy = sim_busy
        # The PDN's settings (CGPADDR, CGCONTRDP): {"ip", "prefix", "gateway", "dns": [..], "mtu"};
        # a test gives the ones of the network namespace it builds.
        self.context = context or {}
        self.history = []          # (seconds since start, command line)
        self.reboots = 0
        self.silent = scenario.silence
        self.noise = scenario.noise
        self.plugged = True
        self.network_up = True     # control: deregister/register
        self.fired = set()         # one-shot scenario events; they survive reboots
        self.rng = random.Random(7)        # noise inside responses: same junk in the same place every run
        self.idle_rng = random.Random(11)  # noise between responses depends on timing, so keep it apart
        self.vendor_state = {}     # dialect state; cleared, never replaced, by a power cycle
        self.cell = dict(cell.DEFAULT)  # the network's serving cell; control: cell k=v ...
        self.handlers = self._generic_handlers()
        self.handlers.update(vendor.handlers(self))
        self.mqtt = MqttModule(self)  # the module's own MQTT client, where the vendor has one
        self.handlers.update(self.mqtt.handlers())
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
        self.input_wanted, self.input_buf = None, bytearray()  # bytes owed after a "> " prompt
        if getattr(self, "mqtt", None):
            self.mqtt.power_off()
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
        if self.input_wanted is not None:
            data = self._take_input(data)
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

    def _take_input(self, data):
        """The bytes after a "> " prompt (or an upload's CONNECT) belong to the command that asked for them, CR LF and all."""
        r = self.input_wanted
        need = r.input_len - len(self.input_buf)
        self.input_buf += data[:need]
        if len(self.input_buf) < r.input_len:
            return b""
        payload = bytes(self.input_buf)
        self.input_wanted, self.input_buf = None, bytearray()
        self.log(">", "(%d bytes of input)" % len(payload))
        self._finish(r.on_input(payload))
        return data[need:]

    def _pump(self):
        while not self.busy and self.queue and self.port.is_open:
            text = self.queue.pop(0)
            self.history.append((round(self.loop.now(), 3), text))
            self.log(">", text)
            reply = self.execute(text)
            if getattr(reply, "held", False):  # answers later (simcore/mqtt_module.py)
                self.busy = True
                if reply.input_len:
                    self.input_wanted = reply
                    prompt = getattr(reply, "prompt", "> ")
                    self.log("<", prompt)
                    self.port.write(b"\r\n" + prompt.encode() + (b"\r\n" if prompt == "CONNECT" else b""))
                continue
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

    def garbage(self, rng=None):
        """Junk that can never be read as a response: no CR/LF, no letters, digits, '+', '^' or '>',
        and always at least one NUL or 0xFF so a reader can tell it from text."""
        rng = rng or self.rng
        pool = [b for b in range(256) if not (chr(b).isalnum() or b in b"\r\n+^> ")]
        junk = bytes(rng.choice(pool) for _ in range(rng.randint(1, 12)))
        return junk + rng.choice([b"\x00", b"\xff"])

    def _idle_noise(self):
        if self.noise and self.port.is_open and not self.busy and not self.silent:
            junk = self.garbage(self.idle_rng)
            self.log("~", junk.hex(" ") + " 0d 0a")
            self.port.write(junk + b"\r\n")
        self.loop.later_real(self.idle_rng.uniform(0.2, 0.8), self._idle_noise)

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

    def on_air(self):
        """Camped on the serving cell: the radio is on and the module is registered."""
        return self.cfun == 1 and self.registered()

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
        if self.context.get("ip"):
            return self.context["ip"]
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
