// The vendors' serving-cell reports. Field positions and units per the vendors' AT manuals; the
// shapes the tests feed are real replies quoted in public code and the vendor documentation.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "modem/at_replies.hpp"
#include "modem/serving_cell.hpp"

namespace cellgate::modem {
namespace {

char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

std::string upper_copy(std::string_view s) {
    std::string out;
    for (const char c : s) out.push_back(upper(c));
    return out;
}

// A signed decimal ("-99", "+3", "15"); "-", "" and anything else are unknown.
std::optional<long> to_long(std::string_view s) {
    if (s.empty() || s.size() > 12) return std::nullopt;
    std::string text(s);
    char* end = nullptr;
    const long v = std::strtol(text.c_str(), &end, 10);
    if (end == text.c_str() || *end != '\0' || text == "-" || text == "+") return std::nullopt;
    return v;
}

std::optional<uint32_t> to_u32(std::string_view s) {
    const auto v = to_long(s);
    if (!v || *v < 0 || *v > 0xffffffffL) return std::nullopt;
    return static_cast<uint32_t>(*v);
}

int rounded(double v) { return static_cast<int>(std::lround(v)); }

bool is_hex_text(std::string_view s) {
    if (s.empty() || s.size() > 16) return false;
    for (const char c : s) {
        const char u = upper(c);
        if (!((u >= '0' && u <= '9') || (u >= 'A' && u <= 'F'))) return false;
    }
    return true;
}

// "CBE8", "0x5A1E" -> "CBE8", "5A1E"; "" when it is no hex number.
std::string hex_id(std::string_view s) {
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2);
    return is_hex_text(s) ? upper_copy(s) : std::string();
}

// A decimal id ("175499523") as the hex the other reports use ("A75D503"); "" when unreadable.
std::string hex_of_decimal(std::string_view s) {
    const auto v = to_long(s);
    if (!v || *v < 0) return {};
    char buf[24];
    std::snprintf(buf, sizeof buf, "%lX", static_cast<unsigned long>(*v));
    return buf;
}

std::string field(const std::vector<std::string>& f, std::size_t i) { return i < f.size() ? f[i] : std::string(); }

// 3GPP TS 36.133 reporting ranges, as +CESQ and several vendor reports use them.
std::optional<int> rsrp_from_index(long v) { return v >= 0 && v <= 97 ? std::optional<int>(-141 + static_cast<int>(v)) : std::nullopt; }
std::optional<int> rsrq_from_index(long v) {
    return v >= 0 && v <= 34 ? std::optional<int>(rounded(-20.0 + 0.5 * static_cast<double>(v))) : std::nullopt;
}

std::string lte_band(std::string_view n) { return n.empty() || n == "-" ? std::string() : "B" + std::string(n); }
std::string nr_band(std::string_view n) { return n.empty() || n == "-" ? std::string() : "n" + std::string(n); }

// ---- Quectel -------------------------------------------------------------------------------

// Quectel's LTE <SINR>: the EC2x manual gives it in 1/5 dB steps from 0 (-20 dB) to 250 (+30 dB);
// later firmware prints dB. Above 30 only the first reading is possible, below 0 only the second;
// in between the two overlap, and the value is left unknown rather than guessed.
std::optional<int> quectel_lte_sinr(std::string_view s) {
    const auto v = to_long(s);
    if (!v) return std::nullopt;
    if (*v > 30 && *v <= 250) return rounded(static_cast<double>(*v) / 5.0 - 20.0);
    if (*v < 0 && *v >= -30) return static_cast<int>(*v);
    return std::nullopt;
}

std::optional<int> db_value(std::string_view s, long lo, long hi) {
    const auto v = to_long(s);
    if (!v || *v < lo || *v > hi) return std::nullopt;
    return static_cast<int>(*v);
}

// After the RAT name: "FDD",<MCC>,<MNC>,<cellID>,<PCID>,<earfcn>,<band>,<UL_bw>,<DL_bw>,<TAC>,<RSRP>,
// <RSRQ>,<RSSI>,<SINR>,...
ServingCell qeng_lte(const std::vector<std::string>& f) {
    ServingCell c;
    c.rat = AccessTech::lte;
    c.cell_id = hex_id(field(f, 3));
    c.pci = to_u32(field(f, 4));
    c.arfcn = to_u32(field(f, 5));
    c.band = lte_band(field(f, 6));
    c.tac = hex_id(field(f, 9));
    c.rsrp_dbm = db_value(field(f, 10), -160, -20);
    c.rsrq_db = db_value(field(f, 11), -40, 0);
    c.sinr_db = quectel_lte_sinr(field(f, 13));
    return c;
}

// After "NR5G-SA": <duplex>,<MCC>,<MNC>,<cellID>,<PCID>,<TAC>,<ARFCN>,<band>,<DL_bw>,<RSRP>,<RSRQ>,<SINR>,...
ServingCell qeng_nr_sa(const std::vector<std::string>& f) {
    ServingCell c;
    c.rat = AccessTech::nr5g;
    c.cell_id = hex_id(field(f, 3));
    c.pci = to_u32(field(f, 4));
    c.tac = hex_id(field(f, 5));
    c.arfcn = to_u32(field(f, 6));
    c.band = nr_band(field(f, 7));
    c.rsrp_dbm = db_value(field(f, 9), -160, -20);
    c.rsrq_db = db_value(field(f, 10), -45, 20);
    c.sinr_db = db_value(field(f, 11), -30, 50);
    return c;
}

// After "WCDMA": <MCC>,<MNC>,<LAC>,<cellID>,<uarfcn>,<PSC>,<RAC>,<RSCP>,<ecio>,...
ServingCell qeng_wcdma(const std::vector<std::string>& f) {
    ServingCell c;
    c.rat = AccessTech::umts;
    c.tac = hex_id(field(f, 2));
    c.cell_id = hex_id(field(f, 3));
    c.arfcn = to_u32(field(f, 4));
    return c;
}

// After "GSM": <MCC>,<MNC>,<LAC>,<cellID>,<BSIC>,<arfcn>,<band>,<rxlev>,...
ServingCell qeng_gsm(const std::vector<std::string>& f) {
    ServingCell c;
    c.rat = AccessTech::gsm;
    c.tac = hex_id(field(f, 2));
    c.cell_id = hex_id(field(f, 3));
    c.arfcn = to_u32(field(f, 5));
    return c;
}

}  // namespace

