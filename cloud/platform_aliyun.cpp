// Alibaba Cloud IoT Platform, device triple ("一机一密"). The facts are from the platform's docs
// ("Connect over MQTT-TLS", "MQTT protocol specifications", "Device properties, events and
// services", the CONNACK troubleshooting page) and what its C Link SDK 4.x does.
#include <algorithm>
#include <array>

#include "cloud/payload_detail.hpp"
#include "cloud/platform_detail.hpp"
#include "cloud/platform_profile.hpp"

namespace cellgate::cloud::detail {
namespace {

// Port 1883 for TLS and plain TCP alike. The sources disagree: the endpoint page of legacy public
// instances gives 1883 or 443 for both; on current instances TLS on 1883 chains to GlobalSign
// Root CA R1, which we ship from Debian's public store, while 8883 chains to the private "Aliyun
// IoT Root CA" whose PEM we could not obtain from a source we can verify. 1883 is the one port
// every instance type documents. If a carrier blocks it, endpoint: host:443 works too.
constexpr uint16_t kPort = 1883;
constexpr int kMinKeepalive = 30;  // "Connect over MQTT-TLS"
constexpr int kMaxKeepalive = 1200;
constexpr size_t kMaxClientId = 64;
constexpr size_t kMaxTopic = 128;  // Link SDK 4.x refuses 128 bytes and more

constexpr std::string_view kSignMethods[] = {"hmacsha256", "hmacsha1", "hmacmd5"};
constexpr ConfigKey kKeys[] = {
    {.name = "product_key", .kind = ConfigKey::Kind::text, .text = &CloudConfig::product_key, .max_len = 64},
    {.name = "device_name", .kind = ConfigKey::Kind::text, .text = &CloudConfig::device_name, .max_len = 64},
    {.name = "device_secret", .kind = ConfigKey::Kind::secret, .text = &CloudConfig::device_secret},
    {.name = "region", .kind = ConfigKey::Kind::label, .text = &CloudConfig::region},
    {.name = "instance", .kind = ConfigKey::Kind::label, .text = &CloudConfig::instance},
    {.name = "sign_method", .kind = ConfigKey::Kind::choice, .text = &CloudConfig::sign_method,
     .choices = kSignMethods},
    {.name = "client_id", .kind = ConfigKey::Kind::text, .text = &CloudConfig::client_id, .max_len = 256},
};

using D = TopicDirection;
// The thing-model topics of "Device properties, events and services" and Link SDK 4.x
// (aiot_dm_api.c). Replies to the platform's requests end in "_reply" within the same level.
constexpr std::array kTopics{
    TopicTemplate{"property_post", "/sys/{product_key}/{device_name}/thing/event/property/post", D::up},
    TopicTemplate{"property_post_reply", "/sys/{product_key}/{device_name}/thing/event/property/post_reply", D::down},
    TopicTemplate{"property_batch_post", "/sys/{product_key}/{device_name}/thing/event/property/batch/post", D::up},
    TopicTemplate{"property_batch_post_reply", "/sys/{product_key}/{device_name}/thing/event/property/batch/post_reply",
                  D::down},
    TopicTemplate{"event_post", "/sys/{product_key}/{device_name}/thing/event/{event_id}/post", D::up},
    TopicTemplate{"event_post_reply", "/sys/{product_key}/{device_name}/thing/event/{event_id}/post_reply", D::down},
    TopicTemplate{"property_set", "/sys/{product_key}/{device_name}/thing/service/property/set", D::down},
    TopicTemplate{"property_set_reply", "/sys/{product_key}/{device_name}/thing/service/property/set_reply", D::up},
    TopicTemplate{"service_call", "/sys/{product_key}/{device_name}/thing/service/{service_id}", D::down},
    TopicTemplate{"service_reply", "/sys/{product_key}/{device_name}/thing/service/{service_id}_reply", D::up},
    TopicTemplate{"desired_get", "/sys/{product_key}/{device_name}/thing/property/desired/get", D::up},
    TopicTemplate{"desired_get_reply", "/sys/{product_key}/{device_name}/thing/property/desired/get_reply", D::down},
    TopicTemplate{"rrpc_request", "/sys/{product_key}/{device_name}/rrpc/request/{message_id}", D::down},
    TopicTemplate{"rrpc_response", "/sys/{product_key}/{device_name}/rrpc/response/{message_id}", D::up},
    TopicTemplate{"ntp_request", "/ext/ntp/{product_key}/{device_name}/request", D::up},
    TopicTemplate{"ntp_response", "/ext/ntp/{product_key}/{device_name}/response", D::down},
    TopicTemplate{"user_update", "/{product_key}/{device_name}/user/update", D::up},
    TopicTemplate{"user_get", "/{product_key}/{device_name}/user/get", D::down},
};

// "event/+/post_reply" also covers "event/property/post_reply", and one filter avoids the
// duplicate deliveries that overlapping subscriptions get from some brokers.
constexpr std::string_view kPostReplies[] = {"event_post_reply"};
constexpr const char* kReplyMessageKeys[] = {"message", "msg"};
// Property set and service calls are Alink JSON; the /sys RRPC carries whatever the caller sent.
constexpr DownlinkRoute kRequests[] = {
    {"property_set", "property_set_reply", true},
    {"service_call", "service_reply", true},
    {"rrpc_request", "rrpc_response", false},
};

bool hostname_label(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-';
    });
}

