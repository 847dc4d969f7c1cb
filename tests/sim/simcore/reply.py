"""Replies and the constants the module and its command set share."""

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
