// SIMCom (A76xx/A7670, SIM7600, SIM767x): 2 clients, topic and payload always as length + "> "
// input, outcomes as +CMQTT* URCs, downlink as a RXSTART/RXTOPIC/RXPAYLOAD/RXEND block with the
// lengths ahead. Source: the SIMCom A76XX Series AT command manual (MQTT chapter), the SIM7500/
// SIM7600 AT command manual and the A76XX MQTT(S) application note.
#include <string>

#include "mqtt/module/dialect_detail.hpp"

namespace cellgate::mqtt::detail {
namespace {

const char* cmqtt_error(int code) {
    switch (code) {
        case 1: return "failed";
        case 2: return "bad UTF-8 string";
        case 3: return "socket connect failed";
        case 4: return "socket create failed";
        case 7: return "network open failed";
        case 9: return "network not opened";
        case 11: return "no connection";
        case 14: return "client busy";
        case 17: return "timeout";
        case 19: return "client is used";
        case 20: return "client not acquired";
        case 21: return "client not released";
        case 22: return "length out of range";
        case 25: return "DNS error";
        case 26: return "socket closed by server";
        case 32: return "TLS handshake failed";
        case 33: return "certificate not set";
        case 34: return "TLS session failed";
    }
    return "error";
}

const char* connlost_cause(int cause) {
    switch (cause) {
        case 1: return "socket closed passively";
        case 2: return "socket reset";
        case 3: return "network closed";
    }
    return "unknown cause";
}

// The publish timeout handed to AT+CMQTTPUB: 60 s is inside both the A76xx (1-180) and the
// SIM7600 (60-180) ranges.
constexpr int kPubTimeoutS = 60;

class Simcom final : public Dialect {
public:
    const char* name() const override { return "simcom"; }
    ModuleLimits limits() const override { return simcom_limits(); }

    // AT+CATR=1: URCs to the UART (the default may be every port, or USB).
    ModuleSteps route_urcs() const override { return {ModuleStep::of("AT+CATR=1").optional()}; }

    ModuleSteps close(int idx) const override {
        const auto i = std::to_string(idx);
        // The service (CMQTTSTART) stays up: the other client may use it.
        return {
            ModuleStep::of("AT+CMQTTDISC=" + i + ",60").awaiting(ModuleUrc::disconnected, 10s).optional(),
            ModuleStep::of("AT+CMQTTREL=" + i).optional(),
        };
    }

    // AT+CCERTDOWN takes the length and the bytes after ">", at most 10240 (SIMCom A76XX AT
    // command manual, SSL chapter); a file of that name is replaced.
    Built upload(const std::string& name, const std::string& content) const override {
        if (auto why = check_upload(limits(), name, content.size())) return std::unexpected(*why);
        auto n = quoted(name, "file name");
        if (!n) return std::unexpected(n.error());
        return ModuleSteps{
            ModuleStep::of("AT+CCERTDOWN=" + *n + "," + std::to_string(content.size())).with_data(content, 120s)};
    }

    // SSL context `idx`, which connect() hands to the client with AT+CMQTTSSLCFG.
    ModuleSteps ssl_context(int idx, const ModuleTls& t) const override {
        const auto ctx = std::to_string(idx);
        const std::string cfg = "AT+CSSLCFG=";
        ModuleSteps steps;
        steps.push_back(ModuleStep::of(cfg + "\"sslversion\"," + ctx + ",4"));
        steps.push_back(ModuleStep::of(cfg + "\"authmode\"," + ctx + "," + std::to_string(tls_level(t))));
        add_tls_files(steps, cfg, ctx, idx, t);
        steps.push_back(ModuleStep::of(cfg + "\"enableSNI\"," + ctx + ",1").optional());
        return steps;
    }