// '|' ',' '=' delimit the clientId extension and '&' the username; a blank or control byte would
// make either unreadable to the platform.
bool safe_in_credentials(std::string_view s) {
    return std::none_of(s.begin(), s.end(), [](char ch) {
        return ch == '|' || ch == ',' || ch == '=' || ch == '&' || static_cast<unsigned char>(ch) <= ' ';
    });
}

// What the console generates ("How do I obtain MQTT parameters for authentication"); an explicit
// client_id is free text up to 64.
std::string base_client_id(const CloudConfig& c) {
    return c.client_id.empty() ? c.product_key + "." + c.device_name : c.client_id;
}

class AliyunProfile final : public PlatformProfile {
public:
    Platform id() const override { return Platform::aliyun; }
    const char* name() const override { return "aliyun"; }

    std::span<const ConfigKey> config_keys() const override { return kKeys; }

    std::string endpoint(const CloudConfig& c) const override {
        if (!c.endpoint.empty()) return with_default_port(c.endpoint, kPort);
        const std::string port = ":" + std::to_string(kPort);
        // New public and Enterprise instances; the instance wins when both are given.
        if (!c.instance.empty()) return c.instance + ".mqtt.iothub.aliyuncs.com" + port;
        // Legacy public instance.
        if (!c.region.empty() && !c.product_key.empty()) {
            return c.product_key + ".iot-as-mqtt." + c.region + ".aliyuncs.com" + port;
        }
        return {};
    }

    void rules(const CloudConfig& c, std::vector<RuleViolation>& out) const override {
        require(c.product_key, "product_key", "product_key", c, out);
        require(c.device_name, "device_name", "device_name", c, out);
        require(c.device_secret, "device_secret", "device_secret or device_secret_file", c, out);
        if (c.endpoint.empty() && c.region.empty() && c.instance.empty()) {
            out.push_back({"region", "aliyun requires region (legacy public instance), instance or endpoint"});
        }
        if (!hostname_label(c.region)) {
            out.push_back({"region", "aliyun region must be a host name label such as cn-shanghai"});
        }
        if (!hostname_label(c.instance)) {
            out.push_back({"instance", "aliyun instance must be an instance id such as iot-06z00abc"});
        }
        if (!aliyun_digest(c.sign_method)) {
            out.push_back({"sign_method", "aliyun sign_method must be hmacsha256, hmacsha1 or hmacmd5 (got \"" +
                                              c.sign_method + "\")"});
        }
        check_keepalive(c, kMinKeepalive, kMaxKeepalive, out);
        const char* id_key = c.client_id.empty() ? "device_name" : "client_id";
        const std::string id = base_client_id(c);
        if (id.size() > kMaxClientId) {
            out.push_back({id_key, "aliyun allows a clientId of at most 64 characters; \"" + id + "\" has " +
                                       std::to_string(id.size())});
        }
        if (!safe_in_credentials(c.product_key) || !safe_in_credentials(c.device_name) ||
            !safe_in_credentials(c.client_id)) {
            out.push_back({id_key, "aliyun product_key, device_name and client_id must not contain | , = & or blanks "
                                   "(they delimit the CONNECT clientId and username)"});
        }
    }

    void warnings(const CloudConfig& c, Uplink uplink, std::vector<RuleViolation>& out) const override {
        warn_cellular_keepalive(c, kMinKeepalive, kMaxKeepalive, uplink, out);
        if (!c.tls.enabled) {
            out.push_back({"tls", "aliyun refuses plain TCP for devices created since 2022-08-02 and on new "
                                  "instances by default; enable tls"});
        }
        if (c.endpoint.empty() && !c.region.empty() && !c.instance.empty()) {
            out.push_back({"region", "both region and instance are set; the instance endpoint is used"});
        }
    }

    void fill(const CloudConfig& c, std::chrono::system_clock::time_point now, ConnectParams& p) const override {
        // No freshness check is known (the C SDKs send a fixed 2050 timestamp), so a clock that
        // is not yet set is harmless here.
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
        const auto creds = aliyun_sign(base_client_id(c), c.product_key, c.device_name, c.device_secret,
                                       c.sign_method, std::to_string(ms < 0 ? 0 : ms), c.tls.enabled);
        p.client_id = creds.client_id;
        p.username = creds.username;
        p.password = creds.password;
        p.ca_file = ca_file_for(c, "aliyun-ca.pem");
    }

