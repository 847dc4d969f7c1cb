#include "modem/at_parser.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <utility>

#include "modem/at_replies.hpp"

namespace cellgate::modem {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (upper(a[i]) != upper(b[i])) return false;
    return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// Codes of CME/CMS errors: digits only, otherwise the text is verbose.
int parse_code(std::string_view s) {
    int v = -1;
    const auto* end = s.data() + s.size();
    auto [p, ec] = std::from_chars(s.data(), end, v);
    if (ec != std::errc() || p != end || v < 0) return -1;
    return v;
}

struct UrcPrefix {
    std::string_view text;
    UrcKind kind = UrcKind::other;
};

// Lines that are unsolicited even while a command is pending (unless it asked for them), with
// what they announce. Prefixes that end with ':' match as prefixes; bare words match the whole
// line or a word followed by ':' or ' ' ("*ATREADY: 1").
constexpr UrcPrefix kUrcPrefixes[] = {
    // 3GPP registration, packet-domain and SIM indications.
    {"+CREG:", UrcKind::registration}, {"+CGREG:", UrcKind::registration}, {"+CEREG:", UrcKind::registration},
    {"+C5GREG:", UrcKind::registration}, {"+CGEV:", UrcKind::packet_event}, {"+CPIN:", UrcKind::sim},
    // 3GPP time zone, SMS/USSD/call indications.
    {"+CTZV:"}, {"+CTZE:"}, {"+CTZEU:"}, {"+CMTI:"}, {"+CMT:"}, {"+CDS:"}, {"+CBM:"}, {"+CUSD:"}, {"+CLIP:"},
    {"+CRING:"}, {"+CIEV:"}, {"RING"},
    // Quectel.
    {"RDY"}, {"+QIND:"}, {"+QUSIM:"}, {"+QNETDEVSTATUS:"}, {"+QIURC:"}, {"+QSIMSTAT:"}, {"POWERED DOWN"},
    // SIMCom, ASR-based modules, Luat.
    {"SMS DONE"}, {"PB DONE"}, {"SMS READY"}, {"CALL READY"}, {"*ATREADY"}, {"+SIMCARD:"}, {"NORMAL POWER DOWN"},
    {"+PACSP0"}, {"+PACSP1"},
    // Huawei / Luat caret indications.
    {"^MODE:"}, {"^NDISSTAT:"}, {"^SYSSTART"}, {"^RSSI:"}, {"^HCSQ:"}, {"^SIMST:"}, {"^SRVST:"}, {"^BOOT:"},
    {"^DSFLOWRPT:"}, {"^CEND:"},
    // The modules' own MQTT clients (Luat AT manual, Quectel MQTT application note, SIMCom A76XX AT
    // manual): outcomes, downlink and lost links, all sent after the command's OK.
    {"+MSUB:"}, {"CONNECT OK"}, {"CONNECT FAIL"}, {"ALREADY CONNECT"}, {"CONNACK OK"}, {"SUBACK"}, {"UNSUBACK"},
    {"PUBACK"}, {"PUBREC"}, {"PUBCOMP"}, {"CLOSED"}, {"+PDP DEACT"},
    {"+QMTOPEN:"}, {"+QMTCONN:"}, {"+QMTSUB:"}, {"+QMTUNS:"}, {"+QMTPUB:"}, {"+QMTPUBEX:"}, {"+QMTDISC:"},
    {"+QMTCLOSE:"}, {"+QMTRECV:"}, {"+QMTSTAT:"}, {"+QMTPING:"},
    {"+CMQTTSTART:"}, {"+CMQTTSTOP:"}, {"+CMQTTCONNECT:"}, {"+CMQTTSUB:"}, {"+CMQTTUNSUB:"}, {"+CMQTTPUB:"},
    {"+CMQTTDISC:"}, {"+CMQTTRXSTART:"}, {"+CMQTTRXTOPIC:"}, {"+CMQTTRXPAYLOAD:"}, {"+CMQTTRXEND:"},
    {"+CMQTTCONNLOST:"}, {"+CMQTTNONET"}, {"+CMQTTPING:"},
};

// Whole lines a module prints once it has (re)started: Quectel, Huawei, ASR-based modules, and
// the 3GPP activity status some firmware volunteers at boot.
constexpr std::string_view kBootBanners[] = {"RDY", "^SYSSTART", "*ATREADY: 1", "+CPAS: 0 READY"};

// Registration URCs whose solicited (read) form always carries "<n>," first.
constexpr std::array kRegistrationNames = {"+CREG", "+CGREG", "+CEREG", "+C5GREG"};

bool prefix_matches(std::string_view line, std::string_view prefix) {
    if (prefix.back() == ':') return line.starts_with(prefix);
    if (!istarts_with(line, prefix)) return false;
    if (line.size() == prefix.size()) return true;
    const char next = line[prefix.size()];
    return next == ':' || next == ' ';
}

const UrcPrefix* find_urc_prefix(std::string_view line) {
    for (const auto& p : kUrcPrefixes)
        if (prefix_matches(line, p.text)) return &p;
    return nullptr;
}

// "+CREG: ..." -> "+CREG"; "" when the line has no "+NAME:" / "^NAME:" / "*NAME:" shape.
std::string_view line_name(std::string_view line) {
    if (line.empty() || (line[0] != '+' && line[0] != '^' && line[0] != '*')) return {};
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) return {};
    return trim(line.substr(0, colon));
}

