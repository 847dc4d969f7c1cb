"""Vendor dialects, each as the vendor's AT command manual has its modules talk.

Each profile adds its commands to the 3GPP set in module.py. The netdev data call is modelled as
m.vcall plus m.active[cid] (the PDN); the network dropping it clears both (Module.network_deact).
"""
from . import cell
from .reply import Reply, err


def swap_nibbles(digits):
    """EF_ICCID as the SIM stores it: BCD with the nibbles of each byte swapped."""
    d = digits + ("F" if len(digits) % 2 else "")
    return "".join(d[i + 1] + d[i] for i in range(0, len(d), 2))


class Generic:
    name = "generic"
    manufacturer, model, revision = "Generic Modem Inc", "GM-LTE1", "GM_LTE1_V1.0.3"
    imei, imsi, iccid = "356938035643809", "460001234567890", "89860012345678901234"
    reset_commands = ()

    def ati(self, m):
        return [self.manufacturer, self.model, "Revision: " + self.revision]

    def boot_urcs(self, m):
        return []

    def sim_ready_urcs(self, m):
        return []

    def data_lost_urcs(self, m, cid):
        return []

    def on_attached(self, m):
        pass

    def handlers(self, m):
        def crsm(c):
            if c.kind != "set":
                return err(50)
            e = m.sim_error()
            if e and e != 11:
                return err(e)
            if c.args[:2] == ["176", "12258"]:
                return Reply(['+CRSM: 144,0,"%s"' % swap_nibbles(self.iccid)], delay=0.1)
            return Reply(["+CRSM: 106,130"])
        return {"+CRSM": crsm}

    # helpers shared by the dialects
    def iccid_reply(self, m, line):
        e = m.sim_error()
        if e and e != 11:  # a PIN-locked SIM still gives its ICCID
            return err(e)
        return Reply([line])

    def reset_handler(self, m, name):
        def reset(c):
            if c.kind not in ("exec", "set"):
                return err(50)
            return Reply(then=lambda: m.reset_soon("AT" + name))
        return reset


class Quectel(Generic):
    """EC200A (ASR): binds the PDN to its ECM netdev with QNETDEVCTL."""
    name = "quectel"
    manufacturer, model, revision = "Quectel", "EC200A", "EC200AEUHAR01A03M16"
    imei, iccid = "867584030123456", "89860025128306012474"

    def boot_urcs(self, m):
        return ["RDY"]

    def sim_ready_urcs(self, m):
        return ["+QUSIM: 1", "+QIND: SMS DONE", "+QIND: PB DONE"]

    def data_lost_urcs(self, m, cid):
        return ["+QNETDEVSTATUS: 0"]

    def handlers(self, m):
        st = m.vendor_state  # reset with the module's power: {"netdev": [op, cid, urc_en]}

        def qccid(c):
            return self.iccid_reply(m, "+QCCID: " + self.iccid)

        def qicsgp(c):
            if c.kind == "read" or c.kind == "test":
                return Reply(['+QICSGP: (1-16),(1-3),"APN","USERNAME","PASSWORD",(0-3)'])
            cid = c.int_arg(0)
            if cid is None or not 1 <= cid <= 16:
                return err(50)
            if len(c.args) == 1:
                apn = m.contexts.get(cid, ["IP", ""])[1]
                return Reply(['+QICSGP: 1,"%s","","",0' % apn])
            ctype = c.int_arg(1, 1)
            if ctype not in (1, 2, 3):
                return err(50)
            m.contexts[cid] = [{1: "IP", 2: "IPV6", 3: "IPV4V6"}[ctype], c.arg(2, "")]
            m.auth[cid] = [c.arg(5, "0"), c.arg(3, ""), c.arg(4, "")]
            return Reply()

        def qnetdevctl(c):
            if c.kind == "test":
                return Reply(["+QNETDEVCTL: (0,1,3),(1-16),(0,1)"])
            if c.kind == "read":
                if "netdev" not in st:
                    return Reply()
                op, cid, urc = st["netdev"]
                up = 1 if m.vcall and m.active.get(cid) else 0
                return Reply(["+QNETDEVCTL: %d,%d,%d,%d" % (op, cid, urc, up)])
            op, cid, urc = c.int_arg(0), c.int_arg(1), c.int_arg(2, 0)
            if op not in (0, 1, 3) or cid is None:
                return err(50)
            if op == 0:
                if not m.vcall:
                    return Reply([], "ERROR")
                st["netdev"] = [0, cid, 0]
                m.vcall = False
                m.active.pop(cid, None)
                return Reply(delay=0.3)
            e = m.activate(cid)
            if e:
                return err(e, 1.0)
            st["netdev"] = [op, cid, urc]

            def link_up():
                if st.get("netdev", [0])[0] == 0:
                    return
                m.vcall = True
                m.active[cid] = True
                m.cgev("ME PDN ACT %d" % cid)
                if urc:
                    m.urc("+QNETDEVSTATUS: 1,%d,4,1" % cid)
                m.data_up()
            m.after(1.0, link_up)  # OK at once, the link comes up later: the daemon must poll
            return Reply()

        def qiact(c):
            if c.kind == "read":
                return Reply(['+QIACT: %d,1,1,"%s"' % (cid, m.ip()) for cid, up in sorted(m.active.items()) if up])
            if c.kind == "test":
                return Reply(["+QIACT: (1-16)"])
            cid = c.int_arg(0)
            e = m.activate(cid)
            if e:
                return err(e, 1.0)

            def up():
                m.active[cid] = True
            return Reply(delay=0.5, then=up)

        def qpowd(c):
            return Reply(then=lambda: (m.urc("POWERED DOWN"), m.reset_soon("AT+QPOWD")))

        def qeng(c):
            if c.kind != "set" or c.arg(0, "").lower() != "servingcell":
                return err(50)
            return Reply(cell.qeng(m.cell, m.on_air()))

        return {"+QCCID": qccid, "+QICSGP": qicsgp, "+QNETDEVCTL": qnetdevctl, "+QIACT": qiact,
                "+QPOWD": qpowd, "+QENG": qeng}