    std::string connack_meaning(int rc) const override {
        // The CONNACK troubleshooting page; Link SDK 4.x's note on rc 2 is why keepalive is there.
        switch (rc) {
            case 1: return "unacceptable protocol version (aliyun speaks MQTT 3.1.1; 5.0 only on Enterprise instances)";
            case 2: return "identifier rejected: the clientId is malformed (too long or bad extension parameters); "
                           "a keepalive outside 30-1200s is also reported this way";
            case 3: return "server unavailable: the network is up but the aliyun MQTT service is not";
            case 4: return "bad user name or password: wrong product_key, device_name or device_secret, or a bad "
                           "signature";
            case 5: return "not authorized: the platform refused this device (wrong triple, or device disabled or "
                           "deleted)";
            default: return standard_connack(rc);
        }
    }

    // QoS 2, will and retain are unsupported ("MQTT protocol specifications").
    int max_qos() const override { return 1; }
    bool retain_allowed() const override { return false; }
    // The published limit could not be retrieved: Link SDK 4.x allows 1 MiB, the often-quoted
    // figure is 256 KB. Take the smaller so we never trip the real one.
    size_t max_payload() const override { return 256 * 1024; }

    // At most 5 + 20 = 25 in any 1 s window against a ceiling of 30. The platform counts arrivals,
    // not sends: a radio stall that releases queued packets together compresses the sender's
    // spacing, and the 5 spare messages absorb 250 ms of that at 20/s.
    RateLimit default_rate_limit() const override { return {20, 5}; }
    // "Multiple connections for a single device": 30 messages per second per device, the excess
    // is dropped.
    std::optional<RateCeiling> rate_ceiling() const override { return RateCeiling{30, 1, "are dropped by aliyun"}; }

    std::span<const TopicTemplate> topic_templates() const override { return kTopics; }
    void add_topic_fields(const CloudConfig& c, TopicFields& f) const override {
        f["product_key"] = c.product_key;
        f["device_name"] = c.device_name;
    }
    std::string publish_topic_problem(std::string_view topic, const TopicFields&) const override {
        return topic.size() >= kMaxTopic ? "aliyun topics must be shorter than 128 bytes" : "";
    }

    bool thing_model() const override { return true; }

    std::string wrap_uplink(const UplinkFormat& f, std::string_view local_payload, uint64_t id,
                            int64_t time_ms) const override {
        auto local = parse_object(local_payload);
        if (!local) return {};
        Json out = post_head(id);
        // Explicit: replies are what Accepted/Rejected count, and the default when "sys" is absent
        // is not documented (ack 1 = reply, 0 = none).
        out["sys"] = Json{{"ack", 1}};
        // {value,time} so a queued message keeps the time it was accepted, not the time the link
        // came back (the flat form would be allowed too).
        const bool property = f.kind == UplinkKind::property;
        out["params"] = property ? property_params(std::move(*local), time_ms) : stamped(std::move(*local), time_ms);
        out["method"] = property ? std::string("thing.event.property.post") : "thing.event." + f.event_id + ".post";
        return dump(out);
    }

    std::span<const std::string_view> post_reply_templates() const override { return kPostReplies; }
    std::span<const char* const> reply_message_keys() const override { return kReplyMessageKeys; }
    std::span<const DownlinkRoute> downlink_routes() const override { return kRequests; }
    std::string_view request_prefix() const override { return "/sys/{product_key}/{device_name}/"; }

    std::expected<std::string, std::string> reply_payload(std::string_view local_payload) const override {
        auto answer = read_local_answer(local_payload);
        if (!answer) return std::unexpected(answer.error());
        // {"id","code","data"}, as Link SDK 4.x's ALINK_RESPONSE_FMT.
        Json out = answer_head(*answer);
        const auto data = answer->local.find("data");
        out["data"] = data != answer->local.end() ? *data : Json::object();
        return dump(out);
    }
};

}  // namespace

std::optional<Digest> aliyun_digest(std::string_view sign_method) {
    if (sign_method == "hmacsha256") return Digest::sha256;
    if (sign_method == "hmacsha1") return Digest::sha1;
    if (sign_method == "hmacmd5") return Digest::md5;
    return std::nullopt;
}

AliyunCredentials aliyun_sign(std::string_view client_id, std::string_view product_key,
                              std::string_view device_name, std::string_view device_secret,
                              std::string_view sign_method, std::string_view timestamp, bool tls) {
    AliyunCredentials out;
    out.client_id = std::string(client_id) + "|securemode=" + (tls ? "2" : "3") +
                    ",signmethod=" + std::string(sign_method) + ",timestamp=" + std::string(timestamp) + "|";
    out.username = std::string(device_name) + "&" + std::string(product_key);
    // Parameter names in dictionary order, names and values concatenated.
    const std::string content = "clientId" + std::string(client_id) + "deviceName" + std::string(device_name) +
                                "productKey" + std::string(product_key) + "timestamp" + std::string(timestamp);
    // Upper case like the published vector and the C SDKs; the platform ignores the case.
    if (const auto d = aliyun_digest(sign_method)) out.password = to_hex(hmac(*d, device_secret, content), true);
    return out;
}

const PlatformProfile& aliyun_profile() {
    static const AliyunProfile kProfile;
    return kProfile;
}

}  // namespace cellgate::cloud::detail
