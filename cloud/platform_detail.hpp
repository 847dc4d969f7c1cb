// Internals shared by the platform_*.cpp profiles. Not part of the public API; the unit tests use
// it to reproduce the published signing vectors, whose inputs (a free clientId, a fixed
// timestamp, a product-level res) cannot all be reached through CloudConfig.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloud/platform.hpp"

namespace cellgate::cloud::detail {

// Below this the radio wakes too often on cellular: advice on every platform, as the platform's
// own range is the user's to use.
inline constexpr int kCellularMinKeepalive = 60;
// Carrier NAT (China Mobile / Unicom) drops idle flows at about 5 minutes.
inline constexpr int kCellularMaxKeepalive = 240;
inline constexpr const char* kDefaultCaDir = "/usr/share/cellgate/ca";
inline constexpr const char* kSystemCaBundle = "/etc/ssl/certs/ca-certificates.crt";

// --- crypto and encoding (OpenSSL underneath) ---
enum class Digest { md5, sha1, sha256 };
std::string hmac(Digest d, std::string_view key, std::string_view message);  // raw bytes
std::string to_hex(std::string_view bytes, bool upper);
std::string base64_encode(std::string_view bytes);
// Strict standard alphabet with padding; nullopt for anything else (including whitespace).
std::optional<std::string> base64_decode(std::string_view text);

// --- endpoints ---
struct HostPort {
    std::string host;
    uint16_t port = 0;  // 0 = not given
};
// "host:port", "host", "[v6]:port" or "[v6]"; nullopt when malformed.
std::optional<HostPort> parse_endpoint(std::string_view endpoint);
std::string join_endpoint(const HostPort& hp);
// `endpoint` with `port` added when it names none; unchanged when malformed (the rules report it).
std::string with_default_port(const std::string& endpoint, uint16_t port);
// $CELLGATE_CA_DIR (tests from the source tree) or kDefaultCaDir.
std::string ca_dir();
// The CA file a TLS connection verifies against: the configured one, else `shipped` in ca_dir(),
// else the system store. Never empty, so the MQTT client needs no fallback of its own.
std::string ca_file_for(const CloudConfig& c, std::string_view shipped);

// --- shared rules ---
// Within [min_s, max_s].
void check_keepalive(const CloudConfig& c, int min_s, int max_s, std::vector<RuleViolation>& out);
void require(const std::string& value, std::string_view key, std::string_view what, const CloudConfig& c,
             std::vector<RuleViolation>& out);
// On cellular, outside [kCellularMinKeepalive, kCellularMaxKeepalive] but within the platform's
// [min_s, max_s] (outside that it is a rule violation instead).
void warn_cellular_keepalive(const CloudConfig& c, int min_s, int max_s, Uplink uplink,
                             std::vector<RuleViolation>& out);
// MQTT 3.1.1's CONNACK return codes.
std::string standard_connack(int rc);

// --- Alibaba Cloud ---
std::optional<Digest> aliyun_digest(std::string_view sign_method);  // hmacsha256 | hmacsha1 | hmacmd5
struct AliyunCredentials {
    std::string client_id;  // with the |...| extension
    std::string username;
    std::string password;   // upper-case hex
};
// `timestamp` is decimal ms and goes both into the clientId and the signed content.
AliyunCredentials aliyun_sign(std::string_view client_id, std::string_view product_key,
                              std::string_view device_name, std::string_view device_secret,
                              std::string_view sign_method, std::string_view timestamp, bool tls);

// --- China Mobile OneNET (the MQTTS platform and its legacy port-6002 access) ---
// Both count logins per device: OneNET's Studio limits page says 3 per 5 s (its other pages say
// 10): 2 s keeps any 5 s window at 3 attempts, so neither reading of the rule can be reached.
inline constexpr std::chrono::milliseconds kOneNetConnectSpacing{2000};
std::optional<Digest> onenet_digest(std::string_view method);  // sha256 | sha1 | md5
// The token's value encoding: exactly the 8 characters of OneNET's documented table.
std::string onenet_url_encode(std::string_view s);
// The 2018-10-31 token; nullopt when the key is not base64 or the method is unknown.
std::optional<std::string> onenet_token(std::string_view res, int64_t expiry_unix_s, std::string_view method,
                                        std::string_view key_base64);
// "" when `topic` keeps OneNET's topic charset (publishing outside it disconnects the device).
std::string onenet_topic_charset_problem(std::string_view topic);

}  // namespace cellgate::cloud::detail
