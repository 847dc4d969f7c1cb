// The `cloud:` and `backoff:` sections: the documented schema loads with the right values, secret
// files are read at load, and every platform rule is a config error that names the key and never
// the secret.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "daemon/config.hpp"

namespace cellgate {
namespace {

using namespace std::chrono_literals;
using cloud::Platform;

// Every secret in this file contains it, so one search proves none leaked into a message.
constexpr const char* kMark = "S3CR3T";

std::string all_errors(const ConfigResult& r) {
    std::string out;
    for (const auto& e : r.errors) out += e.to_string() + "\n";
    return out;
}

// A private directory with the secret and certificate files the configs point at.
class CloudConfigTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (std::filesystem::temp_directory_path() / "cellgate-cfg-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
        write("ali", std::string("ali-") + kMark + "-secret\n", 0600);
        // OneNET keys are base64 (the platform rules decode them).
        write("onenet", "UzNDUjNULW9uZW5ldC1rZXktMDE=\n", 0600);
        write("lab", std::string("lab-") + kMark + "\r\n", 0600);
        write("ca.pem", "-----BEGIN CERTIFICATE-----\n", 0644);
        write("gw.pem", "-----BEGIN CERTIFICATE-----\n", 0644);
        write("gw.key", "-----BEGIN PRIVATE KEY-----\n", 0600);
        write("empty", "", 0600);
        write("newline-only", "\n", 0600);
        write("two-lines", std::string(kMark) + "\nsecond\n", 0600);
        write("world", std::string("world-") + kMark + "\n", 0644);
    }

    void TearDown() override { std::filesystem::remove_all(dir_); }

    void write(const std::string& name, const std::string& content, mode_t mode) {
        const auto path = dir_ / name;
        std::ofstream(path, std::ios::binary) << content;
        ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    }

    std::string path(const std::string& name) const { return (dir_ / name).string(); }

    // `{dir}` in the YAML stands for the temp directory.
    ConfigResult load(std::string yaml) const {
        for (size_t at; (at = yaml.find("{dir}")) != std::string::npos;) yaml.replace(at, 5, dir_.string());
        auto r = load_config_string(yaml, "test.yaml");
        for (const auto& e : r.errors)
            EXPECT_EQ(e.to_string().find(kMark), std::string::npos) << "secret leaked: " << e.to_string();
        return r;
    }

    std::filesystem::path dir_;
};

// The documented schema, with the secret and certificate files in the temp directory.
constexpr const char* kSchema = R"(
cloud:
  - name: ali
    platform: aliyun
    product_key: a1B2c3D4e5F
    device_name: gw-001
    device_secret_file: {dir}/ali   # or device_secret: "..."
    region: cn-shanghai      # or instance: iot-06z00abc, or endpoint: host:port (overrides both)
    tls: true
    keepalive: 120s
  - name: onenet
    platform: onenet
    product_id: "238322"
    device_name: gw-001
    device_key_file: {dir}/onenet   # or device_key: "..."
    endpoint: mqttstls.heclouds.com:8883      # optional; default per platform
    tls: true
    keepalive: 120s
  - name: lab
    platform: generic
    endpoint: broker.example:8883
    client_id: gw-001
    username: gw
    password_file: {dir}/lab
    tls: { ca: {dir}/ca.pem, cert: {dir}/gw.pem, key: {dir}/gw.key }
    keepalive: 120s
backoff:
  initial: 1s
  max: 120s
  stable_after: 60s
)";

