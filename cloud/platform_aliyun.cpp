// Alibaba Cloud IoT Platform, device triple ("一机一密"). Facts and section numbers:
// /work/shared/reference/aliyun.md.
#include <algorithm>

#include "cloud/platform_detail.hpp"

namespace cellgate::cloud::detail {
namespace {

// Port 1883 for TLS and plain TCP alike. The sources disagree (reference §2.3): legacy public
// instances take 1883 or 443 for both (Doc-Endpoint); on current instances TLS on 1883 chains to
// GlobalSign Root CA R1, which we ship from Debian's public store, while 8883 chains to the
// private "Aliyun IoT Root CA" whose PEM we could not obtain from a source we can verify. 1883 is
// the one port every instance type documents. If a carrier blocks it, endpoint: host:443 works too.
constexpr uint16_t kPort = 1883;
constexpr int kMinKeepalive = 30;    // Doc-TLS, §3.1
constexpr int kMaxKeepalive = 1200;
constexpr size_t kMaxClientId = 64;  // Doc-TLS, §1.1

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
    // Parameter names in dictionary order, names and values concatenated (§1.1).
    const std::string content = "clientId" + std::string(client_id) + "deviceName" + std::string(device_name) +
                                "productKey" + std::string(product_key) + "timestamp" + std::string(timestamp);
    // Upper case like the published vector and the C SDKs; the platform ignores the case (§1.1).
    if (const auto d = aliyun_digest(sign_method)) out.password = to_hex(hmac(*d, device_secret, content), true);
    return out;
}

std::string aliyun_base_client_id(const CloudConfig& c) {
    // What the console generates (Doc-Param, §1.1); an explicit client_id is free text up to 64.
    return c.client_id.empty() ? c.product_key + "." + c.device_name : c.client_id;
}

std::string aliyun_endpoint(const CloudConfig& c) {
    if (!c.endpoint.empty()) {
        auto hp = parse_endpoint(c.endpoint);
        if (!hp) return c.endpoint;
        if (hp->port == 0) hp->port = kPort;
        return join_endpoint(*hp);
    }
    const std::string port = ":" + std::to_string(kPort);
    // New public and Enterprise instances (§2.2); the instance wins when both are given.
    if (!c.instance.empty()) return c.instance + ".mqtt.iothub.aliyuncs.com" + port;
    // Legacy public instance (§2.1).
    if (!c.region.empty() && !c.product_key.empty()) {
        return c.product_key + ".iot-as-mqtt." + c.region + ".aliyuncs.com" + port;
    }
    return {};
}

void aliyun_rules(const CloudConfig& c, std::vector<RuleViolation>& out) {
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
    const std::string id = aliyun_base_client_id(c);
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

void aliyun_warnings(const CloudConfig& c, std::vector<RuleViolation>& out) {
    warn_cellular_keepalive(c, kMaxKeepalive, out);
    if (!c.tls.enabled) {
        out.push_back({"tls", "aliyun refuses plain TCP for devices created since 2022-08-02 and on new "
                              "instances by default; enable tls"});
    }
    if (c.endpoint.empty() && !c.region.empty() && !c.instance.empty()) {
        out.push_back({"region", "both region and instance are set; the instance endpoint is used"});
    }
}

void aliyun_fill(const CloudConfig& c, std::chrono::system_clock::time_point now, ConnectParams& p) {
    // No freshness check is known (the C SDKs send a fixed 2050 timestamp, §1.4), so a clock that
    // is not yet set is harmless here.
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    const auto creds = aliyun_sign(aliyun_base_client_id(c), c.product_key, c.device_name, c.device_secret,
                                   c.sign_method, std::to_string(ms < 0 ? 0 : ms), c.tls.enabled);
    p.client_id = creds.client_id;
    p.username = creds.username;
    p.password = creds.password;
    p.ca_file = ca_file_for(c, "aliyun-ca.pem");
}

std::string aliyun_connack(int rc) {
    // §6.1 (Doc-ERR); the SDK-4.x note on rc 2 is why keepalive is mentioned there.
    switch (rc) {
        case 1: return "unacceptable protocol version (aliyun speaks MQTT 3.1.1; 5.0 only on Enterprise instances)";
        case 2: return "identifier rejected: the clientId is malformed (too long or bad extension parameters); "
                       "a keepalive outside 30-1200s is also reported this way";
        case 3: return "server unavailable: the network is up but the aliyun MQTT service is not";
        case 4: return "bad user name or password: wrong product_key, device_name or device_secret, or a bad signature";
        case 5: return "not authorized: the platform refused this device (wrong triple, or device disabled or deleted)";
        default: return standard_connack(rc);
    }
}

}  // namespace cellgate::cloud::detail
