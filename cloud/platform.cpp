// What every platform shares: OpenSSL HMAC/base64, endpoint syntax, CA file selection, the
// keepalive rules, the profile's defaults, and the CONNECT fields and rules around the profile's.
#include "cloud/platform.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdlib>

#include "cloud/backoff.hpp"
#include "cloud/platform_detail.hpp"
#include "cloud/platform_profile.hpp"

namespace cellgate::cloud {
namespace detail {

std::string hmac(Digest d, std::string_view key, std::string_view message) {
    const EVP_MD* md = d == Digest::md5 ? EVP_md5() : d == Digest::sha1 ? EVP_sha1() : EVP_sha256();
    static const unsigned char kNoKey = 0;  // OpenSSL wants a non-null pointer even for a 0-length key
    const void* key_data = key.empty() ? static_cast<const void*>(&kNoKey) : key.data();
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (HMAC(md, key_data, static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(message.data()),
             message.size(), out, &len) == nullptr) {
        return {};
    }
    return std::string(reinterpret_cast<const char*>(out), len);
}

std::string to_hex(std::string_view bytes, bool upper) {
    const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 0x0f];
    }
    return out;
}

std::string base64_encode(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
    out.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    // EVP_DecodeBlock skips surrounding blanks and keeps padding as zero bytes; check strictly
    // first so a mangled key is a config error, not a wrong signature at the first connect.
    if (text.size() % 4 != 0) return std::nullopt;
    size_t pad = 0;
    for (size_t i = 0; i < text.size(); ++i) {
        const char ch = text[i];
        const bool alpha = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                           ch == '+' || ch == '/';
        if (ch == '=') {
            if (i + 2 < text.size()) return std::nullopt;
            ++pad;
        } else if (!alpha || pad > 0) {
            return std::nullopt;
        }
    }
    if (text.empty()) return std::string();
    std::string out(text.size() / 4 * 3, '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
    if (n < 0 || static_cast<size_t>(n) < pad) return std::nullopt;
    out.resize(static_cast<size_t>(n) - pad);
    return out;
}

std::optional<HostPort> parse_endpoint(std::string_view endpoint) {
    HostPort hp;
    std::string_view rest;
    if (endpoint.starts_with('[')) {
        const size_t close = endpoint.find(']');
        if (close == std::string_view::npos || close == 1) return std::nullopt;
        hp.host = std::string(endpoint.substr(1, close - 1));
        rest = endpoint.substr(close + 1);
    } else {
        const size_t colon = endpoint.find(':');
        // A second colon is a bare IPv6 address or a URL ("mqtt://..."): ambiguous, refuse it.
        if (colon != std::string_view::npos && endpoint.find(':', colon + 1) != std::string_view::npos) {
            return std::nullopt;
        }
        hp.host = std::string(endpoint.substr(0, colon));
        rest = colon == std::string_view::npos ? std::string_view() : endpoint.substr(colon);
    }
    if (hp.host.empty()) return std::nullopt;
    for (unsigned char ch : hp.host) {
        if (ch <= ' ' || ch == '/' || ch == '@' || ch == '[' || ch == ']' || ch >= 0x7f) return std::nullopt;
    }
    if (rest.empty()) return hp;
    if (rest.front() != ':' || rest.size() < 2 || rest.size() > 6) return std::nullopt;
    unsigned port = 0;
    for (char ch : rest.substr(1)) {
        if (ch < '0' || ch > '9') return std::nullopt;
        port = port * 10 + static_cast<unsigned>(ch - '0');
    }
    if (port == 0 || port > 65535) return std::nullopt;
    hp.port = static_cast<uint16_t>(port);
    return hp;
}

std::string join_endpoint(const HostPort& hp) {
    const bool v6 = hp.host.find(':') != std::string::npos;
    std::string out = v6 ? "[" + hp.host + "]" : hp.host;
    if (hp.port != 0) out += ":" + std::to_string(hp.port);
    return out;
}

std::string with_default_port(const std::string& endpoint, uint16_t port) {
    auto hp = parse_endpoint(endpoint);
    if (!hp) return endpoint;
    if (hp->port == 0) hp->port = port;
    return join_endpoint(*hp);
}

std::string ca_dir() {
    const char* env = std::getenv("CELLGATE_CA_DIR");
    std::string dir = env != nullptr && *env != '\0' ? env : kDefaultCaDir;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    return dir;
}

std::string ca_file_for(const CloudConfig& c, std::string_view shipped) {
    if (!c.tls.enabled) return {};
    if (!c.tls.ca_file.empty()) return c.tls.ca_file;
    if (!shipped.empty()) return ca_dir() + "/" + std::string(shipped);
    return kSystemCaBundle;
}

void check_keepalive(const CloudConfig& c, int min_s, int max_s, std::vector<RuleViolation>& out) {
    const auto s = c.keepalive.count();
    if (s < min_s || s > max_s) {
        out.push_back({"keepalive", std::string(to_string(c.platform)) + " requires keepalive between " +
                                        std::to_string(min_s) + "s and " + std::to_string(max_s) + "s (got " +
                                        std::to_string(s) + "s)"});
    }
}

void warn_cellular_keepalive(const CloudConfig& c, int min_s, int max_s, Uplink uplink,
                             std::vector<RuleViolation>& out) {
    const auto s = c.keepalive.count();
    if (uplink != Uplink::cellular || s < min_s || s > max_s) return;
    const std::string got = " (got " + std::to_string(s) + "s)";
    if (s < kCellularMinKeepalive) {
        out.push_back({"keepalive", "keepalive below 60s wakes the radio too often on cellular" + got +
                                        "; 60s to 240s suits cellular, 120s is the field value"});
    } else if (s > kCellularMaxKeepalive) {
        out.push_back({"keepalive", "keepalive above 240s" + got +
                                        ": carrier NAT drops idle flows at about 5 minutes; 120s is the field value"});
    }
}

void require(const std::string& value, std::string_view key, std::string_view what, const CloudConfig& c,
             std::vector<RuleViolation>& out) {
    if (value.empty()) {
        out.push_back({std::string(key), std::string(to_string(c.platform)) + " requires " + std::string(what)});
    }
}

std::string standard_connack(int rc) {
    switch (rc) {
        case 0: return "accepted";
        case 1: return "unacceptable protocol version";
        case 2: return "identifier rejected";
        case 3: return "server unavailable";
        case 4: return "bad user name or password";
        case 5: return "not authorized";
        default: return "unknown CONNACK code " + std::to_string(rc);
    }
}

}  // namespace detail

