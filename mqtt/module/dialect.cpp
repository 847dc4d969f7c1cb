#include "mqtt/module/dialect.hpp"

#include <charconv>

#include "mqtt/module/dialect_detail.hpp"

namespace cellgate::mqtt {

const char* to_string(ModuleUrc u) {
    switch (u) {
        case ModuleUrc::none: return "none";
        case ModuleUrc::started: return "started";
        case ModuleUrc::opened: return "opened";
        case ModuleUrc::connected: return "connected";
        case ModuleUrc::subscribed: return "subscribed";
        case ModuleUrc::unsubscribed: return "unsubscribed";
        case ModuleUrc::published: return "published";
        case ModuleUrc::disconnected: return "disconnected";
        case ModuleUrc::closed: return "closed";
        case ModuleUrc::link_lost: return "link lost";
        case ModuleUrc::message: return "message";
    }
    return "unknown";
}

std::unique_ptr<Dialect> make_dialect(std::string_view vendor) {
    if (vendor == "luat") return detail::make_luat();
    if (vendor == "quectel") return detail::make_quectel();
    if (vendor == "simcom") return detail::make_simcom();
    return nullptr;
}

bool has_mqtt_command_set(std::string_view vendor) {
    return vendor == "luat" || vendor == "quectel" || vendor == "simcom";
}

ModuleLimits dialect_limits(std::string_view vendor) {
    if (vendor == "luat") return detail::luat_limits();
    if (vendor == "quectel") return detail::quectel_limits();
    if (vendor == "simcom") return detail::simcom_limits();
    return {};
}

std::string tls_file_name(TlsFile f, int idx) {
    // SIMCom takes names of 5..108 bytes ending in .pem or .der; the others take these too.
    const char* role = f == TlsFile::ca ? "ca" : f == TlsFile::cert ? "cert" : "key";
    return std::string("cellgate_") + role + std::to_string(idx) + ".pem";
}

bool is_module_mqtt_urc(std::string_view line) {
    static constexpr std::string_view kWords[] = {"CONNECT OK", "CONNECT FAIL", "ALREADY CONNECT", "CONNACK OK",
                                                  "SUBACK",     "UNSUBACK",     "PUBACK",          "PUBREC",
                                                  "PUBCOMP",    "CLOSED"};
    static constexpr std::string_view kPrefixes[] = {"+MSUB:", "+PDP DEACT", "+QMT", "+CMQTT"};
    for (const auto w : kWords)
        if (line == w) return true;
    for (const auto p : kPrefixes)
        if (line.starts_with(p)) return true;
    return false;
}

namespace {

// The decimal number that ends `s` (after a ','), or nullopt.
std::optional<std::size_t> trailing_count(std::string_view s, char before) {
    std::size_t i = s.size();
    while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9') --i;
    if (i == s.size() || i < 2 || s[i - 1] != ',' || (before != 0 && s[i - 2] != before)) return std::nullopt;
    std::size_t n = 0;
    const auto digits = s.substr(i);
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec != std::errc() || p != digits.data() + digits.size()) return std::nullopt;
    return n;
}

}  // namespace

std::size_t downlink_raw_length(std::string_view head, bool line_end) {
    if (line_end) {
        // SIMCom: "+CMQTTRXTOPIC: <idx>,<len>" / "+CMQTTRXPAYLOAD: <idx>,<len>", the bytes on the next line.
        if (!head.starts_with("+CMQTTRXTOPIC:") && !head.starts_with("+CMQTTRXPAYLOAD:")) return 0;
        return trailing_count(head, 0).value_or(0);
    }
    // Luat: +MSUB: "<topic>",<len> byte,<payload>
    if (head.starts_with("+MSUB:") && head.ends_with(" byte,")) {
        head.remove_suffix(6);
        return trailing_count(head, '"').value_or(0);
    }
    // Quectel (recv/mode 0,1): +QMTRECV: <idx>,<msgid>,"<topic>",<len>,"<payload>"
    if (head.starts_with("+QMTRECV:") && head.ends_with(",\"")) {
        head.remove_suffix(2);
        return trailing_count(head, '"').value_or(0);
    }
    return 0;
}

