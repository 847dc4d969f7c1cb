// A cloud platform as one object, as modem/vendor.hpp makes a modem vendor one: the keys its
// config entry takes, its endpoint, rules and CONNECT fields, what its CONNACK codes mean, its
// publish limits, topics and message formats. One cloud/platform_<name>.cpp per platform, listed
// in cloud/platform_registry.cpp; the rest of the code asks the profile, never switches on Platform.
// The free functions in platform.hpp, topics.hpp, payload.hpp, rate_limit.hpp and backoff.hpp
// take a Platform and hand the platform's part to its profile.
#pragma once

#include <chrono>
#include <cstddef>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cloud/cloud_config.hpp"
#include "cloud/payload.hpp"
#include "cloud/platform.hpp"
#include "cloud/rate_limit.hpp"
#include "cloud/topics.hpp"

namespace cellgate::cloud {

// One key a platform accepts under its `cloud:` entry (besides the keys every entry takes), and
// how the config reader reads it into CloudConfig.
struct ConfigKey {
    enum class Kind {
        text,      // 1..max_len characters, no control characters
        secret,    // inline or from the file named by `<name>_file` (exactly one); never echoed
        label,     // a host name label (A-Z a-z 0-9 -)
        choice,    // one of `choices`
        duration,  // within [min, max]
    };
    std::string_view name;
    Kind kind = Kind::text;
    std::string CloudConfig::*text = nullptr;  // text, secret, label, choice
    size_t max_len = 0;                        // text
    std::span<const std::string_view> choices = {};
    milliseconds CloudConfig::*duration = nullptr;
    milliseconds min{0};
    milliseconds max{0};
};

// A documented publish ceiling: more than `messages` in any `window_s` seconds and `consequence`.
struct RateCeiling {
    double messages = 0;
    double window_s = 1;
    std::string_view consequence;  // e.g. "are dropped by aliyun"
};

// A request the platform sends the device and the topic its answer goes to (template names).
struct DownlinkRoute {
    std::string_view request;
    std::string_view reply;
    bool json = true;        // false: opaque bytes both ways
    size_t max_reply = 0;    // bytes an opaque answer must stay under; 0 = only the platform's max_payload
};

class PlatformProfile {
public:
    virtual ~PlatformProfile() = default;
    virtual Platform id() const = 0;
    // The config's `platform:` value, in logs and on D-Bus ("aliyun", "onenet-legacy", ...).
    virtual const char* name() const = 0;

    // ---- configuration ----
    virtual std::span<const ConfigKey> config_keys() const = 0;
    // "host:port" the session connects to: the configured endpoint (with the platform's default
    // port), else the platform's own address; "" when the config gives nothing to go on.
    virtual std::string endpoint(const CloudConfig& c) const = 0;
    // The platform's documented rules (required fields, keepalive range, ...), appended to `out`.
    virtual void rules(const CloudConfig& c, std::vector<RuleViolation>& out) const = 0;
    // Non-fatal advice, appended to `out`.
    virtual void warnings(const CloudConfig& c, Uplink uplink, std::vector<RuleViolation>& out) const = 0;

    // ---- connecting ----
    // Client id, user name, password (signed at `now`, wall clock) and the CA file.
    virtual void fill(const CloudConfig& c, std::chrono::system_clock::time_point now, ConnectParams& p) const = 0;
    // The platform's meaning of a CONNACK return code; MQTT 3.1.1's table unless it says more.
    virtual std::string connack_meaning(int rc) const;
    // The floor between two connect attempts, below the platform's login limit.
    virtual milliseconds connect_spacing() const;

    // ---- publishing ----
    virtual int max_qos() const = 0;
    virtual bool retain_allowed() const = 0;
    virtual size_t max_payload() const = 0;  // bytes
    virtual RateLimit default_rate_limit() const;  // unlimited unless overridden
    virtual std::optional<RateCeiling> rate_ceiling() const;  // none unless documented

    // ---- topics ----
    virtual std::span<const TopicTemplate> topic_templates() const;  // none unless overridden
    // Adds the config's ids under the names the templates use (`name` is already there).
    virtual void add_topic_fields(const CloudConfig& c, TopicFields& f) const = 0;
    // "" when the device `fields` names may publish `topic` (a valid MQTT topic name), else why not.
    virtual std::string publish_topic_problem(std::string_view topic, const TopicFields& fields) const;

    // ---- messages (only a platform with a thing model wraps and parses) ----
    // Whether property and event posts mean something here.
    virtual bool thing_model() const;
    // A property or event post in the platform's format (payload.hpp wrap_uplink()).
    virtual std::string wrap_uplink(const UplinkFormat& f, std::string_view local_payload, uint64_t id,
                                    int64_t time_ms) const;
    // Templates of the platform's replies to posts, subscribed to count them.
    virtual std::span<const std::string_view> post_reply_templates() const;
    // The reply's text field: the first of these that is a string.
    virtual std::span<const char* const> reply_message_keys() const;
    // The requests the platform sends and where each is answered.
    virtual std::span<const DownlinkRoute> downlink_routes() const;
    // Whether the device subscribes to those requests (or the platform delivers them unasked).
    virtual bool subscribes_to_requests() const;
    // What is stripped from a request topic to name it locally, as a template: a trailing '/' is
    // kept after expansion. Empty when the platform sends no requests.
    virtual std::string_view request_prefix() const;
    // The platform's JSON answer to a request from the local application's answer.
    virtual std::expected<std::string, std::string> reply_payload(std::string_view local_payload) const;
};

// The profile of `p`, from the registry.
const PlatformProfile& profile(Platform p);
// Every platform, in the order the config's messages list them.
std::span<const PlatformProfile* const> platform_profiles();

}  // namespace cellgate::cloud
