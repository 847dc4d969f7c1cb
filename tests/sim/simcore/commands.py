"""The 3GPP TS 27.007 / V.250 command set of the simulated module (a mixin of module.Module)."""
from . import cell
from .reply import ACT, OPERATOR, PUK, REG_CMDS, Reply, err


class Commands:
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
        return Reply([cell.cesq(self.cell, self.on_air())])

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
        """3GPP TS 27.007: address and mask dotted together, gateway, DNS; the IPv4 MTU twelfth."""
        ctx = self.context
        prefix = int(ctx.get("prefix", 24))
        bits = (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF
        mask = ".".join(str((bits >> s) & 0xFF) for s in (24, 16, 8, 0))
        dns = (list(ctx.get("dns", ["211.136.17.107", "211.136.20.203"])) + ["", ""])[:2]
        mtu = ',"","",0,0,%d' % ctx["mtu"] if ctx.get("mtu") else ""
        cids = [int(a) for a in c.args if a.isdigit()] or sorted(self.contexts)
        lines = ['+CGCONTRDP: %d,5,"%s","%s.%s","%s","%s","%s"%s'
                 % (cid, self.contexts.get(cid, ["IP", ""])[1], self.ip(), mask, ctx.get("gateway", "10.64.12.1"),
                    dns[0], dns[1], mtu)
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
