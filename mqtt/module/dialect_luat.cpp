// Luat / AirM2M (Air780E, Air724UG): one MQTT connection per module, outcomes as bare words
// (CONNECT OK, CONNACK OK, SUBACK, PUBACK), downlink as one "+MSUB:" line with the byte count ahead
// of the raw payload. Source: the Luat AT command manual, MQTT chapter, and its MQTT FAQ.
#include <string>

#include "mqtt/module/dialect_detail.hpp"

namespace cellgate::mqtt::detail {
namespace {

class Luat final : public Dialect {
public:
    const char* name() const override { return "luat"; }
    ModuleLimits limits() const override { return luat_limits(); }

    ModuleSteps route_urcs() const override { return {}; }

    ModuleSteps close(int) const override {
        return {
            ModuleStep::of("AT+MDISCONNECT").optional(),
            ModuleStep::of("AT+MIPCLOSE").optional(),
        };
    }

    // AT+FSCREATE then AT+FSWRITE (mode 0 overwrites; the module waits 15 s for the bytes), per
    // the Luat AT command manual, FS chapter. FSCREATE of an existing file may answer ERROR.
    Built upload(const std::string& name, const std::string& content) const override {
        if (auto why = check_upload(limits(), name, content.size())) return std::unexpected(*why);
        auto n = quoted(name, "file name");
        if (!n) return std::unexpected(n.error());
        return ModuleSteps{
            ModuleStep::of("AT+FSCREATE=" + *n).optional(),
            ModuleStep::of("AT+FSWRITE=" + *n + ",0," + std::to_string(content.size()) + ",15").with_data(content, 30s),
        };
    }

    // Context 88 is the one the MQTT client uses (AT+SSLCFG in the Luat AT command manual).
    ModuleSteps ssl_context(int idx, const ModuleTls& t) const override {
        ModuleSteps steps;
        add_tls_files(steps, "AT+SSLCFG=", "88", idx, t);
        steps.push_back(ModuleStep::of("AT+SSLCFG=\"seclevel\",88," + std::to_string(tls_level(t))));
        return steps;
    }

    Built connect(int, const ConnectParams& p) const override {
        auto who = quoted_identity(p);
        auto host = quoted(p.host, "host");
        if (!who) return std::unexpected(who.error());
        if (!host) return std::unexpected(host.error());
        std::string config = "AT+MCONFIG=" + who->client_id + who->login;
        // TLS takes seconds longer on these modules (certificate checks at 9600 baud).
        const auto open_wait = p.tls ? 60s : 30s;
        return ModuleSteps{
            // Downlink printed on the port as it comes (not cached in the module's 4 slots).
            ModuleStep::of("AT+MQTTMSGSET=0").optional(),
            ModuleStep::of(std::move(config)),
            ModuleStep::of(std::string(p.tls ? "AT+SSLMIPSTART=" : "AT+MIPSTART=") + *host + "," +
                                  std::to_string(p.port)).awaiting(ModuleUrc::opened, open_wait),
            // Sent right after CONNECT OK: servers drop a TCP connection that sends no CONNECT.
            ModuleStep::of("AT+MCONNECT=" + std::string(p.clean_session ? "1" : "0") + "," +
                                  std::to_string(p.keepalive.count())).within(20s).awaiting(ModuleUrc::connected, 20s),
        };
    }

    Built subscribe(int, int, const std::string& topic, int qos) const override {
        auto t = quoted(topic, "topic");
        if (!t) return std::unexpected(t.error());
        return ModuleSteps{ModuleStep::of("AT+MSUB=" + *t + "," + std::to_string(qos)).awaiting(ModuleUrc::subscribed, 20s)};
    }

    Built unsubscribe(int, int, const std::string& topic) const override {
        auto t = quoted(topic, "topic");
        if (!t) return std::unexpected(t.error());
        return ModuleSteps{ModuleStep::of("AT+MUNSUB=" + *t).awaiting(ModuleUrc::unsubscribed, 20s)};
    }

