#include "ctl/render.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>

#include "base/duration_text.hpp"

namespace cellgate::ctl {

namespace {

// One section of an mmcli-style table: a label, then key: value rows (empty values left out).
struct Section {
    std::string label;
    std::vector<std::pair<std::string, std::string>> rows;
    void add(std::string key, std::string value) {
        if (!value.empty()) rows.emplace_back(std::move(key), std::move(value));
    }
};

std::string render(const std::vector<Section>& sections) {
    size_t label_width = 0, key_width = 0;
    for (const auto& s : sections) {
        label_width = std::max(label_width, s.label.size());
        for (const auto& [key, value] : s.rows) key_width = std::max(key_width, key.size());
    }
    const std::string rule = "  " + std::string(label_width + key_width + 14, '-') + "\n";
    std::string out;
    for (const auto& s : sections) {
        out += rule;
        bool first = true;
        for (const auto& [key, value] : s.rows) {
            const std::string& label = first ? s.label : std::string();
            out += "  " + label + std::string(label_width - label.size(), ' ') + " | ";
            out += std::string(key_width - key.size(), ' ') + key + ": " + value + "\n";
            first = false;
        }
        if (first) out += "  " + s.label + "\n";
    }
    return out + rule;
}

std::string num(uint64_t n) { return std::to_string(n); }

// "a, b" leaving out the empty ones.
std::string joined(std::initializer_list<std::string> parts, const char* sep = ", ") {
    std::string out;
    for (const auto& p : parts)
        if (!p.empty()) out += (out.empty() ? "" : sep) + p;
    return out;
}

std::string in_parens(const std::string& s) { return s.empty() ? s : "(" + s + ")"; }

std::string modem_state_text(const Properties& m) {
    return joined({text(m, "State"), in_parens(text(m, "FailedReason"))}, " ");
}

std::string signal_text(const Properties& m) {
    const uint64_t quality = number(m, "SignalQuality");
    const int64_t rssi = signed_number(m, "Rssi");
    if (quality == 0 && rssi == 0) return "";
    return joined({num(quality) + "%", rssi != 0 ? "(" + std::to_string(rssi) + " dBm)" : ""}, " ");
}

std::string network_text(const Properties& m) {
    const std::string code = text(m, "OperatorCode");
    return joined({joined({text(m, "Operator"), in_parens(code)}, " "), text(m, "AccessTechnology"),
                   text(m, "Registration")});
}

std::string ip_text(const Properties& m) {
    const std::string apn = text(m, "Apn");
    return joined({text(m, "IpAddress"), apn.empty() ? "" : "(apn " + apn + ")"}, " ");
}

std::string since_text(uint64_t since_us, uint64_t now_us) {
    if (since_us == 0) return "";
    if (since_us > now_us) return local_time(since_us);  // a clock that went back
    return age_text((now_us - since_us) / 1'000'000) + " ago (" + local_time(since_us) + ")";
}

void add_modem_summary(Section& s, const Properties& m) {
    s.add("state", modem_state_text(m));
    s.add("model", joined({text(m, "Manufacturer"), text(m, "Model")}, " "));
    s.add("signal", signal_text(m));
    s.add("network", network_text(m));
    s.add("ip", ip_text(m));
    s.add("recovering", text(m, "RecoveryStep"));
    s.add("last error", text(m, "LastError"));
}

std::string messages_text(const Properties& p) {
    return num(number(p, "Published")) + " published, " + num(number(p, "Received")) + " received";
}

std::string outbox_text(const Properties& p) {
    return num(number(p, "Queued")) + " queued, " + num(number(p, "Dropped")) + " dropped, " +
           num(number(p, "Invalid")) + " invalid";
}

std::string answers_text(const Properties& p) {
    const uint64_t accepted = number(p, "Accepted"), rejected = number(p, "Rejected");
    if (accepted == 0 && rejected == 0) return "";
    return num(accepted) + " accepted, " + num(rejected) + " rejected";
}

}  // namespace

std::string age_text(uint64_t seconds) {
    return duration_text(std::chrono::milliseconds(static_cast<int64_t>(seconds) * 1000));
}

std::string local_time(uint64_t epoch_us) {
    const auto t = static_cast<std::time_t>(epoch_us / 1'000'000);
    std::tm tm{};
    if (!localtime_r(&t, &tm)) return std::to_string(epoch_us);
    char buf[32];
    const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    return std::string(buf, n);
}

std::string session_state_text(const Properties& p, uint64_t now_us) {
    const std::string state = text(p, "State");
    const uint64_t since = number(p, "ConnectedSince");
    if (state == "connected" && since != 0 && since <= now_us)
        return state + " for " + age_text((now_us - since) / 1'000'000) + " (since " + local_time(since) + ")";
    const uint64_t retry = number(p, "NextRetryIn");
    if ((state == "backoff" || state == "auth-failed") && retry != 0)
        return state + " (retry delay " + age_text(retry) + ")";
    return state;
}

std::string render_status(const Snapshot& snap, uint64_t now_us) {
    std::vector<Section> sections;
    Section g{"Gateway", {}};
    g.add("state", text(snap.gateway, "State"));
    g.add("reason", text(snap.gateway, "StateReason"));
    g.add("version", text(snap.gateway, "Version"));
    sections.push_back(std::move(g));

    Section m{"Modem", {}};
    add_modem_summary(m, snap.modem);
    sections.push_back(std::move(m));

    for (const auto& [name, p] : snap.sessions) {
        Section s{"Cloud " + name, {}};
        s.add("state", session_state_text(p, now_us));
        s.add("endpoint", joined({text(p, "Endpoint"), in_parens(text(p, "Platform"))}, " "));
        s.add("messages", messages_text(p));
        s.add("outbox", outbox_text(p));
        s.add("last drop", text(p, "LastDisconnectReason"));
        s.add("rejection", text(p, "LastRejection"));
        sections.push_back(std::move(s));
    }
    return render(sections);
}

std::string render_modem(const Properties& m) {
    Section s{"Modem", {}};
    s.add("state", modem_state_text(m));
    s.add("port", text(m, "Port"));
    s.add("vendor", text(m, "Vendor"));
    s.add("manufacturer", text(m, "Manufacturer"));
    s.add("model", text(m, "Model"));
    s.add("revision", text(m, "Revision"));
    s.add("imei", text(m, "Imei"));
    s.add("imsi", text(m, "Imsi"));
    s.add("iccid", text(m, "Iccid"));
    s.add("registration", text(m, "Registration"));
    s.add("technology", text(m, "AccessTechnology"));
    s.add("operator", joined({text(m, "Operator"), in_parens(text(m, "OperatorCode"))}, " "));
    s.add("signal", signal_text(m));
    s.add("apn", text(m, "Apn"));
    s.add("ip", text(m, "IpAddress"));
    s.add("resets", num(number(m, "Resets")));
    s.add("recoveries", num(number(m, "Recoveries")));
    s.add("recovering", text(m, "RecoveryStep"));
    s.add("last error", text(m, "LastError"));
    return render({s});
}

std::string render_sessions(const std::vector<std::pair<std::string, Properties>>& sessions, uint64_t now_us) {
    std::vector<Section> sections;
    for (const auto& [name, p] : sessions) {
        Section s{"Cloud " + name, {}};
        s.add("state", text(p, "State"));
        s.add("connected", since_text(number(p, "ConnectedSince"), now_us));
        s.add("platform", text(p, "Platform"));
        s.add("endpoint", text(p, "Endpoint"));
        s.add("client id", text(p, "ClientId"));
        s.add("keepalive", age_text(number(p, "KeepAlive")));
        s.add("reconnects", num(number(p, "Reconnects")));
        s.add("last drop", text(p, "LastDisconnectReason"));
        if (const uint64_t retry = number(p, "NextRetryIn"); retry != 0) s.add("retry delay", age_text(retry));
        s.add("messages", messages_text(p) + ", " + num(number(p, "Pings")) + " pings");
        s.add("outbox", outbox_text(p));
        s.add("answers", answers_text(p));
        s.add("rejection", text(p, "LastRejection"));
        sections.push_back(std::move(s));
    }
    if (sections.empty()) return "no cloud sessions are configured\n";
    return render(sections);
}

Json to_json(const Properties& props) {
    Json j = Json::object();
    for (const auto& [name, value] : props) std::visit([&](const auto& v) { j[name] = v; }, value);
    return j;
}

Json to_json(const Snapshot& s) {
    Json sessions = Json::object();
    for (const auto& [name, p] : s.sessions) sessions[name] = to_json(p);
    return Json{{"gateway", to_json(s.gateway)}, {"modem", to_json(s.modem)}, {"sessions", std::move(sessions)}};
}

std::string change_line(const std::string& clock, const std::string& object, const Properties& changed) {
    std::string out = clock + " " + object + ":";
    for (const auto& [name, value] : changed) {
        std::string v;
        if (const auto* str = std::get_if<std::string>(&value)) v = *str;
        else if (const auto* u = std::get_if<uint64_t>(&value)) v = name == "ConnectedSince" && *u ? local_time(*u) : num(*u);
        else v = std::to_string(std::get<int64_t>(value));
        // Quoted when it would not read as one word (an empty reason, a sentence, a time).
        if (v.empty() || v.find(' ') != std::string::npos) v = "\"" + v + "\"";
        out += " " + name + "=" + v;
    }
    return out;
}

}  // namespace cellgate::ctl
