"""Splits an AT command line into (name, kind, args) the way a module's parser does."""

BASIC_ARG_DIGITS = "0123456789"


class Command:
    """name: "+CSQ", "^NDISDUP", "E", "I", "" (plain AT); kind: exec | read | test | set."""

    def __init__(self, raw, name, kind, args=(), argstr=""):
        self.raw, self.name, self.kind, self.args, self.argstr = raw, name, kind, list(args), argstr

    def arg(self, i, default=None):
        return self.args[i] if i < len(self.args) and self.args[i] != "" else default

    def int_arg(self, i, default=None):
        try:
            return int(self.args[i])
        except (IndexError, ValueError):
            return default

    def __repr__(self):
        return "Command(%r)" % self.raw


def split_args(text):
    """'1,"IP","a,b"' -> ['1', 'IP', 'a,b']; quotes removed, commas inside quotes kept."""
    out, cur, quoted, inq = [], [], False, False
    for ch in text:
        if ch == '"':
            inq, quoted = not inq, True
        elif ch == "," and not inq:
            out.append("".join(cur) if quoted else "".join(cur).strip())
            cur, quoted = [], False
        else:
            cur.append(ch)
    out.append("".join(cur) if quoted else "".join(cur).strip())
    return out


def parse(line):
    """Returns a list of Commands (basic commands may be chained: ATE0V1), or None if not AT."""
    s = line.strip()
    if len(s) < 2 or s[:2].upper() != "AT":
        return None
    body = s[2:]
    if body == "":
        return [Command(s, "", "exec")]
    if body[0] in "+^$#*":
        i = 1
        while i < len(body) and body[i] not in "=?":
            i += 1
        name, rest = body[:i].upper(), body[i:]
        if rest == "":
            return [Command(s, name, "exec")]
        if rest == "?":
            return [Command(s, name, "read")]
        if rest == "=?":
            return [Command(s, name, "test")]
        if rest.startswith("="):
            return [Command(s, name, "set", split_args(rest[1:]), rest[1:])]
        return [Command(s, name, "bad")]
    cmds, i = [], 0
    while i < len(body):
        j = i + (2 if body[i] == "&" else 1)
        name = body[i:j].upper()
        k = j
        while k < len(body) and body[k] in BASIC_ARG_DIGITS:
            k += 1
        arg = body[j:k]
        if body[k:k + 1] == "?":
            cmds.append(Command(s, name, "read"))
            k += 1
        else:
            cmds.append(Command(s, name, "set" if arg else "exec", [arg] if arg else []))
        i = k
    return cmds