TEST_F(CloudConfigTest, IssueSchemaLoadsWithTheRightValues) {
    const auto r = load(kSchema);
    ASSERT_TRUE(r.errors.empty()) << all_errors(r);
    const auto& c = r.config->cloud;
    ASSERT_EQ(c.size(), 3u);

    EXPECT_EQ(c[0].name, "ali");
    EXPECT_EQ(c[0].platform, Platform::aliyun);
    EXPECT_EQ(c[0].product_key, "a1B2c3D4e5F");
    EXPECT_EQ(c[0].device_name, "gw-001");
    EXPECT_EQ(c[0].device_secret, std::string("ali-") + kMark + "-secret");  // trailing newline stripped
    EXPECT_EQ(c[0].region, "cn-shanghai");
    EXPECT_EQ(c[0].instance, "");
    EXPECT_EQ(c[0].endpoint, "");
    EXPECT_TRUE(c[0].tls.enabled);
    EXPECT_TRUE(c[0].tls.verify);
    EXPECT_EQ(c[0].keepalive, 120s);
    EXPECT_EQ(c[0].sign_method, "hmacsha256");
    EXPECT_EQ(c[0].config_line, 3);

    EXPECT_EQ(c[1].name, "onenet");
    EXPECT_EQ(c[1].platform, Platform::onenet);
    EXPECT_EQ(c[1].product_id, "238322");
    EXPECT_EQ(c[1].device_name, "gw-001");
    EXPECT_EQ(c[1].device_key, "UzNDUjNULW9uZW5ldC1rZXktMDE=");
    EXPECT_EQ(c[1].endpoint, "mqttstls.heclouds.com:8883");
    EXPECT_TRUE(c[1].tls.enabled);
    EXPECT_EQ(c[1].keepalive, 120s);
    EXPECT_EQ(c[1].token_method, "sha256");

    EXPECT_EQ(c[2].name, "lab");
    EXPECT_EQ(c[2].platform, Platform::generic);
    EXPECT_EQ(c[2].endpoint, "broker.example:8883");
    EXPECT_EQ(c[2].client_id, "gw-001");
    EXPECT_EQ(c[2].username, "gw");
    EXPECT_EQ(c[2].password, std::string("lab-") + kMark);  // CRLF stripped
    EXPECT_TRUE(c[2].tls.enabled);
    EXPECT_EQ(c[2].tls.ca_file, path("ca.pem"));
    EXPECT_EQ(c[2].tls.cert_file, path("gw.pem"));
    EXPECT_EQ(c[2].tls.key_file, path("gw.key"));
    EXPECT_EQ(c[2].keepalive, 120s);

    EXPECT_EQ(r.config->backoff.initial, 1s);
    EXPECT_EQ(r.config->backoff.max, 120s);
    EXPECT_EQ(r.config->backoff.stable_after, 60s);
}

TEST_F(CloudConfigTest, EveryOtherKeyLoads) {
    const auto r = load(R"(
cloud:
  - name: ali-2
    platform: aliyun
    product_key: a1B2c3D4e5F
    device_name: gw-001
    device_secret: "inline-S3CR3T"
    instance: iot-06z00abc
    endpoint: "[2001:db8::1]:8883"
    sign_method: hmacsha1
    client_id: my_gw
    tls: { verify: false }
    keepalive: 1200s
  - name: one_2
    platform: onenet
    product_id: 238322
    device_name: gw_001
    device_key: "UzNDUjNULW9uZW5ldC1rZXktMDE="
    token_lifetime: 24h
    token_method: md5
    tls: false
    keepalive: 5m
  - name: legacy
    platform: onenet-legacy
    product_id: 123456
    device_id: 987654321
    auth_info_file: {dir}/lab
    keepalive: 600s
  - name: plain
    platform: generic
    endpoint: 127.0.0.1:1883
    client_id: gw-001
    username: gw
    password: "S3CR3T-pw"
backoff:
  initial: 100ms
  max: 1h
  stable_after: 1s
)");
    ASSERT_TRUE(r.errors.empty()) << all_errors(r);
    const auto& c = r.config->cloud;
    ASSERT_EQ(c.size(), 4u);
    EXPECT_EQ(c[0].device_secret, "inline-S3CR3T");
    EXPECT_EQ(c[0].instance, "iot-06z00abc");
    EXPECT_EQ(c[0].endpoint, "[2001:db8::1]:8883");
    EXPECT_EQ(c[0].sign_method, "hmacsha1");
    EXPECT_EQ(c[0].client_id, "my_gw");
    EXPECT_TRUE(c[0].tls.enabled);  // a tls map means TLS
    EXPECT_FALSE(c[0].tls.verify);
    EXPECT_EQ(c[0].keepalive, 1200s);
    EXPECT_EQ(c[1].product_id, "238322");  // a YAML number is taken as written
    EXPECT_EQ(c[1].token_lifetime, 24h);
    EXPECT_EQ(c[1].token_method, "md5");
    EXPECT_FALSE(c[1].tls.enabled);
    EXPECT_EQ(c[1].keepalive, 300s);
    EXPECT_EQ(c[2].platform, Platform::onenet_legacy);
    EXPECT_EQ(c[2].product_id, "123456");
    EXPECT_EQ(c[2].device_id, "987654321");
    EXPECT_EQ(c[2].auth_info, std::string("lab-") + kMark);
    EXPECT_EQ(c[3].password, "S3CR3T-pw");
    EXPECT_EQ(r.config->backoff.initial, 100ms);
    EXPECT_EQ(r.config->backoff.max, 1h);
    EXPECT_EQ(r.config->backoff.stable_after, 1s);
}