    Built connect(int idx, const ConnectParams& p) const override {
        auto who = quoted_identity(p);
        auto addr = quoted("tcp://" + p.host + ":" + std::to_string(p.port), "host");
        if (!who) return std::unexpected(who.error());
        if (!addr) return std::unexpected(addr.error());
        const auto i = std::to_string(idx);
        // The address starts with tcp:// even for TLS; the ACCQ server type chooses.
        std::string conn = "AT+CMQTTCONNECT=" + i + "," + *addr + "," + std::to_string(p.keepalive.count()) + "," +
                           (p.clean_session ? "1" : "0") + who->login;
        ModuleSteps steps{
            // Activates the PDP context; a second START answers ERROR (already running): fine.
            ModuleStep::of("AT+CMQTTSTART").awaiting(ModuleUrc::started, 13s).optional(),
            ModuleStep::of("AT+CMQTTACCQ=" + i + "," + who->client_id + "," + (p.tls ? "1" : "0")),
            // The set defaults to MQTT 3.1; the platforms expect 3.1.1. Cleared by REL: every time.
            ModuleStep::of("AT+CMQTTCFG=\"version\"," + i + ",4"),
            // Binary payloads would fail the UTF-8 check with error 2. Not on every firmware.
            ModuleStep::of("AT+CMQTTCFG=\"checkUTF8\"," + i + ",0").optional(),
        };
        // The SSL context of the same number (ssl_context); cleared by REL, so every time too.
        if (p.tls) steps.push_back(ModuleStep::of("AT+CMQTTSSLCFG=" + i + "," + i));
        steps.push_back(ModuleStep::of(std::move(conn)).awaiting(ModuleUrc::connected, 30s));
        return steps;
    }

    Built subscribe(int idx, int, const std::string& topic, int qos) const override {
        if (topic.empty() || topic.size() > limits().max_topic) return std::unexpected("topic length out of range");
        return ModuleSteps{ModuleStep::of("AT+CMQTTSUB=" + std::to_string(idx) + "," +
                                                 std::to_string(topic.size()) + "," + std::to_string(qos)).with_data(topic).awaiting(ModuleUrc::subscribed, 20s)};
    }

    Built unsubscribe(int idx, int, const std::string& topic) const override {
        if (topic.empty() || topic.size() > limits().max_topic) return std::unexpected("topic length out of range");
        return ModuleSteps{ModuleStep::of("AT+CMQTTUNSUB=" + std::to_string(idx) + "," +
                                                 std::to_string(topic.size()) + ",0").with_data(topic).awaiting(ModuleUrc::unsubscribed, 20s)};
    }

    Built publish(int idx, int, const std::string& topic, const std::string& payload, int qos,
                  bool retain) const override {
        if (auto why = check_publish(limits(), topic, payload.size())) return std::unexpected(*why);
        const auto i = std::to_string(idx);
        ModuleSteps steps;
        steps.push_back(ModuleStep::of("AT+CMQTTTOPIC=" + i + "," + std::to_string(topic.size())).with_data(topic));
        // The payload buffer takes 1..10240 bytes; an empty message simply has none.
        if (!payload.empty())
            steps.push_back(ModuleStep::of("AT+CMQTTPAYLOAD=" + i + "," + std::to_string(payload.size())).with_data(payload, 10s));
        steps.push_back(ModuleStep::of("AT+CMQTTPUB=" + i + "," + std::to_string(qos) + "," +
                                              std::to_string(kPubTimeoutS) + "," + (retain ? "1" : "0")).awaiting(ModuleUrc::published, std::chrono::seconds(kPubTimeoutS + 5)));
        return steps;
    }

    ModuleStep status_query(int) const override { return ModuleStep::of("AT+CMQTTDISC?"); }

    std::optional<bool> parse_status(const std::vector<std::string>& lines, int idx) const override {
        // "+CMQTTDISC: <idx>,<0 connected | 1 disconnected>", one line per client.
        for (const auto& line : lines) {
            auto rest = after(line, "+CMQTTDISC:");
            if (!rest) continue;
            const auto f = fields(*rest);
            if (int_field(f, 0) != idx) continue;
            return int_field(f, 1) == 0;
        }
        return std::nullopt;
    }

