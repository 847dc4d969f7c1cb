// China Mobile OneNET, the MQTTS platform with the 2018-10-31 token (current products and OneNET
// Studio). The facts are from OneNET's docs (the MQTTS device manual and design notes, the token
// page, the OneJSON thing-model topics, the MQTTS and Studio usage limits) and its official C SDK.
// The legacy port-6002 access is platform_onenet_legacy.cpp.
#include <algorithm>
#include <array>

#include "cloud/payload_detail.hpp"
#include "cloud/platform_detail.hpp"
#include "cloud/platform_profile.hpp"

namespace cellgate::cloud::detail {
namespace {

// The fixed domains rather than the per-product "smart domain" ({pid}.mqtts.acc.cmcconenet.cn):
// the official SDK v2.1.3 defaults to them and its readme says they remain usable, they serve
// every product (the smart domain exists only for products created since 2024-11-08), and the CA
// we ship (CN=OneNET MQTTS) is the one documented for them. endpoint: overrides.
constexpr const char* kHost = "mqtts.heclouds.com";
constexpr const char* kTlsHost = "mqttstls.heclouds.com";
constexpr uint16_t kPort = 1883;
constexpr uint16_t kTlsPort = 8883;
constexpr int kMinKeepalive = 10;  // outside 10..1800 s the connection is dropped
constexpr int kMaxKeepalive = 1800;
constexpr int kStudioMaxKeepalive = 300;  // the Studio device SDK guide
constexpr const char* kTokenVersion = "2018-10-31";  // the only version for devices
constexpr int kMaxTopicLevels = 8;
constexpr size_t kMaxCommandResponse = 1024;  // a command response must stay under 1 KB

constexpr std::string_view kTokenMethods[] = {"sha256", "sha1", "md5"};
constexpr ConfigKey kKeys[] = {
    {.name = "product_id", .kind = ConfigKey::Kind::text, .text = &CloudConfig::product_id, .max_len = 64},
    {.name = "device_name", .kind = ConfigKey::Kind::text, .text = &CloudConfig::device_name, .max_len = 64},
    {.name = "device_key", .kind = ConfigKey::Kind::secret, .text = &CloudConfig::device_key},
    {.name = "token_lifetime", .kind = ConfigKey::Kind::duration, .duration = &CloudConfig::token_lifetime,
     .min = std::chrono::minutes(1), .max = std::chrono::hours(87600)},
    {.name = "token_method", .kind = ConfigKey::Kind::choice, .text = &CloudConfig::token_method,
     .choices = kTokenMethods},
};

using D = TopicDirection;
// The OneJSON thing-model topics and the MQTTS data-stream topics. Replies to the platform's
// requests end in "_reply"; the platform's replies are a "/reply" level.
constexpr std::array kTopics{
    TopicTemplate{"property_post", "$sys/{product_id}/{device_name}/thing/property/post", D::up},
    TopicTemplate{"property_post_reply", "$sys/{product_id}/{device_name}/thing/property/post/reply", D::down},
    TopicTemplate{"property_set", "$sys/{product_id}/{device_name}/thing/property/set", D::down},
    TopicTemplate{"property_set_reply", "$sys/{product_id}/{device_name}/thing/property/set_reply", D::up},
    TopicTemplate{"property_get", "$sys/{product_id}/{device_name}/thing/property/get", D::down},
    TopicTemplate{"property_get_reply", "$sys/{product_id}/{device_name}/thing/property/get_reply", D::up},
    TopicTemplate{"desired_get", "$sys/{product_id}/{device_name}/thing/property/desired/get", D::up},
    TopicTemplate{"desired_get_reply", "$sys/{product_id}/{device_name}/thing/property/desired/get/reply", D::down},
    TopicTemplate{"desired_delete", "$sys/{product_id}/{device_name}/thing/property/desired/delete", D::up},
    TopicTemplate{"desired_delete_reply", "$sys/{product_id}/{device_name}/thing/property/desired/delete/reply",
                  D::down},
    TopicTemplate{"event_post", "$sys/{product_id}/{device_name}/thing/event/post", D::up},
    TopicTemplate{"event_post_reply", "$sys/{product_id}/{device_name}/thing/event/post/reply", D::down},
    TopicTemplate{"service_invoke", "$sys/{product_id}/{device_name}/thing/service/{service_id}/invoke", D::down},
    TopicTemplate{"service_invoke_reply", "$sys/{product_id}/{device_name}/thing/service/{service_id}/invoke_reply",
                  D::up},
    TopicTemplate{"pack_post", "$sys/{product_id}/{device_name}/thing/pack/post", D::up},
    TopicTemplate{"pack_post_reply", "$sys/{product_id}/{device_name}/thing/pack/post/reply", D::down},
    TopicTemplate{"history_post", "$sys/{product_id}/{device_name}/thing/history/post", D::up},
    TopicTemplate{"history_post_reply", "$sys/{product_id}/{device_name}/thing/history/post/reply", D::down},
    TopicTemplate{"dp_post", "$sys/{product_id}/{device_name}/dp/post/json", D::up},
    TopicTemplate{"dp_post_accepted", "$sys/{product_id}/{device_name}/dp/post/json/accepted", D::down},
    TopicTemplate{"dp_post_rejected", "$sys/{product_id}/{device_name}/dp/post/json/rejected", D::down},
    TopicTemplate{"cmd_request", "$sys/{product_id}/{device_name}/cmd/request/{cmd_id}", D::down},
    TopicTemplate{"cmd_response", "$sys/{product_id}/{device_name}/cmd/response/{cmd_id}", D::up},
    TopicTemplate{"ota_inform", "$sys/{product_id}/{device_name}/ota/inform", D::down},
    TopicTemplate{"ota_inform_reply", "$sys/{product_id}/{device_name}/ota/inform_reply", D::up},
};

constexpr std::string_view kPostReplies[] = {"property_post_reply", "event_post_reply"};
constexpr const char* kReplyMessageKeys[] = {"msg", "message"};
// The thing model's requests are OneJSON; the MQTTS commands are opaque.
constexpr DownlinkRoute kRequests[] = {
    {"property_set", "property_set_reply", true},
    {"property_get", "property_get_reply", true},
    {"service_invoke", "service_invoke_reply", true},
    {"cmd_request", "cmd_response", false, kMaxCommandResponse},
};

bool all_of(std::string_view s, bool extra_dash_underscore) {
    return std::all_of(s.begin(), s.end(), [&](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
               (extra_dash_underscore && (ch == '-' || ch == '_'));
    });
}

std::string resource(const CloudConfig& c) { return "products/" + c.product_id + "/devices/" + c.device_name; }

class OnenetProfile final : public PlatformProfile {
public:
    Platform id() const override { return Platform::onenet; }
    const char* name() const override { return "onenet"; }