TEST_F(CloudConfigTest, DefaultsWithoutCloudOrBackoff) {
    const auto none = load("log_level: info\n");
    ASSERT_TRUE(none.errors.empty()) << all_errors(none);
    EXPECT_TRUE(none.config->cloud.empty());
    const cloud::BackoffConfig defaults;
    EXPECT_EQ(none.config->backoff.initial, defaults.initial);
    EXPECT_EQ(none.config->backoff.max, defaults.max);
    EXPECT_EQ(none.config->backoff.stable_after, defaults.stable_after);

    const auto empty = load("cloud:\nbackoff:\n");
    ASSERT_TRUE(empty.errors.empty()) << all_errors(empty);
    EXPECT_TRUE(empty.config->cloud.empty());

    const auto minimal = load("cloud:\n  - name: lab\n    platform: generic\n    endpoint: h:1883\n"
                              "    client_id: gw\n");
    ASSERT_TRUE(minimal.errors.empty()) << all_errors(minimal);
    const auto& c = minimal.config->cloud.at(0);
    EXPECT_FALSE(c.tls.enabled);
    EXPECT_EQ(c.keepalive, 120s);
    EXPECT_EQ(c.username, "");
    EXPECT_EQ(c.password, "");
}

std::string modem_on(const std::string& port, const std::string& vendor = "") {
    return "modem:\n  port: " + port + "\n" + (vendor.empty() ? "" : "  vendor: " + vendor + "\n") +
           "  apn:\n    name: cmnet\n";
}

const std::string kLabEntry = "  - name: lab\n    platform: generic\n    endpoint: h:1883\n    client_id: gw\n";

TEST_F(CloudConfigTest, TransportDefaultsToTheModuleOnlyForAModemOnAUart) {
    struct Case {
        std::string modem;
        cloud::Transport want;
    } cases[] = {
        {"", cloud::Transport::host},
        {modem_on("auto"), cloud::Transport::host},
        {modem_on("/dev/ttyUSB2", "quectel"), cloud::Transport::host},
        {modem_on("/dev/serial/by-id/usb-Quectel_EC25-if02-port0"), cloud::Transport::host},
        {modem_on("/dev/ttyAMA0"), cloud::Transport::module},
        {modem_on("/dev/serial0", "luat"), cloud::Transport::module},
        {modem_on("/dev/ttyS0", "huawei"), cloud::Transport::host},
    };
    for (const auto& c : cases) {
        const auto r = load(c.modem + "cloud:\n" + kLabEntry);
        ASSERT_TRUE(r.errors.empty()) << c.modem << all_errors(r);
        EXPECT_EQ(r.config->cloud.at(0).transport, c.want) << c.modem;
    }
    const auto forced = load(modem_on("/dev/ttyAMA0") + "cloud:\n" + kLabEntry + "    transport: host\n");
    ASSERT_TRUE(forced.errors.empty()) << all_errors(forced);
    EXPECT_EQ(forced.config->cloud.at(0).transport, cloud::Transport::host);
}

TEST_F(CloudConfigTest, RouteTopicsAreHeldToTheModulesTopicLimitAtLoad) {
    // Luat's MQTT client takes topics of at most 256 bytes; Quectel's 1024.
    const std::string long_topic(300, 't');
    const auto route = "routes:\n  - from: app/#\n    to: lab\n    as: raw\n    topic: " + long_topic + "\n";
    const auto luat = load(modem_on("/dev/ttyAMA0", "luat") + "cloud:\n" + kLabEntry + route);
    ASSERT_EQ(luat.errors.size(), 1u) << all_errors(luat);
    EXPECT_EQ(luat.errors[0].key, "routes[0].topic");
    EXPECT_NE(luat.errors[0].message.find("longer than the module's MQTT client takes (300 > 256 bytes)"),
              std::string::npos) << luat.errors[0].message;
    const auto quectel = load(modem_on("/dev/ttyAMA0", "quectel") + "cloud:\n" + kLabEntry + route);
    EXPECT_TRUE(quectel.errors.empty()) << all_errors(quectel);
    const auto host = load(modem_on("/dev/ttyAMA0", "luat") + "cloud:\n" + kLabEntry + "    transport: host\n" + route);
    EXPECT_TRUE(host.errors.empty()) << all_errors(host);
}

TEST_F(CloudConfigTest, ModuleTransportTakesTlsInEveryCommandSet) {
    for (const std::string vendor : {"luat", "quectel", "simcom", ""}) {
        const auto r = load(modem_on("/dev/ttyAMA0", vendor) + "cloud:\n" + kLabEntry +
                            "    tls: {ca: /etc/ssl/certs/ca-certificates.crt}\n    transport: module\n");
        ASSERT_TRUE(r.errors.empty()) << vendor << all_errors(r);
        EXPECT_EQ(r.config->cloud.at(0).transport, cloud::Transport::module) << vendor;
        EXPECT_TRUE(r.config->cloud.at(0).tls.enabled) << vendor;
    }
}