std::optional<ServingCell> parse_qeng_servingcell(const std::vector<std::string>& lines) {
    std::optional<ServingCell> cell;
    std::string nr_leg_band;
    bool said_anything = false;
    for (const auto& line : lines) {
        std::string_view l = line;
        if (!l.starts_with("+QENG:")) continue;
        auto f = split_fields(l.substr(6));
        // "servingcell",<state>[,<RAT>,...] on the first line; EN-DC continues with "LTE",... and
        // "NR5G-NSA",... lines of their own.
        std::size_t rat_at = 0;
        if (!f.empty() && upper_copy(f[0]) == "SERVINGCELL") {
            said_anything = true;
            rat_at = 2;
        }
        if (rat_at >= f.size()) continue;
        const std::string rat = upper_copy(f[rat_at]);
        const std::vector<std::string> rest(f.begin() + static_cast<std::ptrdiff_t>(rat_at) + 1, f.end());
        if (rat == "LTE") cell = qeng_lte(rest);
        else if (rat == "NR5G-SA") cell = qeng_nr_sa(rest);
        else if (rat == "NR5G-NSA") nr_leg_band = nr_band(field(rest, 7));  // <MCC>,<MNC>,<PCID>,<RSRP>,<SINR>,<RSRQ>,<ARFCN>,<band>
        else if (rat == "WCDMA") cell = qeng_wcdma(rest);
        else if (rat == "GSM") cell = qeng_gsm(rest);
    }
    if (cell && !nr_leg_band.empty()) cell->band += (cell->band.empty() ? "" : "+") + nr_leg_band;
    if (cell) return cell;
    // "servingcell","SEARCH" (or "LIMSRV" without a cell): the module says it has none.
    if (said_anything) return ServingCell{};
    return std::nullopt;
}

// ---- SIMCom --------------------------------------------------------------------------------

