// Platform profiles: the published signing vectors (reproduced exactly), CONNECT fields for each
// sign method, endpoints, every platform rule, CONNACK meanings and the shipped CA files.
// Facts and section numbers: /work/shared/reference/aliyun.md and onenet.md.
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "cloud/platform.hpp"
#include "cloud/platform_detail.hpp"

using namespace std::chrono_literals;

namespace cellgate::cloud {
namespace {

using Clock = std::chrono::system_clock;
Clock::time_point at_ms(int64_t ms) { return Clock::time_point(std::chrono::milliseconds(ms)); }

// Restores CELLGATE_CA_DIR so tests do not leak into each other.
class CaDirGuard {
public:
    explicit CaDirGuard(const char* value) {
        if (const char* old = std::getenv("CELLGATE_CA_DIR")) saved_ = old;
        had_ = std::getenv("CELLGATE_CA_DIR") != nullptr;
        if (value != nullptr) {
            setenv("CELLGATE_CA_DIR", value, 1);
        } else {
            unsetenv("CELLGATE_CA_DIR");
        }
    }
    ~CaDirGuard() {
        if (had_) {
            setenv("CELLGATE_CA_DIR", saved_.c_str(), 1);
        } else {
            unsetenv("CELLGATE_CA_DIR");
        }
    }
    CaDirGuard(const CaDirGuard&) = delete;
    CaDirGuard& operator=(const CaDirGuard&) = delete;

private:
    std::string saved_;
    bool had_ = false;
};

CloudConfig aliyun() {
    CloudConfig c;
    c.name = "ali";
    c.platform = Platform::aliyun;
    c.product_key = "a1B2c3D4e5F";
    c.device_name = "gw-001";
    c.device_secret = "S3cretAliyunValue";
    c.region = "cn-shanghai";
    c.tls.enabled = true;
    return c;
}

// The official MQTT.fx example (onenet.md §2.4).
constexpr const char* kOnenetKey = "EnW4T71eIE55xOIQMN6pFMKuqel5T5HTzsGJRPiDhlM=";

CloudConfig onenet() {
    CloudConfig c;
    c.name = "onenet";
    c.platform = Platform::onenet;
    c.product_id = "238322";
    c.device_name = "mqtts-test-device";
    c.device_key = kOnenetKey;
    c.tls.enabled = true;
    return c;
}

CloudConfig onenet_legacy() {
    CloudConfig c;
    c.name = "old";
    c.platform = Platform::onenet_legacy;
    c.product_id = "77001";
    c.device_id = "503902911";
    c.auth_info = "LegacyAuthSecret";
    return c;
}

CloudConfig generic() {
    CloudConfig c;
    c.name = "lab";
    c.platform = Platform::generic;
    c.endpoint = "broker.example:8883";
    c.client_id = "gw-001";
    c.username = "gw";
    c.password = "GenericSecretPw";
    c.tls.enabled = true;
    return c;
}

bool has(const std::vector<RuleViolation>& v, const std::string& key, const std::string& text) {
    for (const auto& r : v) {
        if (r.key == key && r.message.find(text) != std::string::npos) return true;
    }
    return false;
}

std::string dump(const std::vector<RuleViolation>& v) {
    std::string s;
    for (const auto& r : v) s += r.key + ": " + r.message + "\n";
    return s;
}

// ---------------------------------------------------------------------------------------------
// Aliyun signing

TEST(PlatformAliyun, PublishedVectorHmacSha1) {
    // aliyun.md §1.2 (Doc-TCP-old / Doc-TCP-2023, full value from developer.aliyun.com/article/603507).
    const auto creds = detail::aliyun_sign("12345", "pk", "device", "secret", "hmacsha1", "789", false);
    EXPECT_EQ(creds.client_id, "12345|securemode=3,signmethod=hmacsha1,timestamp=789|");
    EXPECT_EQ(creds.username, "device&pk");
    EXPECT_EQ(creds.password, "FAFD82A3D602B37FB0FA8B7892F24A477F851A14");
}

TEST(PlatformAliyun, PublishedVectorThroughConnectParams) {
    CloudConfig c = aliyun();
    c.client_id = "12345";
    c.product_key = "pk";
    c.device_name = "device";
    c.device_secret = "secret";
    c.sign_method = "hmacsha1";
    c.tls.enabled = false;
    const ConnectParams p = make_connect_params(c, at_ms(789));
    EXPECT_EQ(p.client_id, "12345|securemode=3,signmethod=hmacsha1,timestamp=789|");
    EXPECT_EQ(p.username, "device&pk");
    EXPECT_EQ(p.password, "FAFD82A3D602B37FB0FA8B7892F24A477F851A14");
    EXPECT_FALSE(p.tls);
    EXPECT_EQ(p.ca_file, "");
}

struct SignCase {
    const char* method;
    const char* password;
};

TEST(PlatformAliyun, EverySignMethodOverThePublishedContent) {
    // aliyun.md §1.2 [computed]: same content as the official vector, other methods.
    const SignCase cases[] = {
        {"hmacsha1", "FAFD82A3D602B37FB0FA8B7892F24A477F851A14"},
        {"hmacsha256", "6074A46A91B1EBB2CC4EA42790AD0E80202C9843859FC292E57C4EB19FAD9E57"},
        {"hmacmd5", "14B198324FE55E1D3C88F2E705E201EE"},
    };
    for (const auto& k : cases) {
        SCOPED_TRACE(k.method);
        const auto creds = detail::aliyun_sign("12345", "pk", "device", "secret", k.method, "789", true);
        EXPECT_EQ(creds.client_id, std::string("12345|securemode=2,signmethod=") + k.method + ",timestamp=789|");
        EXPECT_EQ(creds.password, k.password);
    }
}

TEST(PlatformAliyun, DefaultClientIdIsProductKeyDotDeviceName) {
    // aliyun.md §1.5 [computed]: content clientIdpk.device...timestamp2524608000000, hmacsha256.
    CloudConfig c = aliyun();
    c.product_key = "pk";
    c.device_name = "device";
    c.device_secret = "secret";
    const ConnectParams p = make_connect_params(c, at_ms(2524608000000));
    EXPECT_EQ(p.client_id, "pk.device|securemode=2,signmethod=hmacsha256,timestamp=2524608000000|");
    EXPECT_EQ(p.username, "device&pk");
    EXPECT_EQ(p.password, "2EAB47D05EC94FAB1A34E7E9F54AEBD34A1E15770F932E05300193007E0091E9");
    EXPECT_TRUE(p.tls);
    EXPECT_TRUE(p.clean_session);
}

TEST(PlatformAliyun, TimestampFollowsTheClock) {
    const CloudConfig c = aliyun();
    const ConnectParams a = make_connect_params(c, at_ms(1'700'000'000'123));
    const ConnectParams b = make_connect_params(c, at_ms(1'700'000'000'124));
    EXPECT_NE(a.client_id.find("timestamp=1700000000123|"), std::string::npos);
    EXPECT_NE(a.password, b.password);
}

TEST(PlatformAliyun, UnknownSignMethodGivesNoPassword) {
    EXPECT_EQ(detail::aliyun_sign("x", "pk", "dn", "s", "sha256", "1", true).password, "");
}

// ---------------------------------------------------------------------------------------------
// OneNET token

TEST(PlatformOnenet, PublishedTokenVector) {
    // onenet.md §2.4: the official MQTT.fx example (iotgz-docs .../example/connect.md).
    const auto token =
        detail::onenet_token("products/238322/devices/mqtts-test-device", 7557387130, "sha1", kOnenetKey);
    ASSERT_TRUE(token);
    EXPECT_EQ(*token,
              "version=2018-10-31&res=products%2F238322%2Fdevices%2Fmqtts-test-device&et=7557387130&method=sha1"
              "&sign=Rs0u%2FKnyoK5%2FMuKo5xKa0tW%2BWqY%3D");
}

TEST(PlatformOnenet, PublishedVectorThroughConnectParams) {
    CloudConfig c = onenet();
    c.token_method = "sha1";
    c.token_lifetime = 3600s;
    const ConnectParams p = make_connect_params(c, at_ms((7557387130 - 3600) * 1000));
    EXPECT_EQ(p.client_id, "mqtts-test-device");
    EXPECT_EQ(p.username, "238322");
    EXPECT_EQ(p.password,
              "version=2018-10-31&res=products%2F238322%2Fdevices%2Fmqtts-test-device&et=7557387130&method=sha1"
              "&sign=Rs0u%2FKnyoK5%2FMuKo5xKa0tW%2BWqY%3D");
    EXPECT_TRUE(p.clean_session);
}

struct TokenCase {
    const char* method;
    const char* res;
    const char* sign;
};

TEST(PlatformOnenet, EveryMethod) {
    // onenet.md §2.4, the vectors computed with the documented algorithm (same key and et).
    const TokenCase cases[] = {
        {"sha1", "products/238322/devices/mqtts-test-device", "Rs0u%2FKnyoK5%2FMuKo5xKa0tW%2BWqY%3D"},
        {"md5", "products/238322/devices/mqtts-test-device", "9z6sXacZSD2aPEH8lbVPyA%3D%3D"},
        {"sha256", "products/238322/devices/mqtts-test-device", "hVAf8QEdu5v4O%2FvqQmyNzkkxVMzvZOpwtrXXmhyGu7M%3D"},
        {"sha1", "products/238322", "nSQhIecD3JamN3TdUbQd2HaoniQ%3D"},
    };
    for (const auto& k : cases) {
        SCOPED_TRACE(std::string(k.method) + " " + k.res);
        const auto token = detail::onenet_token(k.res, 7557387130, k.method, kOnenetKey);
        ASSERT_TRUE(token);
        EXPECT_EQ(*token, "version=2018-10-31&res=" + detail::onenet_url_encode(k.res) +
                              "&et=7557387130&method=" + k.method + "&sign=" + k.sign);
    }
}

TEST(PlatformOnenet, DefaultMethodIsSha256AndTokenIsFreshPerConnect) {
    const CloudConfig c = onenet();  // token_method sha256, lifetime 30 days
    const ConnectParams p = make_connect_params(c, at_ms((7557387130 - 30LL * 86400) * 1000));
    EXPECT_EQ(p.password,
              "version=2018-10-31&res=products%2F238322%2Fdevices%2Fmqtts-test-device&et=7557387130&method=sha256"
              "&sign=hVAf8QEdu5v4O%2FvqQmyNzkkxVMzvZOpwtrXXmhyGu7M%3D");
    const ConnectParams later = make_connect_params(c, at_ms((7557387130 - 30LL * 86400 + 5) * 1000));
    EXPECT_NE(later.password.find("&et=7557387135&"), std::string::npos);
    EXPECT_NE(later.password, p.password);
}

TEST(PlatformOnenet, BadKeyOrMethodGivesNoToken) {
    EXPECT_FALSE(detail::onenet_token("products/1/devices/d", 1, "sha1", "not base64!"));
    EXPECT_FALSE(detail::onenet_token("products/1/devices/d", 1, "sha512", kOnenetKey));
    EXPECT_FALSE(detail::onenet_token("products/1/devices/d", 1, "hmacsha1", kOnenetKey));
}

TEST(PlatformOnenet, UrlEncodingIsExactlyTheDocumentedTable) {
    // onenet.md §2.3.
    EXPECT_EQ(detail::onenet_url_encode("+ /?%#&="), "%2B%20%2F%3F%25%23%26%3D");
    EXPECT_EQ(detail::onenet_url_encode("AZaz09-_.~"), "AZaz09-_.~");
}

TEST(PlatformCrypto, Base64IsStrict) {
    EXPECT_EQ(detail::base64_decode("").value(), "");
    EXPECT_EQ(detail::base64_decode("Zm8=").value(), "fo");
    EXPECT_EQ(detail::base64_decode("Zg==").value(), "f");
    EXPECT_EQ(detail::base64_decode("Zm9v").value(), "foo");
    EXPECT_EQ(detail::base64_decode(kOnenetKey).value().size(), 32u);
    for (const char* bad : {"Zm8", "Zm8= ", " Zm8=", "Z===", "Zg=a", "Zm9v\n", "Zm-v", "=Zm9"}) {
        EXPECT_FALSE(detail::base64_decode(bad)) << bad;
    }
    EXPECT_EQ(detail::base64_encode("fo"), "Zm8=");
    EXPECT_EQ(detail::base64_encode(""), "");
    EXPECT_EQ(detail::to_hex("\x01\xab", false), "01ab");
    EXPECT_EQ(detail::to_hex("\x01\xab", true), "01AB");
}

// ---------------------------------------------------------------------------------------------
// Legacy and generic CONNECT fields

TEST(PlatformOnenetLegacy, ConnectFields) {
    const ConnectParams p = make_connect_params(onenet_legacy(), at_ms(0));
    EXPECT_EQ(p.host, "mqtt.heclouds.com");
    EXPECT_EQ(p.port, 6002);
    EXPECT_EQ(p.client_id, "503902911");
    EXPECT_EQ(p.username, "77001");
    EXPECT_EQ(p.password, "LegacyAuthSecret");
    EXPECT_FALSE(p.tls);
}

TEST(PlatformGeneric, ConnectFields) {
    CloudConfig c = generic();
    c.tls.cert_file = "/etc/cellgate/gw.pem";
    c.tls.key_file = "/etc/cellgate/gw.key";
    c.keepalive = 90s;
    const ConnectParams p = make_connect_params(c, at_ms(0));
    EXPECT_EQ(p.host, "broker.example");
    EXPECT_EQ(p.port, 8883);
    EXPECT_EQ(p.client_id, "gw-001");
    EXPECT_EQ(p.username, "gw");
    EXPECT_EQ(p.password, "GenericSecretPw");
    EXPECT_TRUE(p.tls);
    EXPECT_TRUE(p.verify_server);
    EXPECT_EQ(p.cert_file, "/etc/cellgate/gw.pem");
    EXPECT_EQ(p.key_file, "/etc/cellgate/gw.key");
    EXPECT_EQ(p.keepalive, 90s);
    EXPECT_EQ(p.ca_file, "/etc/ssl/certs/ca-certificates.crt");  // no ca: the system store
    c.tls.ca_file = "/etc/cellgate/ca.pem";
    c.tls.verify = false;
    const ConnectParams q = make_connect_params(c, at_ms(0));
    EXPECT_EQ(q.ca_file, "/etc/cellgate/ca.pem");
    EXPECT_FALSE(q.verify_server);
}

// ---------------------------------------------------------------------------------------------
// Endpoints

struct EndpointCase {
    const char* name;
    std::function<void(CloudConfig&)> edit;
    CloudConfig (*base)();
    const char* endpoint;
    const char* host;
    uint16_t port;
};

TEST(PlatformEndpoint, Defaults) {
    const EndpointCase cases[] = {
        {"aliyun region (legacy public instance)", [](CloudConfig&) {}, aliyun,
         "a1B2c3D4e5F.iot-as-mqtt.cn-shanghai.aliyuncs.com:1883", "a1B2c3D4e5F.iot-as-mqtt.cn-shanghai.aliyuncs.com",
         1883},
        {"aliyun region without tls", [](CloudConfig& c) { c.tls.enabled = false; }, aliyun,
         "a1B2c3D4e5F.iot-as-mqtt.cn-shanghai.aliyuncs.com:1883", "a1B2c3D4e5F.iot-as-mqtt.cn-shanghai.aliyuncs.com",
         1883},
        {"aliyun instance", [](CloudConfig& c) { c.region.clear(); c.instance = "iot-06z00abc"; }, aliyun,
         "iot-06z00abc.mqtt.iothub.aliyuncs.com:1883", "iot-06z00abc.mqtt.iothub.aliyuncs.com", 1883},
        {"aliyun instance wins over region", [](CloudConfig& c) { c.instance = "iot-06z00abc"; }, aliyun,
         "iot-06z00abc.mqtt.iothub.aliyuncs.com:1883", "iot-06z00abc.mqtt.iothub.aliyuncs.com", 1883},
        {"aliyun endpoint overrides both", [](CloudConfig& c) { c.instance = "x"; c.endpoint = "10.0.0.5:443"; },
         aliyun, "10.0.0.5:443", "10.0.0.5", 443},
        {"aliyun endpoint without port", [](CloudConfig& c) { c.endpoint = "iot.example.cn"; }, aliyun,
         "iot.example.cn:1883", "iot.example.cn", 1883},
        {"aliyun nothing to go on", [](CloudConfig& c) { c.region.clear(); }, aliyun, "", "", 1883},
        {"onenet tls", [](CloudConfig&) {}, onenet, "mqttstls.heclouds.com:8883", "mqttstls.heclouds.com", 8883},
        {"onenet plain", [](CloudConfig& c) { c.tls.enabled = false; }, onenet, "mqtts.heclouds.com:1883",
         "mqtts.heclouds.com", 1883},
        {"onenet smart domain override", [](CloudConfig& c) { c.endpoint = "238322.mqttstls.acc.cmcconenet.cn"; },
         onenet, "238322.mqttstls.acc.cmcconenet.cn:8883", "238322.mqttstls.acc.cmcconenet.cn", 8883},
        {"onenet-legacy", [](CloudConfig&) {}, onenet_legacy, "mqtt.heclouds.com:6002", "mqtt.heclouds.com", 6002},
        {"onenet-legacy provincial clone", [](CloudConfig& c) { c.endpoint = "mqtt.zj.cmcconenet.com"; },
         onenet_legacy, "mqtt.zj.cmcconenet.com:6002", "mqtt.zj.cmcconenet.com", 6002},
        {"generic", [](CloudConfig&) {}, generic, "broker.example:8883", "broker.example", 8883},
        {"generic no port, tls", [](CloudConfig& c) { c.endpoint = "broker.example"; }, generic,
         "broker.example:8883", "broker.example", 8883},
        {"generic no port, plain", [](CloudConfig& c) { c.endpoint = "broker.example"; c.tls.enabled = false; },
         generic, "broker.example:1883", "broker.example", 1883},
        {"generic ipv6", [](CloudConfig& c) { c.endpoint = "[::1]:1884"; }, generic, "[::1]:1884", "::1", 1884},
    };
    for (const auto& k : cases) {
        SCOPED_TRACE(k.name);
        CloudConfig c = k.base();
        k.edit(c);
        EXPECT_EQ(default_endpoint(c), k.endpoint);
        const ConnectParams p = make_connect_params(c, at_ms(0));
        EXPECT_EQ(p.host, k.host);
        EXPECT_EQ(p.port, k.port);
    }
}

TEST(PlatformEndpoint, Syntax) {
    for (const char* good : {"h:1", "host", "a.b.c:65535", "[::1]", "[fe80::1]:8883", "10.0.0.1:1883"}) {
        EXPECT_TRUE(detail::parse_endpoint(good)) << good;
    }
    for (const char* bad : {"", ":1883", "host:", "host:0", "host:65536", "host:12a", "mqtt://host:1883", "::1",
                            "[::1", "[]:1", "[::1]1883", "host name:1", "host/x:1", "user@host:1", "h:1234567"}) {
        EXPECT_FALSE(detail::parse_endpoint(bad)) << bad;
    }
}

// ---------------------------------------------------------------------------------------------
// CA files

TEST(PlatformCa, ShippedCaWithTlsAndNoConfiguredCa) {
    {
        CaDirGuard env(nullptr);
        EXPECT_EQ(make_connect_params(aliyun(), at_ms(0)).ca_file, "/usr/share/cellgate/ca/aliyun-ca.pem");
        EXPECT_EQ(make_connect_params(onenet(), at_ms(0)).ca_file, "/usr/share/cellgate/ca/onenet-ca.pem");
    }
    {
        CaDirGuard env("/src/cellgate/etc/ca/");
        EXPECT_EQ(make_connect_params(aliyun(), at_ms(0)).ca_file, "/src/cellgate/etc/ca/aliyun-ca.pem");
        EXPECT_EQ(make_connect_params(onenet(), at_ms(0)).ca_file, "/src/cellgate/etc/ca/onenet-ca.pem");
        CloudConfig c = aliyun();
        c.tls.ca_file = "/etc/cellgate/my-ca.pem";
        EXPECT_EQ(make_connect_params(c, at_ms(0)).ca_file, "/etc/cellgate/my-ca.pem");
        c.tls.enabled = false;
        EXPECT_EQ(make_connect_params(c, at_ms(0)).ca_file, "");
    }
}

// SHA-256 of the DER certificate in `file`, "AB:CD:..."; "" when unreadable.
std::string fingerprint(const std::filesystem::path& file, std::string* subject_cn) {
    FILE* f = std::fopen(file.c_str(), "r");
    if (f == nullptr) return {};
    X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    if (cert == nullptr) return {};
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    X509_digest(cert, EVP_sha256(), md, &len);
    char cn[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
    *subject_cn = cn;
    X509_free(cert);
    std::string hex = detail::to_hex(std::string(reinterpret_cast<const char*>(md), len), true);
    std::string out;
    for (size_t i = 0; i < hex.size(); i += 2) out += (i ? ":" : "") + hex.substr(i, 2);
    return out;
}

TEST(PlatformCa, ShippedFilesAreTheDocumentedRoots) {
    const auto dir = std::filesystem::path(CELLGATE_SOURCE_DIR) / "etc" / "ca";
    std::string cn;
    // onenet.md §1.1: the private OneNET MQTTS root, pinned by the fingerprint the reference gives.
    EXPECT_EQ(fingerprint(dir / "onenet-ca.pem", &cn),
              "7D:E9:BC:4C:1A:ED:01:34:46:67:64:56:78:D4:49:74:12:10:B1:70:49:48:98:38:BF:63:79:53:B3:E9:01:17");
    EXPECT_EQ(cn, "OneNET MQTTS");
    // aliyun.md §2.3: GlobalSign Root CA R1 for TLS on 1883 (Mozilla store copy).
    EXPECT_EQ(fingerprint(dir / "aliyun-ca.pem", &cn),
              "EB:D4:10:40:E4:BB:3E:C7:42:C9:E3:81:D3:1E:F2:A4:1A:48:B6:68:5C:96:E7:CE:F3:C1:DF:6C:D4:33:1C:99");
    EXPECT_EQ(cn, "GlobalSign Root CA");
}

// ---------------------------------------------------------------------------------------------
// Platform rules

struct RuleCase {
    const char* name;
    CloudConfig (*base)();
    std::function<void(CloudConfig&)> edit;
    const char* key;
    const char* text;  // part of the message
};

TEST(PlatformRules, ValidConfigsPass) {
    for (auto base : {aliyun, onenet, onenet_legacy, generic}) {
        const CloudConfig c = base();
        EXPECT_TRUE(check_platform_rules(c).empty()) << to_string(c.platform) << "\n" << dump(check_platform_rules(c));
    }
    CloudConfig c = aliyun();
    c.region.clear();
    c.instance = "iot-06z00abc";
    EXPECT_TRUE(check_platform_rules(c).empty()) << dump(check_platform_rules(c));
    c.instance.clear();
    c.endpoint = "iot.example.cn:8883";
    EXPECT_TRUE(check_platform_rules(c).empty()) << dump(check_platform_rules(c));
    c = generic();
    c.username.clear();
    c.password.clear();
    c.tls.cert_file = "/etc/cellgate/gw.pem";
    c.tls.key_file = "/etc/cellgate/gw.key";
    EXPECT_TRUE(check_platform_rules(c).empty()) << dump(check_platform_rules(c));
}

TEST(PlatformRules, EveryViolation) {
    const RuleCase cases[] = {
        // aliyun
        {"aliyun product_key", aliyun, [](CloudConfig& c) { c.product_key.clear(); }, "product_key",
         "aliyun requires product_key"},
        {"aliyun device_name", aliyun, [](CloudConfig& c) { c.device_name.clear(); }, "device_name",
         "aliyun requires device_name"},
        {"aliyun device_secret", aliyun, [](CloudConfig& c) { c.device_secret.clear(); }, "device_secret",
         "aliyun requires device_secret"},
        {"aliyun no region/instance/endpoint", aliyun, [](CloudConfig& c) { c.region.clear(); }, "region",
         "aliyun requires region"},
        {"aliyun bad region", aliyun, [](CloudConfig& c) { c.region = "cn shanghai"; }, "region", "host name"},
        {"aliyun bad instance", aliyun, [](CloudConfig& c) { c.instance = "iot.06z"; }, "instance", "instance id"},
        {"aliyun sign_method", aliyun, [](CloudConfig& c) { c.sign_method = "sha256"; }, "sign_method",
         "hmacsha256, hmacsha1 or hmacmd5"},
        {"aliyun keepalive 29s", aliyun, [](CloudConfig& c) { c.keepalive = 29s; }, "keepalive",
         "aliyun requires keepalive between 30s and 1200s (got 29s)"},
        {"aliyun keepalive 1201s", aliyun, [](CloudConfig& c) { c.keepalive = 1201s; }, "keepalive",
         "aliyun requires keepalive between 30s and 1200s (got 1201s)"},
        {"aliyun keepalive 30s is cellular-low", aliyun, [](CloudConfig& c) { c.keepalive = 30s; }, "keepalive",
         "below 60s wakes the radio"},
        {"aliyun clientId too long", aliyun, [](CloudConfig& c) { c.device_name = std::string(60, 'd'); },
         "device_name", "at most 64 characters"},
        {"aliyun client_id too long", aliyun, [](CloudConfig& c) { c.client_id = std::string(65, 'c'); },
         "client_id", "at most 64 characters"},
        {"aliyun delimiter in device_name", aliyun, [](CloudConfig& c) { c.device_name = "gw|1"; }, "device_name",
         "must not contain"},
        {"aliyun & in product_key", aliyun, [](CloudConfig& c) { c.product_key = "a&b"; }, "device_name",
         "must not contain"},
        {"aliyun bad endpoint", aliyun, [](CloudConfig& c) { c.endpoint = "mqtt://x:1883"; }, "endpoint",
         "endpoint must be host:port"},
        // onenet
        {"onenet product_id", onenet, [](CloudConfig& c) { c.product_id.clear(); }, "product_id",
         "onenet requires product_id"},
        {"onenet device_name", onenet, [](CloudConfig& c) { c.device_name.clear(); }, "device_name",
         "onenet requires device_name"},
        {"onenet device_key", onenet, [](CloudConfig& c) { c.device_key.clear(); }, "device_key",
         "onenet requires device_key"},
        {"onenet device_key not base64", onenet, [](CloudConfig& c) { c.device_key = "EnW4T71eIE55xOIQMN6p!"; },
         "device_key", "base64"},
        {"onenet device_name charset", onenet, [](CloudConfig& c) { c.device_name = "gw.001"; }, "device_name",
         "letters, digits, _ and -"},
        {"onenet product_id charset", onenet, [](CloudConfig& c) { c.product_id = "238/322"; }, "product_id",
         "letters and digits"},
        {"onenet token_method", onenet, [](CloudConfig& c) { c.token_method = "hmacsha1"; }, "token_method",
         "sha256, sha1 or md5"},
        {"onenet token_lifetime", onenet, [](CloudConfig& c) { c.token_lifetime = 30s; }, "token_lifetime",
         "at least 60s"},
        {"onenet keepalive 9s", onenet, [](CloudConfig& c) { c.keepalive = 9s; }, "keepalive",
         "onenet requires keepalive between 10s and 1800s (got 9s)"},
        {"onenet keepalive 1801s", onenet, [](CloudConfig& c) { c.keepalive = 1801s; }, "keepalive",
         "onenet requires keepalive between 10s and 1800s (got 1801s)"},
        {"onenet keepalive 59s", onenet, [](CloudConfig& c) { c.keepalive = 59s; }, "keepalive",
         "below 60s wakes the radio too often on cellular (got 59s)"},
        // onenet-legacy
        {"legacy product_id", onenet_legacy, [](CloudConfig& c) { c.product_id.clear(); }, "product_id",
         "onenet-legacy requires product_id"},
        {"legacy device_id", onenet_legacy, [](CloudConfig& c) { c.device_id.clear(); }, "device_id",
         "onenet-legacy requires device_id"},
        {"legacy device_id numeric", onenet_legacy, [](CloudConfig& c) { c.device_id = "gw-001"; }, "device_id",
         "numeric"},
        {"legacy auth_info", onenet_legacy, [](CloudConfig& c) { c.auth_info.clear(); }, "auth_info",
         "onenet-legacy requires auth_info"},
        {"legacy tls", onenet_legacy, [](CloudConfig& c) { c.tls.enabled = true; }, "tls", "plain TCP only"},
        {"legacy keepalive 119s", onenet_legacy, [](CloudConfig& c) { c.keepalive = 119s; }, "keepalive",
         "onenet-legacy requires keepalive between 120s and 1200s"},
        {"legacy keepalive 1201s", onenet_legacy, [](CloudConfig& c) { c.keepalive = 1201s; }, "keepalive",
         "onenet-legacy requires keepalive between 120s and 1200s"},
        // generic
        {"generic endpoint", generic, [](CloudConfig& c) { c.endpoint.clear(); }, "endpoint",
         "generic requires endpoint"},
        {"generic client_id", generic, [](CloudConfig& c) { c.client_id.clear(); }, "client_id",
         "generic requires client_id"},
        {"generic client_id NUL", generic, [](CloudConfig& c) { c.client_id = std::string("a\0b", 3); }, "client_id",
         "NUL"},
        {"generic password without username", generic, [](CloudConfig& c) { c.username.clear(); }, "password",
         "only with a username"},
        {"generic cert without key", generic, [](CloudConfig& c) { c.tls.cert_file = "/x.pem"; }, "tls",
         "both cert and key"},
        {"generic key without cert", generic, [](CloudConfig& c) { c.tls.key_file = "/x.key"; }, "tls",
         "both cert and key"},
        {"generic keepalive 9s", generic, [](CloudConfig& c) { c.keepalive = 9s; }, "keepalive",
         "generic requires keepalive between 10s and 65535s"},
        {"generic keepalive 65536s", generic, [](CloudConfig& c) { c.keepalive = 65536s; }, "keepalive",
         "generic requires keepalive between 10s and 65535s"},
        {"generic keepalive 10s", generic, [](CloudConfig& c) { c.keepalive = 10s; }, "keepalive",
         "below 60s wakes the radio"},
        {"generic keepalive not whole seconds", generic, [](CloudConfig& c) { c.keepalive = 120500ms; }, "keepalive",
         "whole number of seconds"},
    };
    for (const auto& k : cases) {
        SCOPED_TRACE(k.name);
        CloudConfig c = k.base();
        k.edit(c);
        const auto v = check_platform_rules(c);
        EXPECT_TRUE(has(v, k.key, k.text)) << dump(v);
        for (const auto& r : v) {
            // Messages are shown to operators and logged: never a secret.
            EXPECT_EQ(r.message.find("S3cretAliyunValue"), std::string::npos);
            EXPECT_EQ(r.message.find("LegacyAuthSecret"), std::string::npos);
            EXPECT_EQ(r.message.find("GenericSecretPw"), std::string::npos);
            EXPECT_EQ(r.message.find(kOnenetKey), std::string::npos);
        }
    }
}

TEST(PlatformRules, KeepaliveBoundariesThatPass) {
    struct Ok {
        CloudConfig (*base)();
        std::chrono::seconds ka;
    };
    for (const auto& k : {Ok{aliyun, 60s}, Ok{aliyun, 1200s}, Ok{onenet, 60s}, Ok{onenet, 1800s},
                          Ok{onenet_legacy, 120s}, Ok{onenet_legacy, 1200s}, Ok{generic, 60s}, Ok{generic, 65535s}}) {
        CloudConfig c = k.base();
        c.keepalive = k.ka;
        EXPECT_TRUE(check_platform_rules(c).empty()) << to_string(c.platform) << " " << k.ka.count() << "s\n"
                                                     << dump(check_platform_rules(c));
    }
}

TEST(PlatformWarnings, Advice) {
    EXPECT_TRUE(platform_warnings(aliyun()).empty()) << dump(platform_warnings(aliyun()));
    EXPECT_TRUE(platform_warnings(onenet()).empty()) << dump(platform_warnings(onenet()));
    EXPECT_TRUE(platform_warnings(generic()).empty()) << dump(platform_warnings(generic()));

    CloudConfig c = aliyun();
    c.keepalive = 240s;
    EXPECT_TRUE(platform_warnings(c).empty());
    c.keepalive = 241s;
    EXPECT_TRUE(has(platform_warnings(c), "keepalive", "carrier NAT drops idle flows")) << dump(platform_warnings(c));
    c.keepalive = 1201s;  // a rule violation, not also a warning
    EXPECT_FALSE(has(platform_warnings(c), "keepalive", "carrier NAT"));

    c = aliyun();
    c.tls.enabled = false;
    EXPECT_TRUE(has(platform_warnings(c), "tls", "refuses plain TCP"));
    c = aliyun();
    c.instance = "iot-06z00abc";
    EXPECT_TRUE(has(platform_warnings(c), "region", "instance endpoint is used"));
    c.tls.verify = false;
    EXPECT_TRUE(has(platform_warnings(c), "tls", "not verified"));

    c = onenet();
    c.keepalive = 300s;
    EXPECT_FALSE(has(platform_warnings(c), "keepalive", "must not exceed"));
    c.keepalive = 301s;
    EXPECT_TRUE(has(platform_warnings(c), "keepalive", "must not exceed 300s (got 301s)"));
    EXPECT_TRUE(has(platform_warnings(c), "keepalive", "carrier NAT"));

    EXPECT_TRUE(has(platform_warnings(onenet_legacy()), "platform", "unencrypted"));

    c = generic();
    c.client_id = std::string(24, 'c');
    EXPECT_TRUE(has(platform_warnings(c), "client_id", "23 characters"));
    c = generic();
    c.tls.enabled = false;
    EXPECT_TRUE(has(platform_warnings(c), "tls", "password is sent unencrypted"));
}

// ---------------------------------------------------------------------------------------------
// CONNACK, limits, names

struct ConnackCase {
    Platform platform;
    int rc;
    const char* text;
};

TEST(PlatformConnack, Meanings) {
    const ConnackCase cases[] = {
        // aliyun.md §6.1 (Doc-ERR)
        {Platform::aliyun, 0, "accepted"},
        {Platform::aliyun, 1, "unacceptable protocol version"},
        {Platform::aliyun, 2, "clientId is malformed"},
        {Platform::aliyun, 2, "keepalive outside 30-1200s"},
        {Platform::aliyun, 3, "server unavailable"},
        {Platform::aliyun, 4, "wrong product_key, device_name or device_secret"},
        {Platform::aliyun, 5, "not authorized"},
        {Platform::aliyun, 6, "unknown CONNACK code 6"},
        // onenet.md §5.3
        {Platform::onenet, 0, "accepted"},
        {Platform::onenet, 1, "MQTT 3.1.1"},
        {Platform::onenet, 2, "must be the device name"},
        {Platform::onenet, 3, "server unavailable"},
        {Platform::onenet, 4, "token expired (check the system clock)"},
        {Platform::onenet, 5, "illegal connection"},
        {Platform::onenet, 134, "unknown CONNACK code 134"},
        {Platform::onenet_legacy, 2, "numeric device ID"},
        {Platform::onenet_legacy, 4, "wrong product_id or auth_info"},
        {Platform::onenet_legacy, 5, "illegal connection"},
        // MQTT 3.1.1 §3.2.2.3
        {Platform::generic, 0, "accepted"},
        {Platform::generic, 1, "unacceptable protocol version"},
        {Platform::generic, 2, "identifier rejected"},
        {Platform::generic, 3, "server unavailable"},
        {Platform::generic, 4, "bad user name or password"},
        {Platform::generic, 5, "not authorized"},
        {Platform::generic, -1, "unknown CONNACK code -1"},
    };
    for (const auto& k : cases) {
        const std::string m = connack_meaning(k.platform, k.rc);
        EXPECT_NE(m.find(k.text), std::string::npos) << to_string(k.platform) << " rc " << k.rc << ": " << m;
    }
}

TEST(PlatformLimits, QosRetainPayload) {
    EXPECT_EQ(max_qos(Platform::aliyun), 1);
    EXPECT_EQ(max_qos(Platform::onenet), 1);
    EXPECT_EQ(max_qos(Platform::onenet_legacy), 2);
    EXPECT_EQ(max_qos(Platform::generic), 2);
    EXPECT_FALSE(retain_allowed(Platform::aliyun));
    EXPECT_FALSE(retain_allowed(Platform::onenet));
    EXPECT_FALSE(retain_allowed(Platform::onenet_legacy));
    EXPECT_TRUE(retain_allowed(Platform::generic));
    EXPECT_EQ(max_payload(Platform::onenet), 256u * 1024);
    EXPECT_EQ(max_payload(Platform::aliyun), 256u * 1024);
    EXPECT_EQ(max_payload(Platform::onenet_legacy), 3u * 1024 * 1024);
    EXPECT_GT(max_payload(Platform::generic), 200'000'000u);
    EXPECT_LT(max_payload(Platform::generic), 268'435'455u);
}

TEST(PlatformNames, RoundTrip) {
    for (Platform p : {Platform::aliyun, Platform::onenet, Platform::onenet_legacy, Platform::generic}) {
        EXPECT_EQ(platform_from_string(to_string(p)), p);
    }
    EXPECT_STREQ(to_string(Platform::onenet_legacy), "onenet-legacy");
    for (const char* bad : {"", "Aliyun", "onenet_legacy", "aws", "generic "}) {
        EXPECT_FALSE(platform_from_string(bad)) << bad;
    }
}

}  // namespace
}  // namespace cellgate::cloud