TEST_F(CloudConfigTest, ModuleTransportIsRefusedWhereItCannotWork) {
    struct Case {
        std::string yaml, key, message;
    } cases[] = {
        {"cloud:\n" + kLabEntry + "    transport: module\n", "cloud[0].transport", "needs a modem: section"},
        {modem_on("/dev/ttyUSB2", "huawei") + "cloud:\n" + kLabEntry + "    transport: module\n",
         "cloud[0].transport", "has no MQTT command set"},
        {modem_on("/dev/ttyAMA0", "quectel") + "cloud:\n" + kLabEntry + "    keepalive: 7200s\n",
         "cloud[0].keepalive", "for the MQTT client of a quectel module"},
        {modem_on("/dev/ttyAMA0", "luat") + "cloud:\n" + kLabEntry +
             "  - name: two\n    platform: generic\n    endpoint: h:1883\n    client_id: gw2\n",
         "cloud[1].transport", "a luat module has 1 MQTT client"},
        {modem_on("/dev/ttyAMA0") + "cloud:\n" + kLabEntry + "    transport: satellite\n", "cloud[0].transport",
         "host | module"},
    };
    for (const auto& c : cases) {
        const auto r = load(c.yaml);
        ASSERT_EQ(r.errors.size(), 1u) << c.yaml << all_errors(r);
        EXPECT_EQ(r.errors[0].key, c.key) << c.yaml;
        EXPECT_NE(r.errors[0].message.find(c.message), std::string::npos) << r.errors[0].message;
    }
}

TEST_F(CloudConfigTest, SecretFileEndingsAreStrippedOnce) {
    const auto r = load("cloud:\n  - name: lab\n    platform: generic\n    endpoint: h:1883\n    client_id: gw\n"
                        "    username: gw\n    password_file: {dir}/two-lines\n");
    ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
    EXPECT_EQ(r.errors[0].key, "cloud[0].password_file");
    EXPECT_NE(r.errors[0].message.find("contains a line break"), std::string::npos) << r.errors[0].message;
    // Nor the file's name: what is in a *_file key may be the secret itself.
    EXPECT_EQ(r.errors[0].to_string().find(path("two-lines")), std::string::npos) << r.errors[0].message;
}

TEST_F(CloudConfigTest, WorldReadableSecretFileIsRefused) {
    const auto r = load("cloud:\n  - name: lab\n    platform: generic\n    endpoint: h:1883\n    client_id: gw\n"
                        "    username: gw\n    password_file: {dir}/world\n");
    ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
    EXPECT_EQ(r.errors[0].key, "cloud[0].password_file");
    EXPECT_EQ(r.errors[0].message,
              "is readable by every user; secret files are root:cellgate 0640 (or cellgate's own, 0600)");
}

// A modem section: the sessions then run over cellular.
constexpr const char* kModem = "modem:\n  port: auto\n  apn: { name: cmnet }\n";

std::string all_warnings(const ConfigResult& r) {
    std::string out;
    for (const auto& w : r.warnings) out += w.to_string() + "\n";
    return out;
}

TEST_F(CloudConfigTest, PlatformWarningsAreWarningsNotErrors) {
    const auto r = load(std::string(kModem) + "cloud:\n  - name: lab\n    platform: generic\n    endpoint: h:1883\n"
                        "    client_id: gw\n    keepalive: 300s\n");
    ASSERT_TRUE(r.errors.empty()) << all_errors(r);
    ASSERT_EQ(r.warnings.size(), 1u) << all_warnings(r);
    const std::string w = r.warnings[0].to_string();
    // At the key it is about.
    EXPECT_TRUE(w.starts_with("test.yaml:9:16: warning: cloud[0].keepalive: ")) << w;
    EXPECT_NE(w.find("240s"), std::string::npos) << w;
}

// Within the platform's own range the keepalive is the user's: on cellular (a modem section)
// a value the radio or carrier NAT dislikes is a warning, without a modem it is nothing.
TEST_F(CloudConfigTest, KeepaliveWithinThePlatformRangeIsOnlyAdviceOnCellular) {
    const std::string aliyun = "cloud:\n  - name: ali\n    platform: aliyun\n    product_key: a1B2c3D4e5F\n"
                               "    device_name: gw-001\n    region: cn-shanghai\n    tls: true\n"
                               "    device_secret_file: {dir}/ali\n";
    const std::string generic = "cloud:\n  - name: lab\n    platform: generic\n    endpoint: h:1883\n"
                                "    client_id: gw\n";
    struct Case {
        std::string yaml;
        const char* warning;  // "" = none
    };
    const Case cases[] = {
        {aliyun + "    keepalive: 30s\n", ""},
        {kModem + aliyun + "    keepalive: 30s\n",
         "test.yaml:12:16: warning: cloud[0].keepalive: keepalive below 60s wakes the radio too often on cellular "
         "(got 30s)"},
        {aliyun + "    keepalive: 60s\n", ""},
        {kModem + aliyun + "    keepalive: 60s\n", ""},
        {generic + "    keepalive: 10s\n", ""},
        {kModem + generic + "    keepalive: 10s\n",
         "test.yaml:9:16: warning: cloud[0].keepalive: keepalive below 60s"},
        {generic + "    keepalive: 300s\n", ""},
    };
    for (const auto& k : cases) {
        SCOPED_TRACE(k.yaml);
        const auto r = load(k.yaml);
        ASSERT_TRUE(r.errors.empty()) << all_errors(r);
        // The secret file's owner is advised on too, depending on who runs the test.
        std::vector<std::string> about_keepalive;
        for (const auto& w : r.warnings)
            if (w.key == "cloud[0].keepalive") about_keepalive.push_back(w.to_string());
        if (*k.warning == '\0') {
            EXPECT_TRUE(about_keepalive.empty()) << all_warnings(r);
        } else {
            ASSERT_EQ(about_keepalive.size(), 1u) << all_warnings(r);
            EXPECT_TRUE(about_keepalive[0].starts_with(k.warning)) << about_keepalive[0];
        }
    }
}

