// China Mobile OneNET: the MQTTS / current platform with the 2018-10-31 token, and the legacy
// port-6002 access. Facts and section numbers: /work/shared/reference/onenet.md.
#include <algorithm>

#include "cloud/platform_detail.hpp"

namespace cellgate::cloud::detail {
namespace {

// The fixed domains rather than the per-product "smart domain" ({pid}.mqtts.acc.cmcconenet.cn,
// §1.1): the official SDK v2.1.3 defaults to them and its readme says they remain usable, they
// serve every product (the smart domain exists only for products created since 2024-11-08), and
// the CA we ship (CN=OneNET MQTTS) is the one documented for them. endpoint: overrides.
constexpr const char* kHost = "mqtts.heclouds.com";
constexpr const char* kTlsHost = "mqttstls.heclouds.com";
constexpr uint16_t kPort = 1883;
constexpr uint16_t kTlsPort = 8883;
constexpr int kMinKeepalive = 10;    // §3.1 / §5.1: outside is disconnected
constexpr int kMaxKeepalive = 1800;
constexpr int kStudioMaxKeepalive = 300;  // Studio SDK guide §4.4
constexpr const char* kTokenVersion = "2018-10-31";  // the only version for devices (§2.1)

constexpr const char* kLegacyEndpoint = "mqtt.heclouds.com:6002";  // §6, plain TCP only
constexpr uint16_t kLegacyPort = 6002;
// §6: the spec says 120..65535, the FAQ 1..1200; the intersection satisfies both.
constexpr int kLegacyMinKeepalive = 120;
constexpr int kLegacyMaxKeepalive = 1200;

bool all_of(std::string_view s, bool extra_dash_underscore) {
    return std::all_of(s.begin(), s.end(), [&](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
               (extra_dash_underscore && (ch == '-' || ch == '_'));
    });
}

std::string with_default_port(const std::string& endpoint, uint16_t port) {
    auto hp = parse_endpoint(endpoint);
    if (!hp) return endpoint;
    if (hp->port == 0) hp->port = port;
    return join_endpoint(*hp);
}

std::string resource(const CloudConfig& c) { return "products/" + c.product_id + "/devices/" + c.device_name; }

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
    // Values only, in the order of the sorted names et, method, res, version (§2.2).
    const std::string to_sign =
        et + "\n" + std::string(method) + "\n" + std::string(res) + "\n" + kTokenVersion;
    const std::string sign = base64_encode(hmac(*digest, *key, to_sign));
    return "version=" + onenet_url_encode(kTokenVersion) + "&res=" + onenet_url_encode(res) +
           "&et=" + et + "&method=" + onenet_url_encode(method) + "&sign=" + onenet_url_encode(sign);
}

std::string onenet_endpoint(const CloudConfig& c) {
    const uint16_t port = c.tls.enabled ? kTlsPort : kPort;
    if (!c.endpoint.empty()) return with_default_port(c.endpoint, port);
    return std::string(c.tls.enabled ? kTlsHost : kHost) + ":" + std::to_string(port);
}

void onenet_rules(const CloudConfig& c, std::vector<RuleViolation>& out) {
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
        // The topic charset is ^[a-zA-Z0-9/_-]+$ and the device name is part of every topic (§4).
        out.push_back({"device_name", "onenet device_name may only contain letters, digits, _ and -"});
    }
    if (!onenet_digest(c.token_method)) {
        out.push_back({"token_method", "onenet token_method must be sha256, sha1 or md5 (got \"" + c.token_method + "\")"});
    }
    if (c.token_lifetime < std::chrono::minutes(1)) {
        out.push_back({"token_lifetime", "onenet token_lifetime must be at least 60s: the token is signed at every "
                                         "connect and must outlive the attempt"});
    }
    check_keepalive(c, kMinKeepalive, kMaxKeepalive, out);
}

void onenet_warnings(const CloudConfig& c, std::vector<RuleViolation>& out) {
    warn_cellular_keepalive(c, kMaxKeepalive, out);
    const long s = keepalive_seconds(c);
    if (s > kStudioMaxKeepalive && s <= kMaxKeepalive) {
        out.push_back({"keepalive", "onenet's device SDK guide says the heartbeat must not exceed 300s (got " +
                                        std::to_string(s) + "s)"});
    }
}

void onenet_fill(const CloudConfig& c, std::chrono::system_clock::time_point now, ConnectParams& p) {
    // A fresh token per attempt; et is 64-bit because dates past 2106 overflow 32 bits (§2.5).
    using std::chrono::duration_cast;
    using std::chrono::seconds;
    const int64_t et = static_cast<int64_t>(duration_cast<seconds>(now.time_since_epoch()).count()) +
                       static_cast<int64_t>(duration_cast<seconds>(c.token_lifetime).count());
    p.client_id = c.device_name;
    p.username = c.product_id;
    p.password = onenet_token(resource(c), et, c.token_method, c.device_key).value_or("");
    p.ca_file = ca_file_for(c, "onenet-ca.pem");
}

std::string onenet_connack(int rc) {
    // §5.3: legacy spec table; the MQTTS design doc reports any authentication failure as 4.
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

std::string onenet_legacy_endpoint(const CloudConfig& c) {
    return c.endpoint.empty() ? kLegacyEndpoint : with_default_port(c.endpoint, kLegacyPort);
}

void onenet_legacy_rules(const CloudConfig& c, std::vector<RuleViolation>& out) {
    require(c.product_id, "product_id", "product_id", c, out);
    require(c.device_id, "device_id", "device_id (the numeric device ID)", c, out);
    require(c.auth_info, "auth_info", "auth_info or auth_info_file", c, out);
    if (!std::all_of(c.device_id.begin(), c.device_id.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
        out.push_back({"device_id", "onenet-legacy device_id is the numeric device ID"});
    }
    if (c.tls.enabled) {
        out.push_back({"tls", "onenet-legacy (port 6002) is plain TCP only; use platform: onenet for TLS"});
    }
    check_keepalive(c, kLegacyMinKeepalive, kLegacyMaxKeepalive, out);
}

void onenet_legacy_warnings(const CloudConfig& c, std::vector<RuleViolation>& out) {
    warn_cellular_keepalive(c, kLegacyMaxKeepalive, out);
    out.push_back({"platform", "onenet-legacy sends auth_info unencrypted and is not offered to new products; "
                               "prefer platform: onenet"});
}

void onenet_legacy_fill(const CloudConfig& c, ConnectParams& p) {
    p.client_id = c.device_id;
    p.username = c.product_id;
    p.password = c.auth_info;
    p.ca_file = ca_file_for(c, "");
}

std::string onenet_legacy_connack(int rc) {
    switch (rc) {  // legacy spec §4.2, reference §5.3
        case 1: return "unacceptable protocol version: onenet-legacy requires MQTT 3.1.1";
        case 2: return "invalid client id: it must be the numeric device ID";
        case 3: return "server unavailable";
        case 4: return "bad user name or password: wrong product_id or auth_info";
        case 5: return "illegal connection";
        default: return standard_connack(rc);
    }
}

}  // namespace cellgate::cloud::detail
