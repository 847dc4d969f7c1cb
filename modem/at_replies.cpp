#include "modem/at_replies.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>

#include "modem/iccid.hpp"

namespace cellgate::modem {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

std::string to_upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = upper(c);
    return out;
}

bool all_of(std::string_view s, bool (*pred)(char)) { return std::all_of(s.begin(), s.end(), pred); }

struct Field {
    std::string text;
    bool quoted = false;
};

std::vector<Field> split_raw(std::string_view value) {
    std::vector<Field> out;
    bool in_quote = false;
    std::size_t start = 0;
    auto finish = [&](std::size_t end) {
        auto f = trim(value.substr(start, end - start));
        Field field;
        if (!f.empty() && f.front() == '"') {
            field.quoted = true;
            f.remove_prefix(1);
            if (!f.empty() && f.back() == '"') f.remove_suffix(1);
        }
        field.text = std::string(f);
        out.push_back(std::move(field));
    };
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (value[i] == '"') in_quote = !in_quote;
        if (value[i] == ',' && !in_quote) {
            finish(i);
            start = i + 1;
        }
    }
    finish(value.size());
    return out;
}

// "+CGSN: 123" / "^ICCID: 89..." -> the part after the colon; other lines unchanged.
std::string_view strip_tag(std::string_view line) {
    line = trim(line);
    if (!line.empty() && (line.front() == '+' || line.front() == '^')) {
        const auto colon = line.find(':');
        if (colon != std::string_view::npos) line = trim(line.substr(colon + 1));
    }
    return line;
}

std::string_view unquote(std::string_view s) {
    s = trim(s);
    if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = trim(s.substr(1, s.size() - 2));
    return s;
}

std::optional<int> optional_int(const std::vector<Field>& f, std::size_t i, bool& malformed) {
    if (i >= f.size() || f[i].text.empty()) return std::nullopt;
    auto v = parse_int(f[i].text);
    if (!v) malformed = true;
    return v;
}

bool is_ipv4(std::string_view s) {
    int parts = 0;
    while (true) {
        const auto dot = s.find('.');
        const auto part = s.substr(0, dot);
        const auto v = parse_int(part);
        if (!v || *v > 255 || part.size() > 3) return false;
        ++parts;
        if (dot == std::string_view::npos) break;
        s.remove_prefix(dot + 1);
    }
    return parts == 4;
}

bool is_unspecified_address(std::string_view s) {
    return s.empty() || std::all_of(s.begin(), s.end(), [](char c) { return c == '0' || c == '.' || c == ':'; });
}

// "  0 5" -> "05": some modules pad inside location fields.
std::string without_spaces(std::string_view s) {
    std::string out;
    for (const char c : s)
        if (!is_space(c)) out.push_back(c);
    return out;
}

// A registration line's second field is either <stat> (read layout: "<n>,<stat>,...") or a LAC/TAC
// (URC layout: "<stat>,<lac>,..."). A <stat> is a decimal below 100, never quoted, possibly with
// leading zeros ("001"); a location is quoted, has hex letters, is empty, or has 4 digits.
bool looks_like_location(const Field& f) {
    if (f.quoted) return true;
    const auto t = without_spaces(f.text);
    if (t.empty() || t.size() >= 4 || !all_of(t, is_digit)) return true;
    return t.find_first_not_of('0') != std::string::npos && t.size() - t.find_first_not_of('0') > 2;
}

std::string collapse_spaces(std::string_view s) {
    std::string out;
    for (const char c : trim(s)) {
        if (is_space(c) && !out.empty() && out.back() == ' ') continue;
        out.push_back(is_space(c) ? ' ' : upper(c));
    }
    return out;
}

}  // namespace

std::vector<std::string> split_fields(std::string_view value) {
    std::vector<std::string> out;
    for (auto& f : split_raw(value)) out.push_back(std::move(f.text));
    return out;
}