TEST_F(CloudConfigTest, AllErrorsOfSeveralEntriesAreReportedAtOnce) {
    const auto r = load(R"(cloud:
  - name: a
    platform: azure
  - name: b
    platform: generic
    endpoint: nohost
    client_id: gw
  - name: c
    platform: aliyun
    product_key: pk
    device_name: dn
    device_secret: x
    region: cn-shanghai
    keepalive: 20s
)");
    ASSERT_EQ(r.errors.size(), 3u) << all_errors(r);
    EXPECT_EQ(r.errors[0].key, "cloud[0].platform");
    EXPECT_EQ(r.errors[1].key, "cloud[1].endpoint");
    EXPECT_EQ(r.errors[2].key, "cloud[2].keepalive");
    EXPECT_FALSE(r.config.has_value());
}

// ---- one rejection per case ----

struct Rejection {
    const char* name;
    std::string entry;    // YAML lines of the first cloud entry (after "cloud:\n  - "), or a whole file
    const char* key;
    int line;             // 0 = not checked
    const char* message;  // substring
    bool whole_file = false;
};

void PrintTo(const Rejection& c, std::ostream* os) { *os << c.name; }

struct RejectionName {
    std::string operator()(const ::testing::TestParamInfo<Rejection>& p) const { return p.param.name; }
};

class CloudConfigRejects : public CloudConfigTest, public ::testing::WithParamInterface<Rejection> {};

TEST_P(CloudConfigRejects, WithOneErrorNamingTheKey) {
    const auto& c = GetParam();
    const auto r = load(c.whole_file ? c.entry : "cloud:\n  - " + c.entry);
    EXPECT_FALSE(r.config.has_value());
    ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
    EXPECT_EQ(r.errors[0].key, c.key) << r.errors[0].to_string();
    if (c.line) {
        EXPECT_EQ(r.errors[0].line, c.line) << r.errors[0].to_string();
    }
    EXPECT_NE(r.errors[0].message.find(c.message), std::string::npos) << r.errors[0].to_string();
}

// Valid entries to mutate; line 2 is the entry's first line.
const std::string kGeneric = "name: lab\n    platform: generic\n    endpoint: broker:1883\n    client_id: gw\n";
const std::string kAliyun =
    "name: ali\n    platform: aliyun\n    product_key: a1B2c3D4e5F\n    device_name: gw-001\n"
    "    region: cn-shanghai\n";
const std::string kAliyunSecret = kAliyun + "    device_secret: \"S3CR3T\"\n";
const std::string kOnenet =
    "name: one\n    platform: onenet\n    product_id: \"238322\"\n    device_name: gw-001\n"
    "    device_key: \"UzNDUjNULW9uZW5ldC1rZXktMDE=\"\n";