class QuectelEC25(Quectel):
    """EC25 (Qualcomm): no QNETDEVCTL in its firmware (ERROR); ECM mode comes up with CGACT."""
    name = "quectel-ec25"
    model, revision = "EC25", "EC25EFAR06A06M4G"

    def handlers(self, m):
        h = super().handlers(m)
        del h["+QNETDEVCTL"]
        return h


class Simcom(Generic):
    name = "simcom"
    manufacturer, model, revision = "SIMCOM INCORPORATED", "SIMCOM_SIM7600E-H", "SIM7600M22_V2.0"
    imei, iccid = "862636051234567", "89860318760220133897"

    def ati(self, m):
        return ["Manufacturer: " + self.manufacturer, "Model: " + self.model,
                "Revision: " + self.revision, "IMEI: " + self.imei, "+GCAP: +CGSM"]

    def boot_urcs(self, m):
        return ["RDY"]

    def sim_ready_urcs(self, m):
        return ["SMS DONE", "PB DONE"]

    def handlers(self, m):
        def ciccid(c):
            return self.iccid_reply(m, "+ICCID: " + self.iccid)

        def qcrmcall(c):
            if c.kind == "read":
                return Reply(["$QCRMCALL: 1,V4"] if m.vcall else [])
            if c.kind == "test":
                return Reply(["$QCRMCALL: (0-1),(1-2),(1-3),(1-2),(1-16)"])
            action = c.int_arg(0)
            cid = c.int_arg(4, 1)
            if action == 0:
                if not m.vcall:
                    return Reply([], "ERROR")
                m.vcall = False
                m.active.pop(cid, None)
                return Reply(delay=0.3)
            if action != 1:
                return err(50)
            e = m.activate(cid)
            if e:
                return err(e, 1.0)

            def up():
                m.vcall = True
                m.active[cid] = True
                m.cgev("ME PDN ACT %d" % cid)
                m.data_up()
            return Reply(["$QCRMCALL: 1,V4"], delay=1.0, then=up)

        def cpsi(c):
            return Reply([cell.cpsi(m.cell, m.on_air())])

        return {"+CICCID": ciccid, "$QCRMCALL": qcrmcall, "+CPSI": cpsi,
                "+CRESET": self.reset_handler(m, "+CRESET")}


class Luat(Generic):
    """Air780E: RNDIS rides on the default bearer (cid 1), which comes up with the attach."""
    name = "luat"
    manufacturer, model, revision = "AirM2M", "Air780E", "AirM2M_780E_V1149_LTE_AT"
    imei, iccid = "866714061234567", "89860321245570108745"

    def boot_urcs(self, m):
        return ["RDY"]

    def on_attached(self, m):
        if m.sc.pdp_fail or m.active.get(1):
            return
        m.active[1] = True
        m.vcall = True
        m.cgev("ME PDN ACT 1")
        m.data_up()

    def handlers(self, m):
        st = m.vendor_state

        def ccid(c):
            return self.iccid_reply(m, self.iccid)

        def iccid(c):
            return self.iccid_reply(m, "+ICCID: " + self.iccid)

        def cpnetapn(c):
            if c.kind == "read":
                apn = m.contexts.get(1, ["IP", ""])[1]
                return Reply(["MODE:%d" % st.get("apnmode", 0), "APN:" + apn, "USR:", "PWD:", "AUTHMODE:0"])
            mode = c.int_arg(0)
            if mode not in (2, 3) or (mode == 2 and len(c.args) < 5):
                return err(50)
            st["apnmode"] = mode
            m.contexts[1] = ["IP", c.arg(1, "") if mode == 2 else ""]
            m.auth[1] = [c.arg(4, "0"), c.arg(2, ""), c.arg(3, "")]

            def restart_stack():  # the manual: it restarts the protocol stack with the new APN
                if m.cfun != 1 or m.sim != "ready":
                    return
                m.drop_data()
                m.set_stat(2, attached=False)
                m.start_registration()
            return Reply(delay=0.5, then=restart_stack)

        def rndiscall(c):
            if c.kind == "read":
                return Reply(["+RNDISCALL: %d" % st.get("rndis", 1)])
            v = c.int_arg(0)
            if v not in (0, 1):
                return err(50)
            st["rndis"] = v
            if v == 1 and m.registered() and m.attached:
                self.on_attached(m)  # binding the netdev redials the default bearer if it dropped
            return Reply()

        def cced(c):
            if c.kind != "set" or c.args[:2] != ["0", "1"]:
                return err(50)
            return Reply(cell.cced(m.cell, m.on_air()))

        return {"+CCID": ccid, "+ICCID": iccid, "+CPNETAPN": cpnetapn, "+RNDISCALL": rndiscall,
                "+RESET": self.reset_handler(m, "+RESET"), "+CCED": cced}