namespace {

// "EUTRAN-BAND3" -> "B3", "NR5G_BAND78" -> "n78"; other names as the module prints them.
std::string cpsi_band(std::string_view s) {
    const std::string u = upper_copy(s);
    if (u.starts_with("EUTRAN-BAND")) return "B" + u.substr(11);
    if (u.starts_with("NR5G_BAND")) return "n" + u.substr(9);
    return std::string(s);
}

// SIMCom prints LTE RSRP/RSRQ three ways: SIM7600 in tenths (-850 = -85.0 dBm), the A76xx and
// SIM7080 in whole units, some firmware as 3GPP report indices (0..97). RSRP's magnitude tells which,
// and RSRQ is in the same units.
void cpsi_levels(ServingCell& c, std::string_view rsrq_s, std::string_view rsrp_s, std::string_view snr_s) {
    const auto rsrp = to_long(rsrp_s);
    const auto rsrq = to_long(rsrq_s);
    if (rsrp && *rsrp <= -200 && *rsrp >= -1600) {
        c.rsrp_dbm = rounded(static_cast<double>(*rsrp) / 10.0);
        if (rsrq && *rsrq < 0 && *rsrq >= -400) c.rsrq_db = rounded(static_cast<double>(*rsrq) / 10.0);
    } else if (rsrp && *rsrp < 0 && *rsrp > -200) {
        c.rsrp_dbm = static_cast<int>(*rsrp);
        if (rsrq && *rsrq < 0 && *rsrq >= -40) c.rsrq_db = static_cast<int>(*rsrq);
    } else if (rsrp && *rsrp >= 0) {
        c.rsrp_dbm = rsrp_from_index(*rsrp);
        if (rsrq) c.rsrq_db = rsrq_from_index(*rsrq);
    }
    c.sinr_db = db_value(snr_s, -30, 50);
}

// The identity part LTE and NR5G_SA share: <mode>,<op>,<MCC>-<MNC>,<TAC>,<SCellID>,<PCellID>,<band>,<channel>.
ServingCell cpsi_cell(const std::vector<std::string>& f, AccessTech rat) {
    ServingCell c;
    c.rat = rat;
    c.tac = hex_id(field(f, 3));
    c.cell_id = hex_of_decimal(field(f, 4));
    c.pci = to_u32(field(f, 5));
    c.band = cpsi_band(field(f, 6));
    c.arfcn = to_u32(field(f, 7));
    return c;
}

}  // namespace

std::optional<ServingCell> parse_cpsi(std::string_view value) {
    const auto f = split_fields(value);
    if (f.empty() || f[0].empty()) return std::nullopt;
    const std::string mode = upper_copy(f[0]);
    ServingCell c;
    if (mode == "NO SERVICE") return c;
    if (mode.starts_with("LTE")) {
        // LTE,<op>,<MCC>-<MNC>,<TAC>,<SCellID>,<PCellID>,<band>,<earfcn>,<dlbw>,<ulbw>,<RSRQ>,<RSRP>,<RSSI>,<RSSNR>
        c = cpsi_cell(f, AccessTech::lte);
        cpsi_levels(c, field(f, 10), field(f, 11), field(f, 13));
        return c;
    }
    if (mode == "NR5G_SA") {
        // NR5G_SA,<op>,<MCC>-<MNC>,<TAC>,<SCellID>,<PCellID>,<band>,<ARFCN>,<RSRP>,<RSRQ>,<SNR>
        c = cpsi_cell(f, AccessTech::nr5g);
        cpsi_levels(c, field(f, 9), field(f, 8), field(f, 10));
        return c;
    }
    if (mode == "WCDMA") {
        // WCDMA,<op>,<MCC>-<MNC>,<LAC>,<Cell ID>,<band>,<PSC>,<Freq>,...
        c.rat = AccessTech::umts;
        c.tac = hex_id(field(f, 3));
        c.cell_id = hex_of_decimal(field(f, 4));
        c.band = field(f, 5);
        c.arfcn = to_u32(field(f, 7));
        return c;
    }
    if (mode == "GSM") {
        // GSM,<op>,<MCC>-<MNC>,<LAC>,<Cell ID>,<ARFCN> <band>,<RxLev>,...
        c.rat = AccessTech::gsm;
        c.tac = hex_id(field(f, 3));
        c.cell_id = hex_of_decimal(field(f, 4));
        const std::string arfcn_band = field(f, 5);
        const auto space = arfcn_band.find(' ');
        c.arfcn = to_u32(arfcn_band.substr(0, space));
        if (space != std::string::npos) c.band = arfcn_band.substr(space + 1);
        return c;
    }
    return std::nullopt;
}