std::optional<std::string> luat_escape(std::string_view payload) {
    std::string out;
    out.reserve(payload.size());
    for (const char ch : payload) {
        switch (ch) {
            case '"': out += "\\22"; break;
            case '\r': out += "\\0D"; break;
            case '\n': out += "\\0A"; break;
            case '\\': out += "\\5C"; break;
            default:
                if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) return std::nullopt;
                out += ch;
        }
    }
    return out;
}

namespace detail {

std::expected<std::string, std::string> quoted(std::string_view text, std::string_view what) {
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (ch == '"' || c < 0x20 || c == 0x7f)
            return std::unexpected(std::string(what) + " holds a quote or a control byte, which the module's AT "
                                                       "command cannot carry");
    }
    return "\"" + std::string(text) + "\"";
}

std::expected<QuotedIdentity, std::string> quoted_identity(const ConnectParams& p) {
    auto id = quoted(p.client_id, "client id");
    if (!id) return std::unexpected(id.error());
    QuotedIdentity out{*id, {}};
    if (p.username.empty() && p.password.empty()) return out;
    auto user = quoted(p.username, "username");
    if (!user) return std::unexpected(user.error());
    auto pass = quoted(p.password, "password");
    if (!pass) return std::unexpected(pass.error());
    out.login = "," + *user + "," + *pass;
    return out;
}

std::vector<std::string> fields(std::string_view rest) {
    std::vector<std::string> out;
    std::string cur;
    bool in_quotes = false;
    bool was_quoted = false;
    auto finish = [&] {
        if (!was_quoted) {
            while (!cur.empty() && cur.back() == ' ') cur.pop_back();
            std::size_t b = 0;
            while (b < cur.size() && cur[b] == ' ') ++b;
            cur.erase(0, b);
        }
        out.push_back(std::move(cur));
        cur.clear();
        was_quoted = false;
    };
    for (const char ch : rest) {
        if (ch == '"') {
            in_quotes = !in_quotes;
            was_quoted = true;
        } else if (ch == ',' && !in_quotes) {
            finish();
        } else {
            cur += ch;
        }
    }
    finish();
    return out;
}

std::optional<int> to_int(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    int v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

std::optional<std::string_view> after(std::string_view line, std::string_view prefix) {
    if (!line.starts_with(prefix)) return std::nullopt;
    line.remove_prefix(prefix.size());
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    return line;
}

int int_field(const std::vector<std::string>& f, std::size_t i, int fallback) {
    if (i >= f.size()) return fallback;
    return to_int(f[i]).value_or(fallback);
}

int tls_level(const ModuleTls& t) { return !t.verify ? 0 : t.client_cert ? 2 : 1; }

void add_tls_files(ModuleSteps& steps, const std::string& cfg, const std::string& ctx, int idx, const ModuleTls& t) {
    const auto file = [&](const char* key, TlsFile f) {
        steps.push_back(ModuleStep::of(cfg + "\"" + key + "\"," + ctx + ",\"" + tls_file_name(f, idx) + "\""));
    };
    if (t.ca) file("cacert", TlsFile::ca);
    if (t.client_cert) {
        file("clientcert", TlsFile::cert);
        file("clientkey", TlsFile::key);
    }
}

std::optional<std::string> check_upload(const ModuleLimits& l, std::string_view name, std::size_t size) {
    if (size == 0) return std::string(name) + " is empty";
    if (size > l.max_file)
        return std::string(name) + " of " + std::to_string(size) + " bytes is over the module's " +
               std::to_string(l.max_file) + " per file";
    return std::nullopt;
}

std::optional<std::string> check_publish(const ModuleLimits& l, std::string_view topic, std::size_t payload_size) {
    if (topic.empty()) return "empty topic";
    if (topic.size() > l.max_topic)
        return "topic of " + std::to_string(topic.size()) + " bytes is over the module's " +
               std::to_string(l.max_topic);
    if (payload_size > l.max_payload)
        return "payload of " + std::to_string(payload_size) + " bytes is over the module's " +
               std::to_string(l.max_payload);
    return std::nullopt;
}

}  // namespace detail
}  // namespace cellgate::mqtt