bool valid_utf8(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        size_t extra = 0;
        char32_t cp = 0;
        if (c < 0x80) { ++i; continue; }
        if ((c & 0xe0) == 0xc0) { extra = 1; cp = c & 0x1f; }
        else if ((c & 0xf0) == 0xe0) { extra = 2; cp = c & 0x0f; }
        else if ((c & 0xf8) == 0xf0) { extra = 3; cp = c & 0x07; }
        else return false;
        if (i + extra >= s.size()) return false;
        for (size_t k = 1; k <= extra; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3f);
        }
        // Overlong forms, surrogates and values past U+10FFFF are invalid too.
        static constexpr char32_t kMin[] = {0, 0x80, 0x800, 0x10000};
        if (cp < kMin[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += extra + 1;
    }
    return true;
}

}  // namespace

void LineSplitter::feed(std::string_view bytes, std::vector<std::string>& out) {
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        const char ch = bytes[i];
        const auto c = static_cast<unsigned char>(ch);
        if (raw_left_ > 0) {
            if (std::exchange(skip_lf_, false) && ch == '\n') continue;
            const auto take = std::min(raw_left_, bytes.size() - i);
            partial_.append(bytes.substr(i, take));
            raw_left_ -= take;
            i += take - 1;
            if (raw_left_ == 0) {
                raw_end_ = partial_.size();
                if (raw_after_line_) end_line(out);
            }
            continue;
        }
        if (c == '\r' || c == '\n') {
            const auto line = trim(partial_);
            if (framer_ && raw_begin_ == npos && !corrupt_ && line.starts_with('+')) {
                if (const auto n = framer_(line, true); n > 0 && n <= max_raw) {
                    partial_ = std::string(line) + '\n';
                    take_raw(n, true);
                    skip_lf_ = c == '\r';
                    continue;
                }
            }
            end_line(out);
            continue;
        }
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            if (!partial_.empty()) corrupt_ = true;
            continue;
        }
        if (c >= 0x80 && partial_.empty()) continue;
        const auto raw_len = raw_begin_ == npos ? 0 : raw_end_ - raw_begin_;
        if (partial_.size() - raw_len < max_line) {
            partial_.push_back(ch);
        } else {
            overflow_ = true;
        }
        if (framer_ && (ch == ',' || ch == '"') && raw_begin_ == npos && !corrupt_ && !overflow_) {
            const auto head = trim(partial_);
            if (!head.starts_with('+')) continue;
            if (const auto n = framer_(head, false); n > 0 && n <= max_raw) take_raw(n, false);
        }
    }
}

void LineSplitter::take_raw(std::size_t n, bool after_line) {
    raw_begin_ = partial_.size();
    raw_end_ = npos;
    raw_left_ = n;
    raw_after_line_ = after_line;
}

void LineSplitter::end_line(std::vector<std::string>& out) {
    if (raw_begin_ == npos) {
        const auto line = trim(partial_);
        if (!line.empty() && !corrupt_ && valid_utf8(line)) out.emplace_back(line);
    } else {
        // Only the text around the raw bytes is checked and trimmed: the bytes are the payload.
        const std::string_view all(partial_);
        const auto head = all.substr(0, raw_begin_);
        const auto tail = all.substr(raw_end_);
        if (!corrupt_ && valid_utf8(head) && valid_utf8(tail)) {
            auto h = head;
            while (!h.empty() && is_space(h.front())) h.remove_prefix(1);
            std::string line(h);
            line.append(all.substr(raw_begin_, raw_end_ - raw_begin_));
            auto t = tail;
            while (!t.empty() && is_space(t.back())) t.remove_suffix(1);
            line.append(t);
            out.push_back(std::move(line));
        }
    }
    reset();
}

bool LineSplitter::at_prompt() const { return !overflow_ && trim(partial_) == ">"; }