// ---- Huawei --------------------------------------------------------------------------------

// ^HCSQ: "<sysmode>",<value1>[,<value2>[,<value3>[,<value4>]]]; for LTE rssi, rsrp, sinr, rsrq as
// report indices (ME909s manual): RSRP -141 + n dBm (0..97), SINR -20.2 + n/5 dB (0..251), RSRQ
// -20 + n/2 dB (0..34); 255 is unknown.
std::optional<ServingCell> parse_hcsq(std::string_view value) {
    const auto f = split_fields(value);
    if (f.empty() || f[0].empty()) return std::nullopt;
    const std::string mode = upper_copy(f[0]);
    ServingCell c;
    if (mode == "NOSERVICE") return c;
    if (mode == "GSM") c.rat = AccessTech::gsm;
    else if (mode == "WCDMA" || mode == "TD-SCDMA") c.rat = AccessTech::umts;
    else if (mode == "LTE") c.rat = AccessTech::lte;
    else return std::nullopt;
    if (c.rat == AccessTech::lte) {
        if (const auto v = to_long(field(f, 2))) c.rsrp_dbm = rsrp_from_index(*v);
        if (const auto v = to_long(field(f, 3)); v && *v >= 0 && *v <= 251)
            c.sinr_db = rounded(-20.2 + static_cast<double>(*v) / 5.0);
        if (const auto v = to_long(field(f, 4))) c.rsrq_db = rsrq_from_index(*v);
    }
    return c;
}

// ---- Luat ----------------------------------------------------------------------------------

// +CCED:LTE current cell:<MCC>,<MNC>,<imsi>,<roamingFlag>,<band>,<bandwidth>,<dlEarfcn>,<cellid>,
// <rsrp>,<rsrq>,<tac>,<SrxLev>,<pcid> -- cell id and TAC in decimal, RSRP/RSRQ as report indices
// (Luat AT manual, CCED).
// +CCED:GSM current cell info:<MCC>,<MNC>,<lac>,<cellid>,<bsic>,<rxlev>,<RxLevSub>,<Arfcn> -- hex ids.
std::optional<ServingCell> parse_cced(const std::vector<std::string>& lines) {
    for (const auto& line : lines) {
        const std::string u = upper_copy(line);
        if (!u.starts_with("+CCED:")) continue;
        const auto colon = line.find(':', 6);
        if (colon == std::string::npos) continue;
        const auto f = split_fields(std::string_view(line).substr(colon + 1));
        ServingCell c;
        if (u.find("LTE CURRENT CELL") != std::string::npos) {
            c.rat = AccessTech::lte;
            c.band = lte_band(field(f, 4));
            c.arfcn = to_u32(field(f, 6));
            c.cell_id = hex_of_decimal(field(f, 7));
            if (const auto v = to_long(field(f, 8))) c.rsrp_dbm = *v < 0 ? std::optional<int>(static_cast<int>(*v)) : rsrp_from_index(*v);
            if (const auto v = to_long(field(f, 9))) c.rsrq_db = *v < 0 ? std::optional<int>(static_cast<int>(*v)) : rsrq_from_index(*v);
            c.tac = hex_of_decimal(field(f, 10));
            c.pci = to_u32(field(f, 12));
            return c;
        }
        if (u.find("GSM CURRENT CELL") != std::string::npos) {
            c.rat = AccessTech::gsm;
            c.tac = hex_id(field(f, 2));
            c.cell_id = hex_id(field(f, 3));
            c.arfcn = to_u32(field(f, 7));
            return c;
        }
    }
    return std::nullopt;
}

}  // namespace cellgate::modem