class Huawei(Generic):
    name = "huawei"
    manufacturer, model, revision = "Huawei Technologies Co., Ltd.", "ME909s-821", "11.617.01.00.00"
    imei, iccid = "860461024123456", "89860113890138204233"

    def ati(self, m):
        return ["Manufacturer: " + self.manufacturer, "Model: " + self.model,
                "Revision: " + self.revision, "IMEI: " + self.imei, "+GCAP: +CGSM,+DS,+ES"]

    def boot_urcs(self, m):
        return ["^SYSSTART"]

    def sim_ready_urcs(self, m):
        return ["^SIMST: 1"]

    def data_lost_urcs(self, m, cid):
        return ['^NDISSTAT: 0,,,"IPV4"']

    def handlers(self, m):
        st = m.vendor_state

        def iccid(c):
            return self.iccid_reply(m, "^ICCID: " + swap_nibbles(self.iccid))

        def ndisdup(c):
            if c.kind != "set":
                return err(50)
            cid, conn = c.int_arg(0), c.int_arg(1)
            if cid is None or conn not in (0, 1):
                return err(50)
            if conn == 0:
                if not m.vcall:
                    return Reply([], "ERROR")
                m.vcall = False
                m.active.pop(cid, None)
                return Reply(then=lambda: m.urc('^NDISSTAT: 0,,,"IPV4"'))
            if len(c.args) >= 3:
                m.contexts[cid] = [m.contexts.get(cid, ["IP", ""])[0], c.arg(2, "")]
            e = m.activate(cid)
            if e and e != 133:  # a rejected PDN shows up later, in ^NDISSTAT
                return err(e)

            def result():
                if m.sc.pdp_fail:
                    st["err"] = 33
                    m.urc('^NDISSTAT: 0,33,,"IPV4"')
                    return
                st.pop("err", None)
                m.vcall = True
                m.active[cid] = True
                m.urc('^NDISSTAT: 1,,,"IPV4"')
                m.data_up()
            m.after(1.0, result)  # OK at once, the link comes up later: the daemon must poll
            return Reply()

        def ndisstatqry(c):
            if c.kind == "test":
                return Reply(['^NDISSTATQRY: (0,1),(0-65535),,("IPV4","IPV6")'])
            e = st.get("err", "")
            return Reply(['^NDISSTATQRY: %d,%s,,"IPV4",0,,,"IPV6"' % (1 if m.vcall else 0, e)])

        def sysinfoex(c):
            sim = 255 if m.sim == "absent" else 1
            if m.registered() and m.cfun == 1:
                return Reply(['^SYSINFOEX: 2,3,0,%d,,6,"LTE",101,"LTE"' % sim])
            return Reply(['^SYSINFOEX: 0,0,0,%d,,0,"",0,""' % sim])

        def dhcp(c):
            if not m.vcall:
                return Reply([], "ERROR")
            a = [int(x) for x in m.ip().split(".")]
            hexip = "%02x%02x%02x%02x" % (a[3], a[2], a[1], a[0])
            return Reply(["^DHCP: %s,00ffffff,010c400a,010c400a,6b1188d3,cb1488d3,150000000,150000000" % hexip])

        def hcsq(c):
            return Reply([cell.hcsq(m.cell, m.on_air())])

        return {"^ICCID": iccid, "^NDISDUP": ndisdup, "^NDISSTATQRY": ndisstatqry,
                "^SYSINFOEX": sysinfoex, "^DHCP": dhcp, "^RESET": self.reset_handler(m, "^RESET"),
                "^HCSQ": hcsq}


PROFILES = {p.name: p for p in (Generic, Quectel, QuectelEC25, Simcom, Luat, Huawei)}
