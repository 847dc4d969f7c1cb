// Quectel (EC2x/EG9x, EC200 "LTE Standard", BG95): up to 6 clients, every outcome a +QMT* URC
// naming the client and, for SUB/PUB, the message id. Source: Quectel's MQTT application notes
// (LTE Standard V1.2, EC2x&EG9x V1.1/V1.3) and the QMT driver in Quectel's MCU SDK.
#include <string>

#include "mqtt/module/dialect_detail.hpp"

namespace cellgate::mqtt::detail {
namespace {

// +QMTSTAT <err_code>; every one of them means the module-side session is gone.
const char* qmtstat_meaning(int code) {
    switch (code) {
        case 1: return "connection closed or reset by the server";
        case 2: return "PINGREQ timed out or failed";
        case 3: return "CONNECT timed out or failed";
        case 4: return "CONNACK timed out or failed";
        case 5: return "the server closed the connection after DISCONNECT";
        case 6: return "sending kept failing";
        case 7: return "link not alive or server unavailable";
        case 8: return "the client closed the connection";
    }
    return "unknown";
}

const char* qmtopen_meaning(int code) {
    switch (code) {
        case -1: return "failed to open the network";
        case 1: return "wrong parameter";
        case 2: return "client index occupied";
        case 3: return "failed to activate the PDP context";
        case 4: return "DNS lookup failed";
        case 5: return "network connection error";
    }
    return "unknown";
}

class Quectel final : public Dialect {
public:
    const char* name() const override { return "quectel"; }
    ModuleLimits limits() const override { return quectel_limits(); }

    // Some LTE-Standard parts send their URCs to the USB AT port by default; the setting is kept
    // in NVRAM, so setting it again is harmless.
    ModuleSteps route_urcs() const override {
        return {ModuleStep::of("AT+QURCCFG=\"urcport\",\"uart1\"").optional()};
    }

    ModuleSteps close(int idx) const override {
        const auto i = std::to_string(idx);
        return {
            ModuleStep::of("AT+QMTDISC=" + i).awaiting(ModuleUrc::disconnected, 10s).optional(),
            ModuleStep::of("AT+QMTCLOSE=" + i).awaiting(ModuleUrc::closed, 10s).optional(),
        };
    }

    // AT+QFUPL answers CONNECT and takes the bytes (Quectel file application note); an existing
    // file makes it fail with 407, so the old one goes first.
    Built upload(const std::string& name, const std::string& content) const override {
        if (auto why = check_upload(limits(), name, content.size())) return std::unexpected(*why);
        auto n = quoted(name, "file name");
        if (!n) return std::unexpected(n.error());
        return ModuleSteps{
            ModuleStep::of("AT+QFDEL=" + *n).optional(),
            ModuleStep::of("AT+QFUPL=" + *n + "," + std::to_string(content.size()) + ",60").with_data(content, 70s),
        };
    }

    // SSL context `idx`, the one connect() names in QMTCFG="ssl" (Quectel SSL application note).
    ModuleSteps ssl_context(int idx, const ModuleTls& t) const override {
        const auto ctx = std::to_string(idx);
        const std::string cfg = "AT+QSSLCFG=";
        ModuleSteps steps;
        // Every version the module knows, and its whole cipher list.
        steps.push_back(ModuleStep::of(cfg + "\"sslversion\"," + ctx + ",4"));
        steps.push_back(ModuleStep::of(cfg + "\"ciphersuite\"," + ctx + ",0xFFFF"));
        steps.push_back(ModuleStep::of(cfg + "\"seclevel\"," + ctx + "," + std::to_string(tls_level(t))));
        add_tls_files(steps, cfg, ctx, idx, t);
        // Brokers behind a shared address need the name; older firmware lacks the option.
        steps.push_back(ModuleStep::of(cfg + "\"sni\"," + ctx + ",1").optional());
        return steps;
    }