    std::span<const ConfigKey> config_keys() const override { return kKeys; }

    std::string endpoint(const CloudConfig& c) const override {
        const uint16_t port = c.tls.enabled ? kTlsPort : kPort;
        if (!c.endpoint.empty()) return with_default_port(c.endpoint, port);
        return std::string(c.tls.enabled ? kTlsHost : kHost) + ":" + std::to_string(port);
    }

    void rules(const CloudConfig& c, std::vector<RuleViolation>& out) const override {
        require(c.product_id, "product_id", "product_id", c, out);
        require(c.device_name, "device_name", "device_name", c, out);
        require(c.device_key, "device_key", "device_key or device_key_file", c, out);
        if (!c.device_key.empty() && (!base64_decode(c.device_key) || base64_decode(c.device_key)->empty())) {
            out.push_back({"device_key", "onenet device_key must be the base64 key shown in the console"});
        }
        if (!all_of(c.product_id, false)) {
            out.push_back({"product_id", "onenet product_id may only contain letters and digits"});
        }
        if (!all_of(c.device_name, true)) {
            // The topic charset is ^[a-zA-Z0-9/_-]+$ and the device name is part of every topic.
            out.push_back({"device_name", "onenet device_name may only contain letters, digits, _ and -"});
        }
        if (!onenet_digest(c.token_method)) {
            out.push_back({"token_method",
                           "onenet token_method must be sha256, sha1 or md5 (got \"" + c.token_method + "\")"});
        }
        if (c.token_lifetime < std::chrono::minutes(1)) {
            out.push_back({"token_lifetime", "onenet token_lifetime must be at least 60s: the token is signed at "
                                             "every connect and must outlive the attempt"});
        }
        check_keepalive(c, kMinKeepalive, kMaxKeepalive, out);
    }

