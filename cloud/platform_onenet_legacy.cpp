// China Mobile OneNET's legacy multi-protocol MQTT access on port 6002: numeric device ID,
// product ID and auth_info in plain text, data points on $dp, commands on $creq/$crsp. The facts
// are from OneNET's "device terminal access protocol - MQTT" (V2.6) and its FAQ.
#include <algorithm>
#include <array>

#include "cloud/platform_detail.hpp"
#include "cloud/platform_profile.hpp"

namespace cellgate::cloud::detail {
namespace {

constexpr const char* kEndpoint = "mqtt.heclouds.com:6002";  // plain TCP only
constexpr uint16_t kPort = 6002;
// The spec says 120..65535, the FAQ 1..1200; the intersection satisfies both.
constexpr int kMinKeepalive = 120;
constexpr int kMaxKeepalive = 1200;

constexpr ConfigKey kKeys[] = {
    {.name = "product_id", .kind = ConfigKey::Kind::text, .text = &CloudConfig::product_id, .max_len = 64},
    {.name = "device_id", .kind = ConfigKey::Kind::text, .text = &CloudConfig::device_id, .max_len = 64},
    {.name = "auth_info", .kind = ConfigKey::Kind::secret, .text = &CloudConfig::auth_info},
};

using D = TopicDirection;
// Commands arrive without a SUBSCRIBE (devices cannot subscribe to $ topics).
constexpr std::array kTopics{
    TopicTemplate{"dp", "$dp", D::up},
    TopicTemplate{"cmd_request", "$creq/{cmd_id}", D::down},
    TopicTemplate{"cmd_response", "$crsp/{cmd_id}", D::up},
};
// $creq/<uuid> is answered on $crsp/<uuid>, opaque both ways.
constexpr DownlinkRoute kRequests[] = {{"cmd_request", "cmd_response", false}};

class OnenetLegacyProfile final : public PlatformProfile {
public:
    Platform id() const override { return Platform::onenet_legacy; }
    const char* name() const override { return "onenet-legacy"; }

    std::span<const ConfigKey> config_keys() const override { return kKeys; }

    std::string endpoint(const CloudConfig& c) const override {
        return c.endpoint.empty() ? kEndpoint : with_default_port(c.endpoint, kPort);
    }

    void rules(const CloudConfig& c, std::vector<RuleViolation>& out) const override {
        require(c.product_id, "product_id", "product_id", c, out);
        require(c.device_id, "device_id", "device_id (the numeric device ID)", c, out);
        require(c.auth_info, "auth_info", "auth_info or auth_info_file", c, out);
        if (!std::all_of(c.device_id.begin(), c.device_id.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
            out.push_back({"device_id", "onenet-legacy device_id is the numeric device ID"});
        }
        if (c.tls.enabled) {
            out.push_back({"tls", "onenet-legacy (port 6002) is plain TCP only; use platform: onenet for TLS"});
        }
        check_keepalive(c, kMinKeepalive, kMaxKeepalive, out);
    }

    void warnings(const CloudConfig& c, Uplink uplink, std::vector<RuleViolation>& out) const override {
        warn_cellular_keepalive(c, kMinKeepalive, kMaxKeepalive, uplink, out);
        out.push_back({"platform", "onenet-legacy sends auth_info unencrypted and is not offered to new products; "
                                   "prefer platform: onenet"});
    }

    void fill(const CloudConfig& c, std::chrono::system_clock::time_point, ConnectParams& p) const override {
        p.client_id = c.device_id;
        p.username = c.product_id;
        p.password = c.auth_info;
        p.ca_file = ca_file_for(c, "");
    }

    std::string connack_meaning(int rc) const override {
        switch (rc) {  // the legacy spec's CONNACK table
            case 1: return "unacceptable protocol version: onenet-legacy requires MQTT 3.1.1";
            case 2: return "invalid client id: it must be the numeric device ID";
            case 3: return "server unavailable";
            case 4: return "bad user name or password: wrong product_id or auth_info";
            case 5: return "illegal connection";
            default: return standard_connack(rc);
        }
    }
    milliseconds connect_spacing() const override { return kOneNetConnectSpacing; }

    // $dp takes QoS 0..2 but no retain; a type-2 binary data point carries up to 3 MB.
    int max_qos() const override { return 2; }
    bool retain_allowed() const override { return false; }
    size_t max_payload() const override { return 3 * 1024 * 1024; }
    // No rate limit is documented: the defaults (unlimited, no ceiling) apply.

    std::span<const TopicTemplate> topic_templates() const override { return kTopics; }
    void add_topic_fields(const CloudConfig& c, TopicFields& f) const override {
        f["product_id"] = c.product_id;
        f["device_id"] = c.device_id;
    }
    std::string publish_topic_problem(std::string_view topic, const TopicFields&) const override {
        return onenet_topic_charset_problem(topic);
    }

    std::span<const DownlinkRoute> downlink_routes() const override { return kRequests; }
    bool subscribes_to_requests() const override { return false; }
    std::string_view request_prefix() const override { return "$"; }
};

}  // namespace

const PlatformProfile& onenet_legacy_profile() {
    static const OnenetLegacyProfile kProfile;
    return kProfile;
}

}  // namespace cellgate::cloud::detail