std::optional<int> parse_int(std::string_view s) {
    s = trim(s);
    if (s.empty() || !all_of(s, is_digit)) return std::nullopt;
    int v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

SimState parse_cpin_value(std::string_view value) {
    const auto v = to_upper(unquote(value));
    if (v == "READY") return SimState::ready;
    if (v == "SIM PIN") return SimState::pin_required;
    if (v == "SIM PUK") return SimState::puk_required;
    // PIN2/PUK2 only guard FDN and similar; the SIM itself is unlocked and data works.
    if (v == "SIM PIN2" || v == "SIM PUK2") return SimState::ready;
    if (v.starts_with("PH-") || v.starts_with("PH_")) return SimState::ph_pin_required;
    if (v == "NOT INSERTED" || v == "SIM NOT INSERTED" || v == "SIM REMOVED" || v == "REMOVED" || v == "NO SIM")
        return SimState::not_inserted;
    if (v == "NOT READY" || v == "BUSY" || v == "SIM BUSY") return SimState::busy;
    return SimState::other;
}

SimState parse_cpin(const AtResult& reply) {
    if (reply.ok()) {
        const auto v = reply.value("+CPIN:");
        return v.empty() ? SimState::other : parse_cpin_value(v);
    }
    if (reply.status != AtStatus::cme_error) return SimState::other;
    const int code = reply.error_code >= 0 ? reply.error_code : cme_code_from_text(reply.error_text);
    switch (code) {
        case 5: return SimState::ph_pin_required;
        case 10: return SimState::not_inserted;
        case 11: return SimState::pin_required;
        case 12: return SimState::puk_required;
        // Quectel and SIMCom report an empty slot as "SIM failure" on some firmware.
        case 13: return SimState::not_inserted;
        case 14: return SimState::busy;
        default: return SimState::other;
    }
}

std::optional<SignalQuality> parse_csq(std::string_view value) {
    const auto f = split_raw(value);
    if (f.empty() || f.size() > 2) return std::nullopt;
    const auto rssi = parse_int(f[0].text);
    if (!rssi) return std::nullopt;
    SignalQuality q;
    int r = *rssi;
    if (r == 99 || r == 199) return q;
    if (r >= 100 && r <= 191) {
        // TD-SCDMA range (Quectel): 100 = -116 dBm .. 191 = -25 dBm.
        q.rssi_dbm = r - 216;
        q.percent = std::clamp((*q.rssi_dbm + 113) / 2, 0, 31) * 100 / 31;
        return q;
    }
    if (r > 191) return std::nullopt;
    r = std::clamp(r, 0, 31);
    q.rssi_dbm = -113 + 2 * r;
    q.percent = r * 100 / 31;
    return q;
}

std::optional<ExtendedSignal> parse_cesq(std::string_view value) {
    const auto f = split_raw(value);
    if (f.size() < 6) return std::nullopt;
    std::array<int, 6> v{};
    for (std::size_t i = 0; i < v.size(); ++i) {
        const auto n = parse_int(f[i].text);
        if (!n) return std::nullopt;
        v[i] = *n;
    }
    ExtendedSignal s;
    if (v[0] <= 63) s.rssi_dbm = -111 + v[0];
    if (v[4] <= 34) s.rsrq_db = -20.0 + 0.5 * v[4];
    if (v[5] <= 97) s.rsrp_dbm = -141 + v[5];
    return s;
}

int rsrp_to_percent(int rsrp_dbm) { return std::clamp((rsrp_dbm + 140) * 100 / 96, 0, 100); }

std::optional<RegInfo> parse_creg(std::string_view value) {
    const auto f = split_raw(value);
    if (f.empty() || f.size() > 12) return std::nullopt;
    // Field counts fix the layout when they can: 1 = <stat> (URC), 2 = <n>,<stat> (read), 3 =
    // <stat>,<lac>,<ci> (URC; a read reply has no 3-field form). From 4 fields on, the second field
    // decides: a location there means the URC layout, a <stat> the read layout. Quotes mark the
    // location best ("002,0011,\"0f0d\",..." is a read reply despite its 4-digit <stat>).
    std::size_t off = 0;
    if (f.size() == 2) off = 1;
    else if (f.size() >= 4)
        off = !looks_like_location(f[1]) || (f[2].quoted && !f[1].quoted && all_of(f[1].text, is_digit)) ? 1 : 0;

    const auto stat = parse_int(f[off].text);
    if (!stat) return std::nullopt;
    RegInfo r;
    if (off == 1) {
        r.n = parse_int(f[0].text);
        if (!r.n) return std::nullopt;
    }
    r.stat = *stat;
    // After <stat>: <lac>,<ci>,<AcT>,... -- except that some LTE modules put a 1-2 digit RAC between
    // TAC and cell id ("1F00, 20 ,79D903 ,7"); that is the only 4-field tail whose second field is
    // that short while the third is a full cell id.
    std::vector<Field> rest(f.begin() + static_cast<std::ptrdiff_t>(off) + 1, f.end());
    for (auto& x : rest) x.text = without_spaces(x.text);
    if (rest.size() == 4 && !rest[1].quoted && !rest[1].text.empty() && rest[1].text.size() <= 2 &&
        rest[2].text.size() > 2)
        rest.erase(rest.begin() + 1);
    if (!rest.empty()) r.lac = to_upper(rest[0].text);
    if (rest.size() > 1) r.ci = to_upper(rest[1].text);
    if (!all_of(r.lac, is_hex) || !all_of(r.ci, is_hex)) return std::nullopt;
    // An unreadable AcT (Samsung's " B") leaves the technology unknown; <stat> still stands.
    if (rest.size() > 2) r.act = parse_int(rest[2].text);
    return r;
}

Registration registration_from_stat(int stat) {
    switch (stat) {
        case 0: return Registration::idle;
        case 1:
        case 6:   // SMS only, home
        case 9:   // CSFB not preferred, home
            return Registration::home;
        case 2:
        case 8:   // emergency bearer only: no data, keep waiting for a real registration
        case 11:  // RLOS only: likewise
            return Registration::searching;
        case 3: return Registration::denied;
        case 5:
        case 7:
        case 10:
            return Registration::roaming;
        default: return Registration::unknown;
    }
}

AccessTech access_tech_from_act(int act) {
    switch (act) {
        case 0: case 1: case 3: case 8: return AccessTech::gsm;
        case 2: case 4: case 5: case 6: return AccessTech::umts;
        case 7: case 9: case 10: return AccessTech::lte;
        case 11: case 12: case 13: return AccessTech::nr5g;
        default: return AccessTech::none;
    }
}

std::optional<OperatorInfo> parse_cops(std::string_view value) {
    const auto f = split_raw(value);
    OperatorInfo op;
    const auto mode = parse_int(f[0].text);
    if (!mode) return std::nullopt;
    op.mode = *mode;
    bool malformed = false;
    op.format = optional_int(f, 1, malformed);
    if (f.size() > 2) op.name = f[2].text;
    op.act = optional_int(f, 3, malformed);
    if (malformed) return std::nullopt;
    return op;
}

std::optional<std::string> parse_cgpaddr(const std::vector<std::string>& lines, int cid) {
    std::optional<std::string> other;
    for (const auto& line : lines) {
        std::string_view v = trim(line);
        if (v.starts_with("+CGPADDR:")) v.remove_prefix(9);
        const auto f = split_raw(v);
        if (f.size() < 2 || parse_int(f[0].text) != cid) continue;
        for (std::size_t i = 1; i < f.size(); ++i) {
            const auto& a = f[i].text;
            if (is_unspecified_address(a)) continue;
            if (is_ipv4(a)) return a;
            if (!other) other = a;
        }
    }
    return other;
}

namespace {

struct AddressMask {
    bool v6 = false;
    std::string address;
    std::optional<int> prefix;
};

// "10.1.2.3" or "10.1.2.3.255.255.255.0": decimal bytes separated by dots.
std::optional<std::vector<uint8_t>> dotted_bytes(std::string_view s) {
    std::vector<uint8_t> out;
    while (true) {
        const auto dot = s.find('.');
        const auto part = s.substr(0, dot);
        const auto v = parse_int(part);
        if (!v || *v > 255 || part.size() > 3) return std::nullopt;
        out.push_back(static_cast<uint8_t>(*v));
        if (dot == std::string_view::npos) return out;
        s.remove_prefix(dot + 1);
    }
}

// Leading one bits of a contiguous mask; nullopt for a mask with holes.
std::optional<int> prefix_of(const uint8_t* mask, std::size_t n) {
    int bits = 0;
    bool zero_seen = false;
    for (std::size_t i = 0; i < n; ++i)
        for (int b = 7; b >= 0; --b) {
            const bool one = (mask[i] >> b) & 1;
            if (one && zero_seen) return std::nullopt;
            if (one) ++bits;
            else zero_seen = true;
        }
    return bits;
}

std::string address_text(bool v6, const uint8_t* bytes) {
    char buf[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(v6 ? AF_INET6 : AF_INET, bytes, buf, sizeof buf);
    return buf;
}

std::optional<AddressMask> parse_address_mask(std::string_view text) {
    text = trim(text);
    std::string_view addr = text, mask;
    std::optional<int> prefix;
    if (const auto slash = text.find('/'); slash != std::string_view::npos) {
        addr = text.substr(0, slash);
        prefix = parse_int(text.substr(slash + 1));
        if (!prefix) return std::nullopt;
    } else if (const auto space = text.find(' '); space != std::string_view::npos) {
        addr = text.substr(0, space);
        mask = trim(text.substr(space + 1));
    }
    if (addr.empty()) return std::nullopt;
    AddressMask r;
    r.prefix = prefix;
    if (addr.find(':') != std::string_view::npos) {
        uint8_t a[16], m[16];
        if (::inet_pton(AF_INET6, std::string(addr).c_str(), a) != 1) return std::nullopt;
        r.v6 = true;
        r.address = address_text(true, a);
        if (!mask.empty()) {
            if (::inet_pton(AF_INET6, std::string(mask).c_str(), m) != 1) return std::nullopt;
            r.prefix = prefix_of(m, 16);
        }
        return r;
    }
    const auto bytes = dotted_bytes(addr);
    if (!bytes) return std::nullopt;
    switch (bytes->size()) {
        case 4: r.address = address_text(false, bytes->data()); break;
        case 8: r.address = address_text(false, bytes->data()); r.prefix = prefix_of(bytes->data() + 4, 4); break;
        case 16: r.v6 = true; r.address = address_text(true, bytes->data()); break;
        case 32: r.v6 = true; r.address = address_text(true, bytes->data()); r.prefix = prefix_of(bytes->data() + 16, 16); break;
        default: return std::nullopt;
    }
    return r;
}

}  // namespace

std::optional<ContextSettings> parse_cgcontrdp(const std::vector<std::string>& lines, int cid) {
    ContextSettings c;
    bool any = false;
    for (const auto& line : lines) {
        std::string_view v = trim(line);
        if (v.starts_with("+CGCONTRDP:")) v.remove_prefix(11);
        const auto f = split_raw(v);
        if (f.size() < 4 || parse_int(f[0].text) != cid) continue;
        const auto local = parse_address_mask(f[3].text);
        if (!local || is_unspecified_address(local->address)) continue;
        // An address of the line's family from field i, "" when absent, unspecified or foreign.
        const auto field = [&](std::size_t i) -> std::string {
            if (i >= f.size()) return {};
            const auto a = parse_address_mask(f[i].text);
            if (!a || a->v6 != local->v6 || is_unspecified_address(a->address)) return {};
            return a->address;
        };
        std::string& address = local->v6 ? c.address6 : c.address;
        if (!address.empty()) continue;  // a second line for the same family: the first one counts
        address = local->address;
        any = true;
        std::vector<std::string>& dns = local->v6 ? c.dns6 : c.dns;
        for (const std::size_t i : {5U, 6U})
            if (auto d = field(i); !d.empty()) dns.push_back(std::move(d));
        if (local->v6) {
            c.prefix6 = static_cast<uint8_t>(std::clamp(local->prefix.value_or(64), 0, 128));
            c.gateway6 = field(4);
        } else {
            c.prefix = static_cast<uint8_t>(std::clamp(local->prefix.value_or(32), 0, 32));
            c.gateway = field(4);
            if (f.size() > 11)
                if (const auto mtu = parse_int(f[11].text); mtu && *mtu >= 576 && *mtu <= 65535) c.mtu = static_cast<uint32_t>(*mtu);
        }
    }
    if (!any) return std::nullopt;
    return c;
}

PdpEvent parse_cgev(std::string_view value) {
    const auto v = collapse_spaces(value);
    PdpEvent ev;
    struct Kind {
        std::string_view words;
        PdpEventKind kind;
    };
    static constexpr std::array kKinds = {
        Kind{"NW DETACH", PdpEventKind::nw_detach},     Kind{"ME DETACH", PdpEventKind::me_detach},
        Kind{"NW PDN DEACT", PdpEventKind::pdn_deact},  Kind{"ME PDN DEACT", PdpEventKind::pdn_deact},
        Kind{"NW PDN ACT", PdpEventKind::pdn_act},      Kind{"ME PDN ACT", PdpEventKind::pdn_act},
        Kind{"NW DEACT", PdpEventKind::nw_deact},       Kind{"ME DEACT", PdpEventKind::me_deact},
    };
    for (const auto& k : kKinds) {
        if (!v.starts_with(k.words)) continue;
        const std::string_view rest(v.data() + k.words.size(), v.size() - k.words.size());
        if (!rest.empty() && rest.front() != ' ') continue;
        ev.kind = k.kind;
        const auto f = split_raw(rest);
        if (k.kind == PdpEventKind::pdn_act || k.kind == PdpEventKind::pdn_deact) {
            ev.cid = parse_int(f[0].text);
        } else if (k.kind == PdpEventKind::nw_deact || k.kind == PdpEventKind::me_deact) {
            // "<PDP_type>,<PDP_addr>[,<cid>]" or, for secondary contexts, "<p_cid>,<cid>,<event_type>".
            if (f.size() >= 2 && parse_int(f[0].text)) ev.cid = parse_int(f[1].text);
            else if (f.size() >= 3) ev.cid = parse_int(f[2].text);
        }
        return ev;
    }
    return ev;
}

std::optional<std::string> parse_digits_line(const AtResult& reply) {
    for (const auto& line : reply.lines) {
        const auto v = unquote(strip_tag(line));
        // At least 6 digits: a lone "0" is a numeric (ATV0) result code, not an identity.
        if (v.size() >= 6 && all_of(v, is_digit)) return std::string(v);
    }
    return std::nullopt;
}

std::optional<std::string> parse_iccid_line(const AtResult& reply) {
    for (const auto& line : reply.lines)
        if (auto id = parse_iccid(strip_tag(line))) return id;
    return std::nullopt;
}

int cme_code_from_text(std::string_view text) {
    std::string key;
    for (const char c : text) {
        if (is_digit(c) || (c >= 'a' && c <= 'z')) key.push_back(c);
        else if (c >= 'A' && c <= 'Z') key.push_back(static_cast<char>(c - 'A' + 'a'));
    }
    struct Entry {
        std::string_view key;
        int code;
    };
    // 3GPP TS 27.007 §9.2 texts, normalised as ModemManager does, plus short vendor variants.
    static constexpr std::array kTable = {
        Entry{"phonefailure", 0},
        Entry{"noconnectiontophone", 1},
        Entry{"phoneadaptorlinkreserved", 2},
        Entry{"operationnotallowed", 3},
        Entry{"operationnotsupported", 4},
        Entry{"phsimpinrequired", 5},
        Entry{"phfsimpinrequired", 6},
        Entry{"phfsimpukrequired", 7},
        Entry{"simnotinserted", 10},
        Entry{"simpinrequired", 11},
        Entry{"simpukrequired", 12},
        Entry{"simfailure", 13},
        Entry{"simbusy", 14},
        Entry{"simwrong", 15},
        Entry{"incorrectpassword", 16},
        Entry{"simpin2required", 17},
        Entry{"simpuk2required", 18},
        Entry{"memoryfull", 20},
        Entry{"invalidindex", 21},
        Entry{"notfound", 22},
        Entry{"memoryfailure", 23},
        Entry{"textstringtoolong", 24},
        Entry{"invalidcharactersintextstring", 25},
        Entry{"dialstringtoolong", 26},
        Entry{"invalidcharactersindialstring", 27},
        Entry{"nonetworkservice", 30},
        Entry{"nonetwork", 30},
        Entry{"networktimeout", 31},
        Entry{"timeout", 31},
        Entry{"networknotallowedemergencycallsonly", 32},
        Entry{"networkpersonalizationpinrequired", 40},
        Entry{"networkpersonalizationpukrequired", 41},
        Entry{"networksubsetpersonalizationpinrequired", 42},
        Entry{"networksubsetpersonalizationpukrequired", 43},
        Entry{"serviceproviderpersonalizationpinrequired", 44},
        Entry{"serviceproviderpersonalizationpukrequired", 45},
        Entry{"corporatepersonalizationpinrequired", 46},
        Entry{"corporatepersonalizationpukrequired", 47},
        Entry{"incorrectparameters", 50},
        Entry{"unknown", 100},
        Entry{"illegalms", 103},
        Entry{"illegalue", 103},
        Entry{"illegalme", 106},
        Entry{"gprsservicesnotallowed", 107},
        Entry{"psservicesnotallowed", 107},
        Entry{"plmnnotallowed", 111},
        Entry{"locationareanotallowed", 112},
        Entry{"areanotallowed", 112},
        Entry{"roamingnotallowedinthislocationarea", 113},
        Entry{"roamingnotallowedinthisarea", 113},
        Entry{"missingorunknownapn", 127},
        Entry{"userauthenticationfailed", 129},
        Entry{"activationrejectedbyggsnservinggworpdngw", 130},
        Entry{"activationrejectedbyggsn", 130},
        Entry{"activationrejectedunspecified", 131},
        Entry{"serviceoptionnotsupported", 132},
        Entry{"requestedserviceoptionnotsubscribed", 133},
        Entry{"serviceoptiontemporarilyoutoforder", 134},
        Entry{"unspecifiedgprserror", 148},
        Entry{"pdpauthenticationfailure", 149},
    };
    for (const auto& e : kTable)
        if (e.key == key) return e.code;
    return -1;
}

}  // namespace cellgate::modem
