"""The serving cell the simulated network offers, and how each dialect reports it (the layouts of
the vendors' AT manuals: +CESQ, Quectel +QENG, SIMCom +CPSI, Huawei ^HCSQ, Luat +CCED)."""

DEFAULT = dict(tac=0x1A2B, ci=0x1ABCDEF, pci=318, earfcn=1650, band=3, rsrp=-95, rsrq=-11, sinr=12)


def update(cell, text):
    """'pci=301 rsrp=-101 ci=0x1ABCDF0' -> changes `cell`; returns an error text or None."""
    changes = {}
    for item in text.split():
        key, _, value = item.partition("=")
        if key not in DEFAULT:
            return "unknown cell field " + key
        try:
            changes[key] = int(value, 0)
        except ValueError:
            return "not a number: " + item
    cell.update(changes)
    return None


def rsrp_index(c):
    return max(0, min(97, c["rsrp"] + 141))


def rsrq_index(c):
    return max(0, min(34, (c["rsrq"] + 20) * 2))


def cesq(c, on_air):
    if not on_air:
        return "+CESQ: 99,99,255,255,255,255"
    return "+CESQ: 99,99,255,255,%d,%d" % (rsrq_index(c), rsrp_index(c))


def qeng(c, on_air):
    if not on_air:
        return ['+QENG: "servingcell","SEARCH"']
    # SINR on the EC2x manual's scale: 1/5 dB from -20 dB.
    return ['+QENG: "servingcell","NOCONN","LTE","FDD",460,00,%X,%d,%d,%d,5,5,%X,%d,%d,-65,%d,15,-,-'
            % (c["ci"], c["pci"], c["earfcn"], c["band"], c["tac"], c["rsrp"], c["rsrq"], (c["sinr"] + 20) * 5)]


def cpsi(c, on_air):
    if not on_air:
        return "+CPSI: NO SERVICE,Online"
    # SIM7600: RSRQ, RSRP and RSSI in tenths.
    return ("+CPSI: LTE,Online,460-00,0x%04X,%d,%d,EUTRAN-BAND%d,%d,5,5,%d,%d,-650,%d"
            % (c["tac"], c["ci"], c["pci"], c["band"], c["earfcn"], c["rsrq"] * 10, c["rsrp"] * 10, c["sinr"]))


def hcsq(c, on_air):
    if not on_air:
        return '^HCSQ: "NOSERVICE"'
    sinr = int(round((c["sinr"] + 20.2) * 5))
    return '^HCSQ: "LTE",56,%d,%d,%d' % (rsrp_index(c), sinr, rsrq_index(c))


def cced(c, on_air):
    if not on_air:
        return []
    return ["+CCED:LTE current cell:460,00,460001234567890,0,%d,n100,%d,%d,%d,%d,%d,34,%d"
            % (c["band"], c["earfcn"], c["ci"], rsrp_index(c), rsrq_index(c), c["tac"], c["pci"])]
