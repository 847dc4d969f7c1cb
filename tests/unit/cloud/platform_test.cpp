// What the platforms share (OpenSSL encoding, endpoint syntax, CA selection and the shipped CA
// files) and what the registry promises of every profile. Each platform's own behaviour is in
// platform_<name>_test.cpp.
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "cloud/backoff.hpp"
#include "cloud/platform_detail.hpp"
#include "unit/cloud/platform_checks.hpp"

namespace cellgate::cloud {
namespace {

using checks::at_ms;
using testing::test_session;

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

TEST(PlatformCrypto, Base64IsStrict) {
    EXPECT_EQ(detail::base64_decode("").value(), "");
    EXPECT_EQ(detail::base64_decode("Zm8=").value(), "fo");
    EXPECT_EQ(detail::base64_decode("Zg==").value(), "f");
    EXPECT_EQ(detail::base64_decode("Zm9v").value(), "foo");
    EXPECT_EQ(detail::base64_decode(testing::kOnenetKey).value().size(), 32u);
    for (const char* bad : {"Zm8", "Zm8= ", " Zm8=", "Z===", "Zg=a", "Zm9v\n", "Zm-v", "=Zm9"}) {
        EXPECT_FALSE(detail::base64_decode(bad)) << bad;
    }
    EXPECT_EQ(detail::base64_encode("fo"), "Zm8=");
    EXPECT_EQ(detail::base64_encode(""), "");
    EXPECT_EQ(detail::to_hex("\x01\xab", false), "01ab");
    EXPECT_EQ(detail::to_hex("\x01\xab", true), "01AB");
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
        EXPECT_EQ(make_connect_params(test_session(Platform::aliyun), at_ms(0)).ca_file, "/usr/share/cellgate/ca/aliyun-ca.pem");
        EXPECT_EQ(make_connect_params(test_session(Platform::onenet), at_ms(0)).ca_file, "/usr/share/cellgate/ca/onenet-ca.pem");
    }
    {
        CaDirGuard env("/src/cellgate/etc/ca/");
        EXPECT_EQ(make_connect_params(test_session(Platform::aliyun), at_ms(0)).ca_file, "/src/cellgate/etc/ca/aliyun-ca.pem");
        EXPECT_EQ(make_connect_params(test_session(Platform::onenet), at_ms(0)).ca_file, "/src/cellgate/etc/ca/onenet-ca.pem");
        CloudConfig c = test_session(Platform::aliyun);
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
    // The private OneNET MQTTS root its docs give for mqttstls.heclouds.com, pinned by fingerprint.
    EXPECT_EQ(fingerprint(dir / "onenet-ca.pem", &cn),
              "7D:E9:BC:4C:1A:ED:01:34:46:67:64:56:78:D4:49:74:12:10:B1:70:49:48:98:38:BF:63:79:53:B3:E9:01:17");
    EXPECT_EQ(cn, "OneNET MQTTS");
    // GlobalSign Root CA R1, which Aliyun documents for TLS on 1883 (Mozilla store copy).
    EXPECT_EQ(fingerprint(dir / "aliyun-ca.pem", &cn),
              "EB:D4:10:40:E4:BB:3E:C7:42:C9:E3:81:D3:1E:F2:A4:1A:48:B6:68:5C:96:E7:CE:F3:C1:DF:6C:D4:33:1C:99");
    EXPECT_EQ(cn, "GlobalSign Root CA");
}

// ---------------------------------------------------------------------------------------------
// The registry

TEST(PlatformNames, RoundTrip) {
    for (Platform p : {Platform::aliyun, Platform::onenet, Platform::onenet_legacy, Platform::generic}) {
        EXPECT_EQ(platform_from_string(to_string(p)), p);
        EXPECT_EQ(profile(p).id(), p) << "no profile registered for " << to_string(p);
    }
    EXPECT_STREQ(to_string(Platform::onenet_legacy), "onenet-legacy");
    for (const char* bad : {"", "Aliyun", "onenet_legacy", "aws", "generic "}) {
        EXPECT_FALSE(platform_from_string(bad)) << bad;
    }
}

TEST(PlatformRegistry, EveryProfileHoldsTogether) {
    std::set<std::string> names;
    for (const PlatformProfile* p : platform_profiles()) {
        SCOPED_TRACE(p->name());
        EXPECT_TRUE(names.insert(p->name()).second) << "two profiles named " << p->name();
        EXPECT_EQ(&profile(p->id()), p);

        // The config reader can read every key it declares.
        std::set<std::string_view> keys;
        for (const auto& k : p->config_keys()) {
            EXPECT_TRUE(keys.insert(k.name).second) << k.name;
            if (k.kind == ConfigKey::Kind::duration) {
                EXPECT_NE(k.duration, nullptr) << k.name;
                EXPECT_LE(k.min, k.max) << k.name;
            } else {
                EXPECT_NE(k.text, nullptr) << k.name;
            }
            if (k.kind == ConfigKey::Kind::choice) {
                EXPECT_FALSE(k.choices.empty()) << k.name;
            }
            if (k.kind == ConfigKey::Kind::text) {
                EXPECT_GT(k.max_len, 0u) << k.name;
            }
        }

        // Its test session is valid, and its defaults keep its own limits.
        const CloudConfig c = test_session(p->id());
        EXPECT_TRUE(check_platform_rules(c).empty()) << checks::dump(check_platform_rules(c));
        EXPECT_FALSE(p->endpoint(c).empty());
        EXPECT_EQ(check_rate_limit(p->id(), p->default_rate_limit()), "");
        EXPECT_GE(p->connect_spacing(), kMinConnectSpacing);
        EXPECT_GE(p->max_qos(), 0);
        EXPECT_LE(p->max_qos(), 2);
        EXPECT_GT(p->max_payload(), 0u);

        // Every template a route or a reply names exists.
        for (const auto& r : p->downlink_routes()) {
            EXPECT_NE(find_topic_template(p->id(), r.request), nullptr) << r.request;
            EXPECT_NE(find_topic_template(p->id(), r.reply), nullptr) << r.reply;
        }
        for (const auto name : p->post_reply_templates()) {
            EXPECT_NE(find_topic_template(p->id(), name), nullptr) << name;
        }
        EXPECT_EQ(p->downlink_routes().empty(), p->request_prefix().empty());
        if (p->thing_model()) {
            EXPECT_NE(find_topic_template(p->id(), "property_post"), nullptr);
            EXPECT_NE(find_topic_template(p->id(), "event_post"), nullptr);
            EXPECT_FALSE(p->post_reply_templates().empty());
            EXPECT_FALSE(p->reply_message_keys().empty());
        }
    }
}

}  // namespace
}  // namespace cellgate::cloud