    void warnings(const CloudConfig& c, Uplink uplink, std::vector<RuleViolation>& out) const override {
        warn_cellular_keepalive(c, kMinKeepalive, kMaxKeepalive, uplink, out);
        const auto s = c.keepalive.count();
        if (s > kStudioMaxKeepalive && s <= kMaxKeepalive) {
            out.push_back({"keepalive", "onenet's device SDK guide says the heartbeat must not exceed 300s (got " +
                                            std::to_string(s) + "s)"});
        }
    }

    void fill(const CloudConfig& c, std::chrono::system_clock::time_point now, ConnectParams& p) const override {
        // A fresh token per attempt; et is 64-bit because dates past 2106 overflow 32 bits.
        using std::chrono::duration_cast;
        using std::chrono::seconds;
        const int64_t et = static_cast<int64_t>(duration_cast<seconds>(now.time_since_epoch()).count()) +
                           static_cast<int64_t>(duration_cast<seconds>(c.token_lifetime).count());
        p.client_id = c.device_name;
        p.username = c.product_id;
        p.password = onenet_token(resource(c), et, c.token_method, c.device_key).value_or("");
        p.ca_file = ca_file_for(c, "onenet-ca.pem");
    }

    std::string connack_meaning(int rc) const override {
        // The legacy spec's table; the MQTTS design notes report any authentication failure as 4.
        switch (rc) {
            case 1: return "unacceptable protocol version: onenet requires MQTT 3.1.1";
            case 2: return "invalid client id: it must be the device name";
            case 3: return "server unavailable";
            case 4: return "authentication failed: wrong product_id, device_name or device_key, or the token expired "
                           "(check the system clock)";
            case 5: return "illegal connection (e.g. an invalid token)";
            default: return standard_connack(rc);
        }
    }
    milliseconds connect_spacing() const override { return kOneNetConnectSpacing; }

    // QoS 2 and retain disconnect the device; a larger payload too (MQTTS protocol limits).
    int max_qos() const override { return 1; }
    bool retain_allowed() const override { return false; }
    size_t max_payload() const override { return 256 * 1024; }

    // At most 10 + 16 * 5 = 90 in any 5 s window against a ban at 101; 10 spare messages absorb
    // 600 ms of compression at 16/s. Studio delays uplink beyond 1 message/s to the next second --
    // latency, not loss -- so the default drains a backlog at the MQTTS ceiling; a session that
    // needs Studio's real-time timestamps sets `rate_limit: { per_second: 1, burst: 1 }`.
    RateLimit default_rate_limit() const override { return {16, 10}; }
    // More than 100 QoS 1 publishes in 5 s: disconnect and a 5-minute ban. QoS 0 allows 300, so
    // the QoS 1 figure bounds every mix.
    std::optional<RateCeiling> rate_ceiling() const override {
        return RateCeiling{100, 5, "get the device banned by onenet"};
    }

    std::span<const TopicTemplate> topic_templates() const override { return kTopics; }
    void add_topic_fields(const CloudConfig& c, TopicFields& f) const override {
        f["product_id"] = c.product_id;
        f["device_name"] = c.device_name;
    }
    // Publishing to a topic outside the device's own $sys/<product_id>/<device_name>/ disconnects it.
    std::string publish_topic_problem(std::string_view topic, const TopicFields& fields) const override {
        if (auto why = onenet_topic_charset_problem(topic); !why.empty()) return why;
        if (std::count(topic.begin(), topic.end(), '/') >= kMaxTopicLevels) return "onenet topics have at most 8 levels";
        const auto field = [&](const char* k) {
            const auto it = fields.find(k);
            return it == fields.end() ? std::string() : it->second;
        };
        const std::string own = "$sys/" + field("product_id") + "/" + field("device_name") + "/";
        if (!topic.starts_with(own)) return "onenet devices may only publish under " + own;
        return {};
    }