    Built publish(int, int, const std::string& topic, const std::string& payload, int qos,
                  bool retain) const override {
        if (auto why = check_publish(limits(), topic, payload.size())) return std::unexpected(*why);
        auto t = quoted(topic, "topic");
        if (!t) return std::unexpected(t.error());
        const std::string head = *t + "," + std::to_string(qos) + "," + (retain ? "1" : "0");
        ModuleStep step;
        if (payload.empty()) {
            // MPUBEX takes 1..4100 bytes; an empty message goes in MPUB's quotes.
            step.command = "AT+MPUB=" + head + ",\"\"";
        } else {
            step.command = "AT+MPUBEX=" + head + "," + std::to_string(payload.size());
            step.data = payload;
            step.timeout = 10s;
        }
        // QoS 0 ends with OK; QoS 1 with PUBACK; QoS 2 with PUBCOMP (PUBREC in between).
        if (qos > 0) {
            step.await = ModuleUrc::published;
            step.urc_timeout = 20s;
        }
        return ModuleSteps{std::move(step)};
    }

    ModuleStep status_query(int) const override { return ModuleStep::of("AT+MQTTSTATU"); }

    std::optional<bool> parse_status(const std::vector<std::string>& lines, int) const override {
        // "+MQTTSTATU :1" (the manual puts a space before the colon): 0 offline, 1 connected,
        // 2 TCP up without MCONNECT.
        for (const auto& line : lines) {
            auto rest = after(line, "+MQTTSTATU");
            if (!rest) continue;
            auto r = *rest;
            if (!r.starts_with(':')) return std::nullopt;
            const auto state = to_int(r.substr(1));
            if (!state) return std::nullopt;
            return *state == 1;
        }
        return std::nullopt;
    }

    ModuleEvent parse_urc(std::string_view line) override {
        ModuleEvent e;
        e.text = std::string(line.substr(0, 64));
        if (line == "CONNECT OK" || line == "ALREADY CONNECT") {
            e.kind = ModuleUrc::opened;
        } else if (line == "CONNECT FAIL") {
            e.kind = ModuleUrc::opened;
            e.result = 1;
            e.text = "the module could not open the TCP connection (CONNECT FAIL)";
        } else if (line == "CONNACK OK") {
            e.kind = ModuleUrc::connected;
        } else if (line == "SUBACK") {
            e.kind = ModuleUrc::subscribed;
        } else if (line == "UNSUBACK") {
            e.kind = ModuleUrc::unsubscribed;
        } else if (line == "PUBACK" || line == "PUBCOMP") {
            e.kind = ModuleUrc::published;
        } else if (line == "CLOSED") {
            e.kind = ModuleUrc::link_lost;
            e.text = "the module's TCP connection closed (CLOSED)";
        } else if (line.starts_with("+PDP DEACT")) {
            e.kind = ModuleUrc::link_lost;
            e.text = "the module lost its data bearer (+PDP DEACT)";
        } else if (auto rest = after(line, "+MSUB:")) {
            parse_message(*rest, e);
        }
        return e;
    }

private:
    // "<topic>",<len> byte,<payload>: the count tells where the payload ends, never a line end.
    static void parse_message(std::string_view rest, ModuleEvent& e) {
        if (!rest.starts_with('"')) return;
        const auto marker = rest.find(" byte,");
        if (marker == std::string_view::npos) return;
        const auto head = rest.substr(0, marker);
        const auto comma = head.rfind("\",");
        if (comma == std::string_view::npos || comma == 0) return;
        const auto len = to_int(head.substr(comma + 2));
        const auto payload = rest.substr(marker + 6);
        if (!len || *len < 0 || static_cast<std::size_t>(*len) > payload.size()) return;
        e.kind = ModuleUrc::message;
        e.topic = std::string(head.substr(1, comma - 1));
        e.payload = std::string(payload.substr(0, static_cast<std::size_t>(*len)));
        e.text = "+MSUB";
    }
};

}  // namespace

ModuleLimits luat_limits() {
    return ModuleLimits{.max_clients = 1, .max_topic = 256, .max_payload = 4100, .keepalive_min = 1,
                        .keepalive_max = 65535, .tls = true, .max_file = 10240};
}

std::unique_ptr<Dialect> make_luat() { return std::make_unique<Luat>(); }

}  // namespace cellgate::mqtt::detail