void LineSplitter::reset() {
    partial_.clear();
    overflow_ = false;
    corrupt_ = false;
    raw_begin_ = raw_end_ = npos;
    raw_left_ = 0;
    raw_after_line_ = skip_lf_ = false;
}

std::optional<FinalResult> parse_final_result(std::string_view raw) {
    const auto line = trim(raw);
    FinalResult r;
    if (line == "OK") return r;
    if (line == "ERROR" || line == "COMMAND NOT SUPPORT") {
        r.status = AtStatus::error;
        r.error_text = std::string(line);
        return r;
    }
    if (line == "NO CARRIER" || line == "BUSY" || line == "NO ANSWER" || line == "NO DIALTONE") {
        r.status = AtStatus::no_carrier;
        r.error_text = std::string(line);
        return r;
    }
    // "CONNECT OK" / "CONNECT FAIL" report a module's own TCP connection, never data mode.
    if (line == "CONNECT" || (line.starts_with("CONNECT ") && line != "CONNECT OK" && line != "CONNECT FAIL")) {
        r.status = AtStatus::connect;
        return r;
    }
    struct Coded {
        std::string_view prefix;
        AtStatus status;
    };
    static constexpr std::array kCoded = {
        Coded{"+CME ERROR:", AtStatus::cme_error},
        Coded{"+CMS ERROR:", AtStatus::cms_error},
        Coded{"MODEM ERROR:", AtStatus::error},  // EZX phones, per ModemManager
    };
    for (const auto& k : kCoded) {
        // Some firmware ends a failed command with the bare word, colon and code left out.
        const auto word = k.prefix.substr(0, k.prefix.size() - 1);
        if (!line.starts_with(k.prefix) && line != word) continue;
        const auto text = trim(line.substr(std::min(line.size(), k.prefix.size())));
        r.status = k.status;
        r.error_text = std::string(text);
        r.error_code = parse_code(text);
        if (r.error_code < 0 && k.status == AtStatus::cme_error) r.error_code = cme_code_from_text(text);
        return r;
    }
    return std::nullopt;
}

bool is_urc_prefix(std::string_view line) { return find_urc_prefix(line) != nullptr; }

UrcKind classify_urc(std::string_view line) {
    for (const std::string_view banner : kBootBanners)
        if (line == banner) return UrcKind::boot;
    const auto* p = find_urc_prefix(line);
    return p ? p->kind : UrcKind::other;
}

bool solicits(std::string_view command, std::string_view line) {
    const auto name = line_name(line);
    if (name.empty()) return false;
    auto cmd = trim(command);
    if (istarts_with(cmd, "AT")) cmd.remove_prefix(2);
    // Concatenated commands ("AT+CREG?;+CGREG?") answer each part in turn.
    while (!cmd.empty()) {
        const auto semi = cmd.find(';');
        const auto part = trim(cmd.substr(0, semi));
        cmd = semi == std::string_view::npos ? std::string_view{} : cmd.substr(semi + 1);

        const auto end = part.find_first_of("=?");
        const auto part_name = part.substr(0, end);
        if (!iequals(part_name, name)) continue;
        const auto form = end == std::string_view::npos ? std::string_view{} : part.substr(end);
        if (form.empty() || form == "=?") return true;
        // Set forms answer with lines (AT+CGPADDR=1) unless the name is an indication: after
        // AT+CREG=2 or AT+CPIN="1234" a "+CREG:" / "+CPIN:" line is the URC it switched on.
        if (form.front() == '=') return !is_urc_prefix(line);
        // Only a line with the read layout ("<n>,<stat>,...") answers AT+CxREG?; one shaped like a
        // URC ("+CREG: 1", "+CEREG: 1,\"1A2B\",...") is news that crossed the query, and stays a URC.
        for (const std::string_view reg : kRegistrationNames) {
            if (!iequals(name, reg)) continue;
            if (const auto r = parse_creg(line.substr(line.find(':') + 1))) return r->n.has_value();
            return line.find(',') != std::string_view::npos;
        }
        return true;
    }
    return false;
}

bool is_echo(std::string_view line, std::string_view command) {
    const auto cmd = trim(command);
    return !cmd.empty() && iequals(trim(line), cmd);
}

LineKind classify_line(std::string_view line, std::string_view pending_command) {
    if (parse_final_result(line)) return LineKind::final_result;
    // With nothing in flight every line is news the owner may want (RDY, unknown vendor URCs).
    if (trim(pending_command).empty()) return LineKind::urc;
    if (is_urc_prefix(line) && !solicits(pending_command, line)) return LineKind::urc;
    return LineKind::info;
}

}  // namespace cellgate::modem
