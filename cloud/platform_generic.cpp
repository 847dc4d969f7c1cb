// Any MQTT 3.1.1 broker (mosquitto, EMQX, AWS IoT Core...): username/password and/or a TLS client
// certificate, verified against the configured CA or the system store. No thing model, no topics
// of its own: the routes name them.
#include "cloud/platform_detail.hpp"
#include "cloud/platform_profile.hpp"

namespace cellgate::cloud::detail {
namespace {

constexpr uint16_t kPort = 1883;
constexpr uint16_t kTlsPort = 8883;
constexpr int kMinKeepalive = 10;
constexpr int kMaxKeepalive = 65535;  // a 16-bit field in CONNECT
constexpr size_t kPortableClientId = 23;  // MQTT 3.1.1 §3.1.3.1: what every broker must accept

constexpr ConfigKey kKeys[] = {
    {.name = "client_id", .kind = ConfigKey::Kind::text, .text = &CloudConfig::client_id, .max_len = 256},
    {.name = "username", .kind = ConfigKey::Kind::text, .text = &CloudConfig::username, .max_len = 256},
    {.name = "password", .kind = ConfigKey::Kind::secret, .text = &CloudConfig::password},
};

class GenericProfile final : public PlatformProfile {
public:
    Platform id() const override { return Platform::generic; }
    const char* name() const override { return "generic"; }

    std::span<const ConfigKey> config_keys() const override { return kKeys; }

    std::string endpoint(const CloudConfig& c) const override {
        return with_default_port(c.endpoint, c.tls.enabled ? kTlsPort : kPort);
    }

    void rules(const CloudConfig& c, std::vector<RuleViolation>& out) const override {
        require(c.endpoint, "endpoint", "endpoint (host:port)", c, out);
        require(c.client_id, "client_id", "client_id", c, out);
        if (c.client_id.find('\0') != std::string::npos || c.client_id.size() > 65535) {
            out.push_back({"client_id", "client_id must be at most 65535 bytes without NUL characters"});
        }
        if (!c.password.empty() && c.username.empty()) {
            out.push_back({"password", "MQTT 3.1.1 sends a password only with a username (§3.1.2.9)"});
        }
        check_keepalive(c, kMinKeepalive, kMaxKeepalive, out);
    }

    void warnings(const CloudConfig& c, Uplink uplink, std::vector<RuleViolation>& out) const override {
        warn_cellular_keepalive(c, kMinKeepalive, kMaxKeepalive, uplink, out);
        if (c.client_id.size() > kPortableClientId) {
            out.push_back({"client_id", "client_id is longer than 23 characters; MQTT 3.1.1 brokers need not accept it"});
        }
        if (!c.tls.enabled && !c.password.empty()) {
            out.push_back({"tls", "the password is sent unencrypted; enable tls"});
        }
    }

    void fill(const CloudConfig& c, std::chrono::system_clock::time_point, ConnectParams& p) const override {
        p.client_id = c.client_id;
        p.username = c.username;
        p.password = c.password;
        p.ca_file = ca_file_for(c, "");
    }

    int max_qos() const override { return 2; }
    bool retain_allowed() const override { return true; }
    // The largest remaining length, less the topic's length field and the packet id.
    size_t max_payload() const override { return 268'435'455 - 2 - 65'535 - 2; }

    void add_topic_fields(const CloudConfig& c, TopicFields& f) const override {
        f["client_id"] = c.client_id;
        // A generic broker has no device name of its own; the client id is what identifies the
        // gateway there, and routes written for a platform keep working.
        f["device_name"] = c.device_name.empty() ? c.client_id : c.device_name;
    }
};

}  // namespace

const PlatformProfile& generic_profile() {
    static const GenericProfile kProfile;
    return kProfile;
}

}  // namespace cellgate::cloud::detail
