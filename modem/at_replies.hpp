// Pure parsers for the information lines of 3GPP TS 27.007 replies and URCs. No I/O, no logging;
// every function takes the text after the "+XXX:" prefix unless it says otherwise.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modem/at_types.hpp"
#include "modem/modem_status.hpp"

namespace cellgate::modem {

enum class SimState { ready, pin_required, puk_required, ph_pin_required, not_inserted, busy, other };
// From a +CPIN? result (value after "+CPIN: "), or from a failed one (+CME ERROR 10/13/14/... or text).
SimState parse_cpin(const AtResult& reply);
// From a "+CPIN: ..." URC value (e.g. "READY", "NOT INSERTED", "SIM PIN").
SimState parse_cpin_value(std::string_view value);

struct SignalQuality {
    std::optional<int> rssi_dbm;  // nullopt for 99 (unknown)
    int percent = 0;              // 0..100, 0 when unknown
};
// "+CSQ: <rssi>,<ber>" value, e.g. "21,99" -> -71 dBm, 67 %.
std::optional<SignalQuality> parse_csq(std::string_view value);

struct ExtendedSignal {
    std::optional<int> rssi_dbm;   // from rxlev
    std::optional<double> rsrq_db;
    std::optional<int> rsrp_dbm;
};
// "+CESQ: <rxlev>,<ber>,<rscp>,<ecno>,<rsrq>,<rsrp>" value.
std::optional<ExtendedSignal> parse_cesq(std::string_view value);
// LTE RSRP to a 0..100 quality: -140 dBm or less = 0, -44 dBm or more = 100.
int rsrp_to_percent(int rsrp_dbm);

struct RegInfo {
    std::optional<int> n;         // the read layout's leading <n>; nullopt for the URC layout
    int stat = 0;                 // 3GPP <stat>
    std::string lac;              // LAC/TAC, hex, "" if absent
    std::string ci;               // hex, "" if absent
    std::optional<int> act;       // 3GPP <AcT>; nullopt when absent or unreadable
};
// The value of +CREG/+CGREG/+CEREG/+C5GREG, read reply or URC: the layout is told by the line's
// shape, never by who asked, because read replies also arrive late, unsolicited. nullopt when
// <stat> or the location cannot be read.
std::optional<RegInfo> parse_creg(std::string_view value);
Registration registration_from_stat(int stat);
AccessTech access_tech_from_act(int act);

struct OperatorInfo {
    int mode = 0;
    std::optional<int> format;
    std::string name;            // long/short alphanumeric or numeric per format
    std::optional<int> act;
};
// "+COPS: <mode>[,<format>,<oper>[,<AcT>]]" value.
std::optional<OperatorInfo> parse_cops(std::string_view value);

// "+CGPADDR: <cid>,<addr>[,<addr2>]" lines -> the first address for `cid` (IPv4 preferred).
// Accepts quoted and unquoted addresses; skips "0.0.0.0" and empty.
std::optional<std::string> parse_cgpaddr(const std::vector<std::string>& lines, int cid);

// "+CGCONTRDP: <cid>,<bearer_id>,<apn>,<local_addr and subnet_mask>,<gw_addr>,<DNS_prim_addr>,
// <DNS_sec_addr>,<P-CSCF_prim>,<P-CSCF_sec>,<IM_CN_Signalling_Flag>,<LIPA_indication>,<IPv4_MTU>"
// lines (3GPP TS 27.007) -> the settings of `cid`. Addresses come dotted ("10.1.2.3.255.255.255.0",
// an IPv6 one as 32 dotted bytes) or, after AT+CGPIAF, as "2001:db8::1 ffff:ffff::" or with a
// "/64"; a dual-stack context gives one line per family. nullopt when no line has an address.
std::optional<ContextSettings> parse_cgcontrdp(const std::vector<std::string>& lines, int cid);

enum class PdpEventKind { nw_detach, me_detach, pdn_deact, pdn_act, nw_deact, me_deact, other };
struct PdpEvent {
    PdpEventKind kind = PdpEventKind::other;
    std::optional<int> cid;
};
// "+CGEV: ..." value, e.g. "NW PDN DEACT 1", "ME PDN ACT 1", "NW DETACH", "NW DEACT IP, 10.0.0.1, 1".
PdpEvent parse_cgev(std::string_view value);

// Bare-digit identity lines (AT+CGSN, AT+CIMI): first line of `reply.lines` that is all digits
// (after an optional "+CGSN:" prefix and quotes). nullopt when absent.
std::optional<std::string> parse_digits_line(const AtResult& reply);
// ICCID from a bare line or after any "+NAME:" / "^NAME:" prefix, as parse_iccid() reads it
// (modem/iccid.hpp): hex account digits kept, the SIM's nibble-swapped form decoded, anything not
// starting with 89 refused.
std::optional<std::string> parse_iccid_line(const AtResult& reply);

// Splits a reply value on commas outside double quotes; each field is trimmed and unquoted.
std::vector<std::string> split_fields(std::string_view value);
// A whole-string non-negative decimal integer (leading zeros allowed), nullopt otherwise.
std::optional<int> parse_int(std::string_view s);

// Numeric code for a verbose +CME ERROR text ("SIM not inserted" -> 10), -1 if unknown.
int cme_code_from_text(std::string_view text);

}  // namespace cellgate::modem