INSTANTIATE_TEST_SUITE_P(
    Structure, CloudConfigRejects,
    ::testing::Values(
        Rejection{"CloudIsAMap", "cloud:\n  lab: {}\n", "cloud", 2, "expected a list of sessions", true},
        Rejection{"EntryIsAScalar", "cloud:\n  - lab\n", "cloud[0]", 2, "expected a map with keys name, platform",
                  true},
        Rejection{"MissingPlatform", "name: lab\n    endpoint: h:1\n", "cloud[0].platform", 2, "is required"},
        Rejection{"BadPlatform", "name: lab\n    platform: azure\n", "cloud[0].platform", 3,
                  "must be one of aliyun | onenet | onenet-legacy | generic, got 'azure'"},
        Rejection{"PlatformIsCaseSensitive", "name: lab\n    platform: Aliyun\n", "cloud[0].platform", 3,
                  "got 'Aliyun'"},
        Rejection{"MissingName", "platform: generic\n    endpoint: h:1883\n    client_id: gw\n", "cloud[0].name", 2,
                  "is required"},
        Rejection{"NameWithUpperCase", "name: Lab\n    platform: generic\n    endpoint: h:1883\n    client_id: gw\n",
                  "cloud[0].name", 2, "must be 1-32 characters of a-z 0-9 _ -, got 'Lab'"},
        Rejection{"NameTooLong",
                  "name: " + std::string(33, 'a') + "\n    platform: generic\n    endpoint: h:1883\n    client_id: gw\n",
                  "cloud[0].name", 2, "1-32 characters"},
        Rejection{"NameWithDot", "name: a.b\n    platform: generic\n    endpoint: h:1883\n    client_id: gw\n",
                  "cloud[0].name", 2, "got 'a.b'"},
        Rejection{"DuplicateName", "cloud:\n  - " + kGeneric + "  - " + kGeneric, "cloud[1].name", 6,
                  "duplicate session name 'lab' (first used on line 2)", true},
        Rejection{"ForeignKeyOnGeneric", kGeneric + "    product_key: pk\n", "cloud[0].product_key", 6,
                  "key 'product_key' is not used by platform generic; allowed here: name, platform, endpoint, tls, "
                  "keepalive, rate_limit, transport, client_id, username, password, password_file"},
        Rejection{"ForeignKeyOnAliyun", kAliyunSecret + "    password: x\n", "cloud[0].password", 8,
                  "is not used by platform aliyun"},
        Rejection{"UnknownKey", kGeneric + "    passwd: x\n", "cloud[0].passwd", 6, "unknown key 'passwd'"},
        Rejection{"DuplicateKey", kGeneric + "    client_id: gw2\n", "cloud[0].client_id", 6, "duplicate key"}),
    RejectionName{});

INSTANTIATE_TEST_SUITE_P(
    Secrets, CloudConfigRejects,
    ::testing::Values(
        Rejection{"AliyunMissingSecret", kAliyun, "cloud[0].device_secret", 2,
                  "aliyun requires device_secret or device_secret_file"},
        Rejection{"SecretAndSecretFile", kAliyunSecret + "    device_secret_file: {dir}/ali\n",
                  "cloud[0].device_secret_file", 8, "set either device_secret or device_secret_file, not both"},
        Rejection{"SecretFileMissing", kAliyun + "    device_secret_file: {dir}/nope\n", "cloud[0].device_secret_file",
                  7, "cannot open: No such file or directory"},
        Rejection{"SecretFileIsADirectory", kAliyun + "    device_secret_file: {dir}\n",
                  "cloud[0].device_secret_file", 7, "is a directory, not a regular file"},
        Rejection{"SecretFileIsNotRegular", kAliyun + "    device_secret_file: /dev/null\n",
                  "cloud[0].device_secret_file", 7, "is a character device, not a regular file"},
        Rejection{"SecretFileRelative", kAliyun + "    device_secret_file: secrets/ali\n",
                  "cloud[0].device_secret_file", 7, "must be an absolute file path"},
        // The secret itself in the file key: the error must not carry it into the journal.
        Rejection{"SecretFileKeyHoldsTheSecret", kAliyun + "    device_secret_file: ali-S3CR3T-pasted\n",
                  "cloud[0].device_secret_file", 7, "(the value is not shown: it may be the secret itself)"},
        Rejection{"SecretFileEmpty", kAliyun + "    device_secret_file: {dir}/empty\n",
                  "cloud[0].device_secret_file", 7, "the file is empty"},
        Rejection{"SecretFileOnlyNewline", kAliyun + "    device_secret_file: {dir}/newline-only\n",
                  "cloud[0].device_secret_file", 7, "is empty"},
        Rejection{"InlineSecretEmpty", kAliyun + "    device_secret: \"\"\n", "cloud[0].device_secret", 7,
                  "is empty"},
        Rejection{"InlineSecretWithNewline", kAliyun + "    device_secret: \"S3CR3T\\nmore\"\n",
                  "cloud[0].device_secret", 7, "contains a line break"},
        Rejection{"InlineSecretTooLong", kAliyun + "    device_secret: " + std::string(4097, 'S') + "\n",
                  "cloud[0].device_secret", 7, "longer than 4096 bytes"},
        Rejection{"InlineSecretAList", kAliyun + "    device_secret: [S3CR3T]\n", "cloud[0].device_secret", 7,
                  "expected a string, got a list"},
        Rejection{"OnenetKeyNotBase64", "name: one\n    platform: onenet\n    product_id: \"238322\"\n"
                                        "    device_name: gw-001\n    device_key: \"S3CR3T!!\"\n",
                  "cloud[0].device_key", 6, "onenet device_key must be the base64 key"},
        Rejection{"OnenetMissingKey", "name: one\n    platform: onenet\n    product_id: \"238322\"\n"
                                      "    device_name: gw-001\n",
                  "cloud[0].device_key", 2, "onenet requires device_key or device_key_file"},
        Rejection{"LegacyMissingAuthInfo", "name: old\n    platform: onenet-legacy\n    product_id: 1\n"
                                           "    device_id: 2\n    keepalive: 120s\n",
                  "cloud[0].auth_info", 2, "onenet-legacy requires auth_info or auth_info_file"},
        Rejection{"GenericPasswordWithoutUsername", kGeneric + "    password: S3CR3T\n", "cloud[0].password", 6,
                  "only with a username"}),
    RejectionName{});