    Built connect(int idx, const ConnectParams& p) const override {
        auto who = quoted_identity(p);
        auto host = quoted(p.host, "host");
        if (!who) return std::unexpected(who.error());
        if (!host) return std::unexpected(host.error());
        const auto i = std::to_string(idx);
        const std::string cfg = "AT+QMTCFG=";
        std::string conn = "AT+QMTCONN=" + i + "," + who->client_id + who->login;
        // The configuration does not survive a reboot: all of it, every time.
        return ModuleSteps{
            // Payload inside the URC, with its length ahead (binary-safe).
            ModuleStep::of(cfg + "\"recv/mode\"," + i + ",0,1"),
            ModuleStep::of(cfg + "\"version\"," + i + ",4"),
            ModuleStep::of(cfg + "\"keepalive\"," + i + "," + std::to_string(p.keepalive.count())),
            ModuleStep::of(cfg + "\"session\"," + i + "," + (p.clean_session ? "1" : "0")),
            // 5 s per packet, 3 tries: the URC waits below are budgeted from these.
            ModuleStep::of(cfg + "\"timeout\"," + i + ",5,3,0"),
            ModuleStep::of(cfg + "\"ssl\"," + i + "," + (p.tls ? "1," + i : std::string("0"))),
            // Quectel's SDK waits 121 s for +QMTOPEN.
            ModuleStep::of("AT+QMTOPEN=" + i + "," + *host + "," + std::to_string(p.port)).awaiting(ModuleUrc::opened, 121s),
            ModuleStep::of(std::move(conn)).awaiting(ModuleUrc::connected, 20s),
        };
    }

    Built subscribe(int idx, int mid, const std::string& topic, int qos) const override {
        auto t = quoted(topic, "topic");
        if (!t) return std::unexpected(t.error());
        return ModuleSteps{ModuleStep::of("AT+QMTSUB=" + std::to_string(idx) + "," + std::to_string(mid) + "," + *t + "," +
                       std::to_string(qos)).awaiting(ModuleUrc::subscribed, 20s, mid)};
    }

    Built unsubscribe(int idx, int mid, const std::string& topic) const override {
        auto t = quoted(topic, "topic");
        if (!t) return std::unexpected(t.error());
        return ModuleSteps{ModuleStep::of("AT+QMTUNS=" + std::to_string(idx) + "," + std::to_string(mid) + "," + *t).awaiting(ModuleUrc::unsubscribed, 20s, mid)};
    }

    Built publish(int idx, int mid, const std::string& topic, const std::string& payload, int qos,
                  bool retain) const override {
        if (auto why = check_publish(limits(), topic, payload.size())) return std::unexpected(*why);
        auto t = quoted(topic, "topic");
        if (!t) return std::unexpected(t.error());
        // QoS 0 carries message id 0. Worst case pkt_timeout x retries = 15 s.
        const int id = qos == 0 ? 0 : mid;
        return ModuleSteps{ModuleStep::of("AT+QMTPUBEX=" + std::to_string(idx) + "," + std::to_string(id) + "," + std::to_string(qos) +
                       "," + (retain ? "1" : "0") + "," + *t + "," + std::to_string(payload.size())).with_data(payload, 10s).awaiting(ModuleUrc::published, 20s, id)};
    }

    ModuleStep status_query(int) const override { return ModuleStep::of("AT+QMTCONN?"); }

    std::optional<bool> parse_status(const std::vector<std::string>& lines, int idx) const override {
        // One "+QMTCONN: <idx>,<state>" per open client: 1 initializing, 2 connecting, 3 connected.
        // A client missing from the list is not connected.
        for (const auto& line : lines) {
            auto rest = after(line, "+QMTCONN:");
            if (!rest) continue;
            const auto f = fields(*rest);
            if (int_field(f, 0) != idx) continue;
            return int_field(f, 1) == 3;
        }
        return false;
    }

