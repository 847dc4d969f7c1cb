// The plain 3GPP TS 27.007 profile, also the base of the vendor profiles.
#include <string>

#include "modem/at_replies.hpp"
#include "modem/vendor_detail.hpp"

namespace cellgate::modem::detail {

AtStep GenericProfile::cgdcont(const ApnSettings& apn, int cid) {
    return {"AT+CGDCONT=" + std::to_string(cid) + ",\"" + pdp_type(apn.ip_type) + "\",\"" +
                clean(apn.name) + "\"",
            kQuick};
}

std::vector<AtStep> GenericProfile::apn_commands(const ApnSettings& apn, int cid) const {
    std::vector<AtStep> steps{cgdcont(apn, cid)};
    // Without auth no CGAUTH at all: some modules lack the command, and "none" needs no credentials.
    if (apn.auth != ApnAuth::none) {
        steps.push_back({"AT+CGAUTH=" + std::to_string(cid) + "," + std::to_string(auth_code(apn.auth)) +
                             ",\"" + clean(apn.user) + "\",\"" + clean(apn.password) + "\"",
                         kQuick});
    }
    return steps;
}

std::vector<AtStep> GenericProfile::data_call_start(int cid) const {
    return {{"AT+CGACT=1," + std::to_string(cid), kCgactUp}};
}

AtStep GenericProfile::data_call_stop(int cid) const {
    return {"AT+CGACT=0," + std::to_string(cid), kDisconnect};
}

AtStep GenericProfile::data_call_query(int) const { return {"AT+CGACT?", kQuick}; }

std::optional<bool> GenericProfile::parse_cgact(const AtResult& reply, int cid) {
    if (!reply.ok()) return std::nullopt;
    for (const auto& line : reply.lines) {
        std::string_view l = trim(line);
        if (!l.starts_with("+CGACT:")) continue;
        l.remove_prefix(7);
        const auto f = split_fields(l);
        if (f.size() < 2) continue;
        if (to_int(f[0]) != cid) continue;
        const auto state = to_int(f[1]);
        if (!state) return std::nullopt;
        return *state == 1;
    }
    // OK without a line for our cid: the context is not even defined, so it is not up.
    return false;
}

std::optional<bool> GenericProfile::parse_data_call_up(const AtResult& reply, int cid) const {
    return parse_cgact(reply, cid);
}

// Short form for cid 1, as in the vendors' examples; otherwise the profile is named explicitly
// (<action>,<instance>,<IP_type 1=v4>,<tech_pref 2=3GPP>,<profile_num>) (SIM7600 AT manual).
std::vector<AtStep> GenericProfile::qcrmcall_start(int cid) {
    if (cid == 1) return {{"AT$QCRMCALL=1,1", kDataCall}};
    return {{"AT$QCRMCALL=1,1,1,2," + std::to_string(cid), kDataCall}};
}

AtStep GenericProfile::qcrmcall_stop() { return {"AT$QCRMCALL=0,1", kDisconnect}; }

AtStep GenericProfile::qcrmcall_query() { return {"AT$QCRMCALL?", kQuick}; }

// "$QCRMCALL: 1,V4" per IP family while the call is up; no line when it is down.
std::optional<bool> GenericProfile::parse_qcrmcall(const AtResult& reply) {
    if (!reply.ok()) return std::nullopt;
    for (const auto& line : reply.lines) {
        std::string_view l = trim(line);
        if (!l.starts_with("$QCRMCALL:")) continue;
        const auto f = split_fields(l.substr(10));
        if (!f.empty() && to_int(f[0]) == 1) return true;
    }
    return false;
}

AtStep GenericProfile::ip_query(int cid) const { return {"AT+CGPADDR=" + std::to_string(cid), kQuick}; }

std::optional<std::string> GenericProfile::parse_ip(const AtResult& reply, int cid) const {
    if (!reply.ok()) return std::nullopt;
    return parse_cgpaddr(reply.lines, cid);
}

// No common ICCID command exists; reading EF_ICCID (file 0x2FE2 = 12258) through CRSM is the
// portable route (ModemManager reads it the same way).
AtStep GenericProfile::iccid_query() const { return {"AT+CRSM=176,12258,0,0,10", kCrsm}; }

std::optional<std::string> GenericProfile::parse_iccid(const AtResult& reply) const {
    if (!reply.ok()) return std::nullopt;
    if (auto v = find_value(reply, "+CRSM:")) {
        const auto f = split_fields(*v);
        if (f.size() < 3) return std::nullopt;
        const auto sw1 = to_int(f[0]);
        // 90 00 normal; 91/92/9F still carry the data (ModemManager accepts the same status words).
        if (!sw1 || (*sw1 != 0x90 && *sw1 != 0x91 && *sw1 != 0x92 && *sw1 != 0x9f)) return std::nullopt;
        return decode_swapped_iccid(f[2]);
    }
    return parse_iccid_line(reply);
}

AtStep GenericProfile::reset_command() const { return {"AT+CFUN=1,1", kCfun}; }

// +CGEV is standard and belongs to the state machine (parse_cgev); profiles only add vendor URCs.
bool GenericProfile::urc_means_data_lost(std::string_view) const { return false; }

std::vector<UsbId> GenericProfile::usb_ids_of(Vendor v) const {
    std::vector<UsbId> out;
    for (const auto& [vendor, id] : usb_table())
        if (vendor == v) out.push_back(id);
    return out;
}

// Every profile lists the modules of its own vendor (the generic one has none).
std::vector<UsbId> GenericProfile::usb_ids() const { return usb_ids_of(id()); }

}  // namespace cellgate::modem::detail