INSTANTIATE_TEST_SUITE_P(
    PlatformRules, CloudConfigRejects,
    ::testing::Values(
        Rejection{"AliyunMissingProductKey",
                  "name: ali\n    platform: aliyun\n    device_name: gw\n    device_secret: x\n    region: cn-shanghai\n",
                  "cloud[0].product_key", 2, "aliyun requires product_key"},
        Rejection{"AliyunWithoutRegionInstanceOrEndpoint",
                  "name: ali\n    platform: aliyun\n    product_key: pk\n    device_name: gw\n    device_secret: x\n",
                  "cloud[0].region", 2, "aliyun requires region (legacy public instance), instance or endpoint"},
        Rejection{"AliyunKeepaliveTooShort", kAliyunSecret + "    keepalive: 20s\n", "cloud[0].keepalive", 8,
                  "aliyun requires keepalive between 30s and 1200s (got 20s)"},
        Rejection{"AliyunKeepaliveTooLong", kAliyunSecret + "    keepalive: 1201s\n", "cloud[0].keepalive", 8,
                  "aliyun requires keepalive between 30s and 1200s (got 1201s)"},
        Rejection{"AliyunDeviceNameWithAmpersand",
                  "name: ali\n    platform: aliyun\n    product_key: pk\n    device_name: a&b\n"
                  "    device_secret: x\n    region: cn-shanghai\n",
                  "cloud[0].device_name", 5, "must not contain | , = & or blanks"},
        Rejection{"AliyunBadSignMethod", kAliyunSecret + "    sign_method: sha256\n", "cloud[0].sign_method", 8,
                  "must be one of hmacsha256 | hmacsha1 | hmacmd5, got 'sha256'"},
        Rejection{"AliyunBadInstance", kAliyunSecret + "    instance: iot.06z\n", "cloud[0].instance", 8,
                  "must be 1-63 characters of A-Z a-z 0-9 -"},
        Rejection{"OnenetKeepaliveTooLong", kOnenet + "    keepalive: 1801s\n", "cloud[0].keepalive", 7,
                  "onenet requires keepalive between 10s and 1800s (got 1801s)"},
        Rejection{"OnenetBadTokenMethod", kOnenet + "    token_method: sha512\n", "cloud[0].token_method", 7,
                  "must be one of sha256 | sha1 | md5"},
        Rejection{"OnenetTokenLifetimeTooShort", kOnenet + "    token_lifetime: 30s\n", "cloud[0].token_lifetime", 7,
                  "must be between 1m and 87600h"},
        Rejection{"OnenetDeviceNameWithDot",
                  "name: one\n    platform: onenet\n    product_id: \"238322\"\n    device_name: gw.1\n"
                  "    device_key: \"UzNDUjNULW9uZW5ldC1rZXktMDE=\"\n",
                  "cloud[0].device_name", 5, "may only contain letters, digits, _ and -"},
        Rejection{"LegacyWithTls", "name: old\n    platform: onenet-legacy\n    product_id: 1\n    device_id: 2\n"
                                   "    auth_info: x\n    tls: true\n    keepalive: 120s\n",
                  "cloud[0].tls", 7, "plain TCP only"},
        Rejection{"LegacyKeepaliveTooShort", "name: old\n    platform: onenet-legacy\n    product_id: 1\n"
                                             "    device_id: 2\n    auth_info: x\n    keepalive: 60s\n",
                  "cloud[0].keepalive", 7, "onenet-legacy requires keepalive between 120s and 1200s"},
        Rejection{"GenericMissingEndpoint", "name: lab\n    platform: generic\n    client_id: gw\n",
                  "cloud[0].endpoint", 2, "generic requires endpoint"},
        Rejection{"GenericMissingClientId", "name: lab\n    platform: generic\n    endpoint: h:1883\n",
                  "cloud[0].client_id", 2, "generic requires client_id"}),
    RejectionName{});

