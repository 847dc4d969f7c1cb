"""Named scenarios: a few knobs on the module plus one-shot events (times in module seconds)."""


class Scenario:
    def __init__(self, name):
        self.name = name
        self.sim = "ready"          # ready | pin | puk | absent
        self.reg_delay = 1.5        # searching -> registered
        self.reg_denied = False
        self.pdp_fail = False
        self.silence = False
        self.noise = False
        self.reboot_secs = 2.0      # how long the port is gone during a reboot
        self.on_boot = []           # hooks(module), after every boot
        self.on_data_up = []        # hooks(module), whenever the data call comes up


def once(key, fn):
    def hook(m):
        if key not in m.fired:
            m.fired.add(key)
            fn(m)
    return hook


def burst_texts(m, n):
    out = []
    for i in range(n):
        k = i % 5
        if k == 0:
            out.append(m.reg_urc("+CREG"))
        elif k == 1:
            out.append(m.reg_urc("+CEREG"))
        elif k == 2:
            out.append("+CGEV: NW MODIFY 1,0,0")
        elif k == 3:
            out.append('+QIND: "csq",%d,99' % (20 + i % 7))
        else:
            out.append('+QIND: "act","LTE"')
    return out


def burst(m, n):
    """n URCs: most written straight away in back-to-back chunks, every fifth one queued to land
    inside a later response (between its info lines and its final result)."""
    texts = burst_texts(m, n)
    direct = [t for i, t in enumerate(texts) if i % 5 != 4]
    inside = [t for i, t in enumerate(texts) if i % 5 == 4]
    m.note("urc burst of %d" % n)
    for i in range(0, len(direct), 10):
        chunk = direct[i:i + 10]
        m.loop.later_real(0.01 * i / 10, lambda c=chunk: [m.urc(t) for t in c])
    for i in range(0, len(inside), 4):
        chunk = inside[i:i + 4]
        m.loop.later_real(0.4 * i / 4, lambda c=chunk: [m.inject(t) for t in c])


def make(name):
    s = Scenario(name)
    if name == "normal":
        pass
    elif name == "no-sim":
        s.sim = "absent"
    elif name == "pin-required":
        s.sim = "pin"
    elif name == "puk-required":
        s.sim = "puk"
    elif name == "reg-denied":
        s.reg_denied = True
    elif name == "slow-reg":
        s.reg_delay = 20.0
    elif name == "pdp-fail":
        s.pdp_fail = True
    elif name == "reboot":
        s.on_data_up.append(once("reboot", lambda m: m.after(3.0, lambda: m.reboot("scenario: spontaneous"))))
    elif name == "silence":
        s.silence = True
    elif name == "noise":
        s.noise = True
    elif name == "urc-burst":
        s.on_boot.append(once("boot-burst", lambda m: m.after(0.3, lambda: burst(m, 100))))
        s.on_data_up.append(once("up-burst", lambda m: m.after(0.5, lambda: burst(m, 100))))
    else:
        raise ValueError("unknown scenario " + name)
    return s


NAMES = ["normal", "no-sim", "pin-required", "puk-required", "reg-denied", "slow-reg", "pdp-fail",
         "reboot", "silence", "noise", "urc-burst"]