    ModuleEvent parse_urc(std::string_view line) override {
        ModuleEvent e;
        e.text = std::string(line.substr(0, 64));
        if (auto rest = after(line, "+QMTRECV:")) {
            parse_message(*rest, e);
            return e;
        }
        struct Shape {
            std::string_view prefix;
            ModuleUrc kind;
            bool has_id;
        };
        static constexpr Shape kShapes[] = {
            {"+QMTOPEN:", ModuleUrc::opened, false},        {"+QMTCONN:", ModuleUrc::connected, false},
            {"+QMTSUB:", ModuleUrc::subscribed, true},      {"+QMTUNS:", ModuleUrc::unsubscribed, true},
            {"+QMTPUBEX:", ModuleUrc::published, true},     {"+QMTPUB:", ModuleUrc::published, true},
            {"+QMTDISC:", ModuleUrc::disconnected, false},  {"+QMTCLOSE:", ModuleUrc::closed, false},
            {"+QMTSTAT:", ModuleUrc::link_lost, false},     {"+QMTPING:", ModuleUrc::link_lost, false},
        };
        for (const auto& s : kShapes) {
            auto rest = after(line, s.prefix);
            if (!rest) continue;
            const auto f = fields(*rest);
            const std::size_t r = s.has_id ? 2 : 1;
            e.kind = s.kind;
            e.client = int_field(f, 0);
            if (s.has_id) e.id = int_field(f, 1);
            e.result = int_field(f, r, 2);
            if (s.kind == ModuleUrc::connected) {
                // Success needs result 0 and CONNACK code 0: "+QMTCONN: 0,0,4" is a refused login.
                e.connack = int_field(f, 2, 0);
            } else if (s.kind == ModuleUrc::subscribed && int_field(f, 3, 0) == 128) {
                e.result = 2;  // the broker refused the filter
            } else if (s.kind == ModuleUrc::published && e.result == 1) {
                e.kind = ModuleUrc::none;  // a retransmission report; the outcome follows
            } else if (s.kind == ModuleUrc::link_lost && s.prefix == "+QMTSTAT:") {
                e.text = line.substr(0, 64);
                e.text += std::string(" (") + qmtstat_meaning(e.result) + ")";
            } else if (s.kind == ModuleUrc::opened && e.result != 0) {
                e.text += std::string(" (") + qmtopen_meaning(e.result) + ")";
            }
            return e;
        }
        return e;
    }

private:
    // <idx>,<msgid>,"<topic>",<len>,"<payload>": the payload is not escaped, so its end is the
    // count, never a quote. Without the length (a firmware that ignored recv/mode) the payload is
    // what lies between the next quote and the last one.
    static void parse_message(std::string_view rest, ModuleEvent& e) {
        const auto q = rest.find('"');
        if (q == std::string_view::npos) return;
        const auto f = fields(rest.substr(0, q));
        e.client = int_field(f, 0);
        e.id = int_field(f, 1);
        const auto body = rest.substr(q + 1);
        for (std::size_t at = body.find("\","); at != std::string_view::npos; at = body.find("\",", at + 1)) {
            const auto tail = body.substr(at + 2);
            const auto comma = tail.find(",\"");
            if (comma == std::string_view::npos) break;
            const auto len = to_int(tail.substr(0, comma));
            if (!len || *len < 0) continue;
            const auto payload = tail.substr(comma + 2);
            if (payload.size() < static_cast<std::size_t>(*len)) return;
            e.kind = ModuleUrc::message;
            e.topic = std::string(body.substr(0, at));
            e.payload = std::string(payload.substr(0, static_cast<std::size_t>(*len)));
            e.text = "+QMTRECV";
            return;
        }
        const auto split = body.find("\",\"");
        if (split == std::string_view::npos || !body.ends_with('"')) return;
        e.kind = ModuleUrc::message;
        e.topic = std::string(body.substr(0, split));
        e.payload = std::string(body.substr(split + 3, body.size() - split - 4));
        e.text = "+QMTRECV";
    }
};

}  // namespace

ModuleLimits quectel_limits() {
    // Topic: the command line that carries it; payload: the BG95 note's 4096 bytes.
    return ModuleLimits{.max_clients = 6, .max_topic = 1024, .max_payload = 4096, .keepalive_min = 0,
                        .keepalive_max = 3600, .tls = true, .max_file = 65536};
}

std::unique_ptr<Dialect> make_quectel() { return std::make_unique<Quectel>(); }

}  // namespace cellgate::mqtt::detail