    ModuleEvent parse_urc(std::string_view line) override {
        ModuleEvent e;
        e.text = std::string(line.substr(0, std::min<std::size_t>(line.find('\n'), 64)));
        if (line.starts_with("+CMQTTRX")) {
            parse_rx(line, e);
            return e;
        }
        if (line.starts_with("+CMQTTNONET")) {
            e.kind = ModuleUrc::link_lost;
            e.text = "the module lost the network (+CMQTTNONET)";
            return e;
        }
        struct Shape {
            std::string_view prefix;
            ModuleUrc kind;
            bool has_client;
        };
        static constexpr Shape kShapes[] = {
            {"+CMQTTSTART:", ModuleUrc::started, false},       {"+CMQTTSTOP:", ModuleUrc::closed, false},
            {"+CMQTTCONNECT:", ModuleUrc::connected, true},    {"+CMQTTSUB:", ModuleUrc::subscribed, true},
            {"+CMQTTUNSUB:", ModuleUrc::unsubscribed, true},   {"+CMQTTPUB:", ModuleUrc::published, true},
            {"+CMQTTDISC:", ModuleUrc::disconnected, true},    {"+CMQTTCONNLOST:", ModuleUrc::link_lost, true},
            {"+CMQTTPING:", ModuleUrc::link_lost, true},
        };
        for (const auto& s : kShapes) {
            auto rest = after(line, s.prefix);
            if (!rest) continue;
            const auto f = fields(*rest);
            e.kind = s.kind;
            e.client = s.has_client ? int_field(f, 0) : -1;
            e.result = int_field(f, s.has_client ? 1 : 0, 1);
            if (s.prefix == "+CMQTTCONNLOST:") {
                e.text += std::string(" (") + connlost_cause(e.result) + ")";
            } else if (s.prefix == "+CMQTTPING:") {
                e.text += " (keepalive ping failed)";
            } else if (s.kind == ModuleUrc::started && e.result == 23) {
                e.result = 0;  // "network is opened": already running
            } else if (s.kind == ModuleUrc::connected && e.result >= 27 && e.result <= 31) {
                e.connack = e.result - 26;  // the CONNACK refusals 1..5, shifted
            } else if (e.result != 0) {
                e.text += std::string(" (") + cmqtt_error(e.result) + ")";
            }
            return e;
        }
        return e;
    }

private:
    // +CMQTTRXSTART: <idx>,<topic len>,<payload len>, then +CMQTTRXTOPIC and +CMQTTRXPAYLOAD (each
    // "<header>\n<bytes>", possibly in several chunks), then +CMQTTRXEND: <idx> yields the message.
    void parse_rx(std::string_view line, ModuleEvent& e) {
        const auto nl = line.find('\n');
        const auto header = line.substr(0, nl);
        const auto bytes = nl == std::string_view::npos ? std::string_view{} : line.substr(nl + 1);
        if (auto rest = after(header, "+CMQTTRXSTART:")) {
            const auto f = fields(*rest);
            rx_ = Rx{int_field(f, 0), {}, {}, true};
        } else if (after(header, "+CMQTTRXTOPIC:")) {
            if (rx_.open) rx_.topic.append(bytes);
        } else if (after(header, "+CMQTTRXPAYLOAD:")) {
            if (rx_.open) rx_.payload.append(bytes);
        } else if (auto end = after(header, "+CMQTTRXEND:")) {
            if (!rx_.open) return;
            e.kind = ModuleUrc::message;
            e.client = rx_.client;
            e.topic = std::move(rx_.topic);
            e.payload = std::move(rx_.payload);
            e.text = "+CMQTTRX";
            rx_ = Rx{};
        }
    }

    struct Rx {
        int client = -1;
        std::string topic;
        std::string payload;
        bool open = false;
    };
    Rx rx_;
};

}  // namespace

ModuleLimits simcom_limits() {
    return ModuleLimits{.max_clients = 2, .max_topic = 1024, .max_payload = 10240, .keepalive_min = 1,
                        .keepalive_max = 64800, .tls = true, .max_file = 10240};
}

std::unique_ptr<Dialect> make_simcom() { return std::make_unique<Simcom>(); }

}  // namespace cellgate::mqtt::detail