INSTANTIATE_TEST_SUITE_P(
    Values, CloudConfigRejects,
    ::testing::Values(
        Rejection{"EndpointWithoutPort", "name: lab\n    platform: generic\n    endpoint: broker.example\n"
                                         "    client_id: gw\n",
                  "cloud[0].endpoint", 4, "must be host:port, got 'broker.example'"},
        Rejection{"EndpointEmptyHost", "name: lab\n    platform: generic\n    endpoint: \":1883\"\n    client_id: gw\n",
                  "cloud[0].endpoint", 4, "empty host"},
        Rejection{"EndpointPortZero", "name: lab\n    platform: generic\n    endpoint: h:0\n    client_id: gw\n",
                  "cloud[0].endpoint", 4, "port between 1 and 65535"},
        Rejection{"EndpointPortTooBig", "name: lab\n    platform: generic\n    endpoint: h:65536\n    client_id: gw\n",
                  "cloud[0].endpoint", 4, "port between 1 and 65535"},
        Rejection{"EndpointPortWord", "name: lab\n    platform: generic\n    endpoint: h:mqtt\n    client_id: gw\n",
                  "cloud[0].endpoint", 4, "port between 1 and 65535"},
        Rejection{"EndpointBareIpv6", "name: lab\n    platform: generic\n    endpoint: \"::1:1883\"\n    client_id: gw\n",
                  "cloud[0].endpoint", 4, "in brackets"},
        Rejection{"EndpointUrl", "name: lab\n    platform: generic\n    endpoint: mqtt://h:1883\n    client_id: gw\n",
                  "cloud[0].endpoint", 4, "must be host:port, not a URL"},
        Rejection{"TlsWord", kGeneric + "    tls: yes\n", "cloud[0].tls", 6, "must be one of true | false, got 'yes'"},
        Rejection{"TlsList", kGeneric + "    tls: [a]\n", "cloud[0].tls", 6, "expected true, false or a map"},
        Rejection{"TlsUnknownKey", kGeneric + "    tls: { cafile: x }\n", "cloud[0].tls.cafile", 6,
                  "unknown key 'cafile'; allowed here: ca, cert, key, verify"},
        Rejection{"TlsCertWithoutKey", kGeneric + "    tls: { cert: {dir}/gw.pem }\n", "cloud[0].tls.cert", 6,
                  "needs its tls.key too"},
        Rejection{"TlsCaMissing", kGeneric + "    tls: { ca: {dir}/missing.pem }\n", "cloud[0].tls.ca", 6,
                  "missing.pem: cannot open: No such file or directory"},
        Rejection{"TlsVerifyWord", kGeneric + "    tls: { verify: no }\n", "cloud[0].tls.verify", 6,
                  "must be one of true | false"},
        Rejection{"KeepaliveNoUnit", kGeneric + "    keepalive: 120\n", "cloud[0].keepalive", 6, "has no unit"},
        Rejection{"KeepaliveFraction", kGeneric + "    keepalive: 90s500ms\n", "cloud[0].keepalive", 6,
                  "must be whole seconds, got 1m30s500ms"},
        Rejection{"KeepaliveOverMqttLimit", kGeneric + "    keepalive: 65536s\n", "cloud[0].keepalive", 6,
                  "must be between 1s and 18h12m15s"},
        Rejection{"ClientIdWithControlChar", "name: lab\n    platform: generic\n    endpoint: h:1\n"
                                             "    client_id: \"a\\tb\"\n",
                  "cloud[0].client_id", 5, "without control characters"}),
    RejectionName{});

INSTANTIATE_TEST_SUITE_P(
    Backoff, CloudConfigRejects,
    ::testing::Values(
        Rejection{"InitialTooShort", "backoff:\n  initial: 50ms\n", "backoff.initial", 2,
                  "must be between 100ms and 1m, got 50ms", true},
        Rejection{"InitialTooLong", "backoff:\n  initial: 61s\n", "backoff.initial", 2, "between 100ms and 1m", true},
        Rejection{"MaxBelowInitial", "backoff:\n  initial: 30s\n  max: 10s\n", "backoff.max", 3,
                  "must be at least initial (30s), got 10s", true},
        Rejection{"MaxBelowDefaultInitial", "backoff:\n  max: 500ms\n", "backoff.max", 2,
                  "must be at least initial (1s), got 500ms", true},
        Rejection{"MaxTooLong", "backoff:\n  max: 2h\n", "backoff.max", 2, "must be between 100ms and 1h", true},
        Rejection{"StableAfterZero", "backoff:\n  stable_after: 0s\n", "backoff.stable_after", 2,
                  "must be between 1s and 1h, got 0s", true},
        Rejection{"UnknownKey", "backoff:\n  jitter: full\n", "backoff.jitter", 2,
                  "allowed here: initial, max, stable_after", true},
        Rejection{"NotAMap", "backoff: 1s\n", "backoff", 1, "expected a map with keys initial, max, stable_after",
                  true}),
    RejectionName{});

}  // namespace
}  // namespace cellgate