// What a profile does not override: MQTT 3.1.1 and nothing platform-specific.

std::string PlatformProfile::connack_meaning(int rc) const { return detail::standard_connack(rc); }
milliseconds PlatformProfile::connect_spacing() const { return kMinConnectSpacing; }
RateLimit PlatformProfile::default_rate_limit() const { return {0, 1}; }
std::optional<RateCeiling> PlatformProfile::rate_ceiling() const { return std::nullopt; }
std::span<const TopicTemplate> PlatformProfile::topic_templates() const { return {}; }
std::string PlatformProfile::publish_topic_problem(std::string_view, const TopicFields&) const { return {}; }
bool PlatformProfile::thing_model() const { return false; }
std::string PlatformProfile::wrap_uplink(const UplinkFormat&, std::string_view local_payload, uint64_t,
                                         int64_t) const {
    return std::string(local_payload);
}
std::span<const std::string_view> PlatformProfile::post_reply_templates() const { return {}; }
std::span<const char* const> PlatformProfile::reply_message_keys() const { return {}; }
std::span<const DownlinkRoute> PlatformProfile::downlink_routes() const { return {}; }
bool PlatformProfile::subscribes_to_requests() const { return true; }
std::string_view PlatformProfile::request_prefix() const { return {}; }
std::expected<std::string, std::string> PlatformProfile::reply_payload(std::string_view) const {
    return std::unexpected(std::string(name()) + " has no JSON replies");
}

ConnectParams make_connect_params(const CloudConfig& c, std::chrono::system_clock::time_point now) {
    const PlatformProfile& platform = profile(c.platform);
    ConnectParams p;
    p.tls = c.tls.enabled;
    p.verify_server = c.tls.verify;
    p.cert_file = c.tls.cert_file;
    p.key_file = c.tls.key_file;
    p.keepalive = c.keepalive;
    p.clean_session = true;  // OneNET demands it; nothing here relies on a persistent session
    platform.fill(c, now, p);
    if (const auto hp = detail::parse_endpoint(platform.endpoint(c))) {
        p.host = hp->host;
        p.port = hp->port;
    }
    return p;
}

std::vector<RuleViolation> check_platform_rules(const CloudConfig& c) {
    std::vector<RuleViolation> out;
    if (!c.endpoint.empty() && !detail::parse_endpoint(c.endpoint)) {
        out.push_back({"endpoint", "endpoint must be host:port, host, or [ipv6]:port (got \"" + c.endpoint + "\")"});
    }
    if (!c.tls.cert_file.empty() != !c.tls.key_file.empty()) {
        out.push_back({"tls", "a TLS client certificate needs both cert and key"});
    }
    profile(c.platform).rules(c, out);
    return out;
}

std::vector<RuleViolation> platform_warnings(const CloudConfig& c, Uplink uplink) {
    std::vector<RuleViolation> out;
    if (c.tls.enabled && !c.tls.verify) {
        out.push_back({"tls", "the server certificate is not verified: anyone on the path can impersonate the broker"});
    }
    profile(c.platform).warnings(c, uplink, out);
    return out;
}

int max_qos(Platform p) { return profile(p).max_qos(); }
size_t max_payload(Platform p) { return profile(p).max_payload(); }

}  // namespace cellgate::cloud