    bool thing_model() const override { return true; }

    std::string wrap_uplink(const UplinkFormat& f, std::string_view local_payload, uint64_t id,
                            int64_t time_ms) const override {
        auto local = parse_object(local_payload);
        if (!local) return {};
        Json out = post_head(id);
        // OneJSON: {value,time} per property, and an event's params under its identifier.
        if (f.kind == UplinkKind::property) {
            out["params"] = property_params(std::move(*local), time_ms);
        } else {
            Json params = Json::object();
            params[f.event_id] = stamped(std::move(*local), time_ms);
            out["params"] = std::move(params);
        }
        return dump(out);
    }

    std::span<const std::string_view> post_reply_templates() const override { return kPostReplies; }
    std::span<const char* const> reply_message_keys() const override { return kReplyMessageKeys; }
    std::span<const DownlinkRoute> downlink_routes() const override { return kRequests; }
    std::string_view request_prefix() const override { return "$sys/{product_id}/{device_name}/"; }

    std::expected<std::string, std::string> reply_payload(std::string_view local_payload) const override {
        auto answer = read_local_answer(local_payload);
        if (!answer) return std::unexpected(answer.error());
        // OneJSON: {"id","code","msg"[,"data"]}.
        const Json& local = answer->local;
        Json out = answer_head(*answer);
        auto msg = local.find("msg");
        if (msg == local.end() || !msg->is_string()) msg = local.find("message");
        if (msg != local.end() && msg->is_string()) {
            out["msg"] = *msg;
        } else {
            out["msg"] = answer->code == 200 ? "success" : "error";
        }
        if (const auto data = local.find("data"); data != local.end()) out["data"] = *data;
        return dump(out);
    }
};

}  // namespace

std::optional<Digest> onenet_digest(std::string_view method) {
    if (method == "sha256") return Digest::sha256;
    if (method == "sha1") return Digest::sha1;
    if (method == "md5") return Digest::md5;
    return std::nullopt;
}

std::string onenet_url_encode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char ch : s) {
        switch (ch) {
            case '+': out += "%2B"; break;
            case ' ': out += "%20"; break;
            case '/': out += "%2F"; break;
            case '?': out += "%3F"; break;
            case '%': out += "%25"; break;
            case '#': out += "%23"; break;
            case '&': out += "%26"; break;
            case '=': out += "%3D"; break;
            default: out += ch;
        }
    }
    return out;
}

std::optional<std::string> onenet_token(std::string_view res, int64_t expiry_unix_s, std::string_view method,
                                        std::string_view key_base64) {
    const auto digest = onenet_digest(method);
    const auto key = base64_decode(key_base64);
    if (!digest || !key) return std::nullopt;
    const std::string et = std::to_string(expiry_unix_s);
    // Values only, in the order of the sorted names et, method, res, version.
    const std::string to_sign =
        et + "\n" + std::string(method) + "\n" + std::string(res) + "\n" + kTokenVersion;
    const std::string sign = base64_encode(hmac(*digest, *key, to_sign));
    return "version=" + onenet_url_encode(kTokenVersion) + "&res=" + onenet_url_encode(res) +
           "&et=" + et + "&method=" + onenet_url_encode(method) + "&sign=" + onenet_url_encode(sign);
}

std::string onenet_topic_charset_problem(std::string_view topic) {
    const std::string_view body = topic.front() == '$' ? topic.substr(1) : topic;
    const bool charset_ok = std::all_of(body.begin(), body.end(), [](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '/' ||
               ch == '_' || ch == '-';
    });
    return charset_ok ? "" : "onenet topics may only contain letters, digits, / _ and - after a leading $";
}

const PlatformProfile& onenet_profile() {
    static const OnenetProfile kProfile;
    return kProfile;
}

}  // namespace cellgate::cloud::detail
