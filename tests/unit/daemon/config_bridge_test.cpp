// The bridge's sections (`local:`, `routes:`, `downlink:`, `outbox:`, a session's `rate_limit:`):
// the documented schema loads with the right values and defaults, and every rule is a config error
// with file, line, column and key.
#include <gtest/gtest.h>

#include <string>

#include "daemon/config.hpp"
#include "unit/support/config_errors.hpp"
#include "unit/support/temp_dir.hpp"

namespace cellgate {
namespace {

using namespace std::chrono_literals;
using cloud::Platform;
using cloud::UplinkKind;

using testing::all_errors;

constexpr const char* kSessions = R"(
cloud:
  - name: ali
    platform: aliyun
    product_key: a1B2c3D4e5F
    device_name: gw-001
    device_secret: "ali-secret"
    region: cn-shanghai
  - name: one
    platform: onenet
    product_id: "238322"
    device_name: gw-001
    device_key: "UzNDUjNULW9uZW5ldC1rZXktMDE="
  - name: lab
    platform: generic
    endpoint: 127.0.0.1:1883
    client_id: gw-001
)";

ConfigResult load(const std::string& tail) { return load_config_string(std::string(kSessions) + tail, "test.yaml"); }

// Every bridge key, as the README and etc/cellgate.yaml document them.
TEST(BridgeConfig, DocumentedSchemaLoadsWithTheRightValues) {
    const testing::TempDir dir;
    const std::string password_file = dir.write("local", "local-pw\n", 0600);

    const auto r = load(R"(
local:
  endpoint: 127.0.0.1:1884
  client_id: gw-bridge
  username: cellgate
  password_file: )" + password_file + R"(
  status_topic: site-7/gw/status
routes:
  - from: sensors/+/telemetry      # local topic filter
    to: ali                        # cloud session name
    as: property                   # property | event:<identifier> | raw
  - from: alarms/#
    to: one
    as: event:overheat
    qos: 0
  - from: app/raw/#
    to: lab
    as: raw
    topic: "gw/{client_id}/{1}"    # template: session fields and wildcard captures
    qos: 2
downlink:
  - from: ali                      # property set / service calls / OneNET cmd/request
    to: cloud/ali                  # local topic prefix
  - from: lab
    to: cloud/lab
    filters: [cmd/#, "config/+"]
outbox:
  path: /tmp/cellgate-test/outbox.db
  max_messages: 5000
  max_bytes: 16MiB
  max_age: 48h
)");
    ASSERT_TRUE(r.errors.empty()) << all_errors(r);
    const auto& b = r.config->bridge;
    EXPECT_EQ(b.local.endpoint, "127.0.0.1:1884");
    EXPECT_EQ(b.local.client_id, "gw-bridge");
    EXPECT_EQ(b.local.username, "cellgate");
    EXPECT_EQ(b.local.password, "local-pw");
    EXPECT_EQ(b.local.status_topic, "site-7/gw/status");
    EXPECT_TRUE(b.local.configured);

    ASSERT_EQ(b.routes.size(), 3u);
    EXPECT_EQ(b.routes[0].from, "sensors/+/telemetry");
    EXPECT_EQ(b.routes[0].to, "ali");
    EXPECT_EQ(b.routes[0].as.kind, UplinkKind::property);
    EXPECT_EQ(b.routes[0].topic, "");  // the platform's
    EXPECT_EQ(b.routes[0].qos, 1);
    EXPECT_EQ(b.routes[0].config_line, 26);
    EXPECT_EQ(b.routes[1].as.kind, UplinkKind::event);
    EXPECT_EQ(b.routes[1].as.event_id, "overheat");
    EXPECT_EQ(b.routes[1].qos, 0);
    EXPECT_EQ(b.routes[2].as.kind, UplinkKind::raw);
    EXPECT_EQ(b.routes[2].topic, "gw/{client_id}/{1}");
    EXPECT_EQ(b.routes[2].qos, 2);

    ASSERT_EQ(b.downlink.size(), 2u);
    EXPECT_EQ(b.downlink[0].from, "ali");
    EXPECT_EQ(b.downlink[0].to, "cloud/ali");
    EXPECT_TRUE(b.downlink[0].filters.empty());
    EXPECT_EQ(b.downlink[1].filters, (std::vector<std::string>{"cmd/#", "config/+"}));

    EXPECT_TRUE(b.outbox_enabled);
    EXPECT_EQ(b.outbox.path, "/tmp/cellgate-test/outbox.db");
    EXPECT_EQ(b.outbox.max_messages, 5000u);
    EXPECT_EQ(b.outbox.max_bytes, 16u << 20);
    EXPECT_EQ(b.outbox.max_age, 48h);
    EXPECT_TRUE(b.needs_local());
}

TEST(BridgeConfig, DefaultsWithoutBridgeSections) {
    const auto r = load("");
    ASSERT_TRUE(r.errors.empty()) << all_errors(r);
    const auto& b = r.config->bridge;
    EXPECT_FALSE(b.outbox_enabled);  // sessions alone never touch the disk
    EXPECT_FALSE(b.needs_local());
    EXPECT_EQ(b.local.endpoint, "127.0.0.1:1883");
    EXPECT_EQ(b.local.client_id, "cellgated");
    EXPECT_EQ(b.local.status_topic, "cellgate/status");
    EXPECT_FALSE(b.local.configured);
    EXPECT_EQ(b.outbox.path, "/var/lib/cellgate/outbox.db");
    EXPECT_EQ(b.rate_limits.at("ali"), cloud::default_rate_limit(Platform::aliyun));
    EXPECT_EQ(b.rate_limits.at("one"), cloud::default_rate_limit(Platform::onenet));
    EXPECT_EQ(b.rate_limits.at("lab"), cloud::default_rate_limit(Platform::generic));
}

TEST(BridgeConfig, AnEmptyStatusTopicTurnsTheStatusOff) {
    const auto r = load("local:\n  status_topic: \"\"\n");
    ASSERT_TRUE(r.errors.empty()) << all_errors(r);
    EXPECT_EQ(r.config->bridge.local.status_topic, "");
    EXPECT_TRUE(r.config->bridge.local.configured);
}

TEST(BridgeConfig, AnOutboxSectionAloneEnablesTheOutbox) {
    const auto r = load("outbox:\n");
    ASSERT_TRUE(r.errors.empty()) << all_errors(r);
    EXPECT_TRUE(r.config->bridge.outbox_enabled);
    EXPECT_FALSE(r.config->bridge.needs_local());
}

TEST(BridgeConfig, RateLimitsWithinThePlatformsCeilingsLoad) {
    const auto r = load_config_string(R"(
cloud:
  - name: one
    platform: onenet
    product_id: "238322"
    device_name: gw-001
    device_key: "UzNDUjNULW9uZW5ldC1rZXktMDE="
    rate_limit: { per_second: 1, burst: 1 }
  - name: lab
    platform: generic
    endpoint: 127.0.0.1:1883
    client_id: gw-001
    rate_limit: { per_second: 250.5 }
)",
                                      "test.yaml");
    ASSERT_TRUE(r.errors.empty()) << all_errors(r);
    EXPECT_EQ(r.config->bridge.rate_limits.at("one"), (cloud::RateLimit{1, 1}));
    EXPECT_EQ(r.config->bridge.rate_limits.at("lab").per_second, 250.5);
}

struct Rejection {
    const char* name;
    std::string yaml;  // appended to kSessions (which ends on line 17)
    const char* key;
    int line;
    const char* message;  // a substring
};

class BridgeConfigRejects : public ::testing::TestWithParam<Rejection> {};

TEST_P(BridgeConfigRejects, WithOneErrorNamingTheKey) {
    const auto& c = GetParam();
    const auto r = load(c.yaml);
    ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
    const auto& e = r.errors[0];
    EXPECT_EQ(e.file, "test.yaml");
    EXPECT_EQ(e.key, c.key) << e.to_string();
    EXPECT_EQ(e.line, c.line) << e.to_string();
    EXPECT_GT(e.column, 0) << e.to_string();
    EXPECT_NE(e.message.find(c.message), std::string::npos) << e.to_string();
}

const std::string kRoute = "routes:\n  - from: s/+\n";  // lines 18-19

INSTANTIATE_TEST_SUITE_P(
    Rules, BridgeConfigRejects,
    ::testing::Values(
        // routes
        Rejection{"RoutesNotAList", "routes: {from: x}\n", "routes", 18, "expected a list of routes"},
        Rejection{"RouteUnknownKey", kRoute + "    to: ali\n    as: property\n    qso: 1\n", "routes[0].qso", 22,
                  "unknown key 'qso'"},
        Rejection{"RouteWithoutFrom", "routes:\n  - to: ali\n    as: property\n", "routes[0].from", 19, "is required"},
        Rejection{"RouteBadFilter", "routes:\n  - from: s/#/x\n    to: ali\n    as: property\n", "routes[0].from", 19,
                  "not a valid MQTT topic filter"},
        Rejection{"RouteToUnknownSession", kRoute + "    to: nope\n    as: property\n", "routes[0].to", 20,
                  "'nope' names no cloud session (configured: ali one lab)"},
        Rejection{"RouteWithoutAs", kRoute + "    to: ali\n", "routes[0].as", 19, "is required"},
        Rejection{"PropertyOnGeneric", kRoute + "    to: lab\n    as: property\n    topic: x\n", "routes[0].as", 21,
                  "aliyun or onenet"},
        Rejection{"UnknownFormat", kRoute + "    to: ali\n    as: json\n", "routes[0].as", 21, "json"},
        Rejection{"EventWithoutId", kRoute + "    to: ali\n    as: \"event:\"\n", "routes[0].as", 21, "event"},
        Rejection{"Qos2OnAliyun", kRoute + "    to: ali\n    as: property\n    qos: 2\n", "routes[0].qos", 22,
                  "aliyun accepts QoS 1 at most"},
        Rejection{"Qos3", kRoute + "    to: lab\n    as: raw\n    topic: x\n    qos: 3\n", "routes[0].qos", 23,
                  "between 0 and 2"},
        Rejection{"RawWithoutTopic", kRoute + "    to: lab\n    as: raw\n", "routes[0].topic", 19,
                  "is required for as: raw"},
        Rejection{"RawWithoutTopicOnAliyun", kRoute + "    to: ali\n    as: raw\n", "routes[0].topic", 19,
                  "is required for as: raw"},
        Rejection{"CaptureBeyondTheWildcards", kRoute + "    to: lab\n    as: raw\n    topic: \"gw/{1}/{2}\"\n",
                  "routes[0].topic", 22, "capture {2} does not exist (1 captured)"},
        Rejection{"UnknownField", kRoute + "    to: lab\n    as: raw\n    topic: \"gw/{product_key}\"\n",
                  "routes[0].topic", 22, "product_key"},
        Rejection{"TemplateBreaksThePlatformRule",
                  kRoute + "    to: ali\n    as: raw\n    topic: \"/" + std::string(130, 'a') + "/{1}\"\n",
                  "routes[0].topic", 22, "expands to"},
        // downlink
        Rejection{"DownlinkFromUnknownSession", "downlink:\n  - from: nope\n    to: cloud/x\n", "downlink[0].from",
                  19, "names no cloud session"},
        Rejection{"DownlinkWithoutTo", "downlink:\n  - from: ali\n", "downlink[0].to", 19, "is required"},
        Rejection{"DownlinkWildcardPrefix", "downlink:\n  - from: ali\n    to: cloud/+\n", "downlink[0].to", 20,
                  "without wildcards"},
        Rejection{"DownlinkTrailingSlash", "downlink:\n  - from: ali\n    to: cloud/\n", "downlink[0].to", 20,
                  "trailing '/'"},
        Rejection{"FiltersOnAliyun", "downlink:\n  - from: ali\n    to: cloud/ali\n    filters: [x/#]\n",
                  "downlink[0].filters", 21, "aliyun's are subscribed automatically"},
        Rejection{"GenericWithoutFilters", "downlink:\n  - from: lab\n    to: cloud/lab\n", "downlink[0].filters", 19,
                  "is required for platform generic"},
        Rejection{"GenericBadFilter", "downlink:\n  - from: lab\n    to: cloud/lab\n    filters: [\"a/#/b\"]\n",
                  "downlink[0].filters[0]", 21, "not a valid MQTT topic filter"},
        Rejection{"GenericEmptyFilters", "downlink:\n  - from: lab\n    to: cloud/lab\n    filters: []\n",
                  "downlink[0].filters", 21, "at least one"},
        Rejection{"DownlinkTwiceForOneSession",
                  "downlink:\n  - from: ali\n    to: cloud/a\n  - from: ali\n    to: cloud/b\n", "downlink[1].from", 21,
                  "already has a downlink entry (line 19)"},
        Rejection{"OverlappingPrefixes",
                  "downlink:\n  - from: ali\n    to: cloud\n  - from: one\n    to: cloud/one\n", "downlink[1].to", 21,
                  "overlaps the prefix 'cloud'"},
        // outbox
        Rejection{"OutboxRelativePath", "outbox:\n  path: outbox.db\n", "outbox.path", 19, "absolute file path"},
        Rejection{"OutboxDirectory", "outbox:\n  path: /var/lib/cellgate/\n", "outbox.path", 19, "not a directory"},
        Rejection{"OutboxUnknownKey", "outbox:\n  max_size: 1\n", "outbox.max_size", 19, "unknown key"},
        Rejection{"MaxMessagesZero", "outbox:\n  max_messages: 0\n", "outbox.max_messages", 19, "between 1 and"},
        Rejection{"MaxBytesUnit", "outbox:\n  max_bytes: 64MB\n", "outbox.max_bytes", 19, "units B, KiB, MiB, GiB"},
        Rejection{"MaxBytesTooSmall", "outbox:\n  max_bytes: 100\n", "outbox.max_bytes", 19, "between 1024 and"},
        Rejection{"MaxAgeWithoutUnit", "outbox:\n  max_age: 3600\n", "outbox.max_age", 19, "has no unit"},
        // local
        Rejection{"LocalBadEndpoint", "local:\n  endpoint: localhost\n", "local.endpoint", 19, "host:port"},
        Rejection{"LocalPasswordWithoutUser", "local:\n  password: pw\n", "local.password", 19,
                  "only with a username"},
        Rejection{"StatusTopicWithWildcard", "local:\n  status_topic: gw/+/status\n", "local.status_topic", 19,
                  "without + or #"},
        Rejection{"StatusTopicNotAScalar", "local:\n  status_topic: [a]\n", "local.status_topic", 19,
                  "or \"\" for none"},
        Rejection{"LocalUnknownKey", "local:\n  tls: true\n", "local.tls", 19, "unknown key 'tls'"},
        Rejection{"LocalBothPasswords", "local:\n  username: u\n  password: a\n  password_file: /x\n",
                  "local.password_file", 21, "not both"}),
    [](const ::testing::TestParamInfo<Rejection>& p) { return std::string(p.param.name); });

// rate_limit sits inside a session entry.
TEST(BridgeConfig, RateLimitsThatBreakThePlatformAreRejected) {
    struct Case {
        std::string limit;
        const char* key;
        const char* message;
    };
    const Case cases[] = {
        {"{ per_second: 100 }", "cloud[0].rate_limit", ""},  // Aliyun drops beyond 30/s
        {"{ per_second: 20, burst: 20 }", "cloud[0].rate_limit", ""},
        {"{ per_second: 0 }", "cloud[0].rate_limit", ""},  // unlimited
        {"{ per_second: fast }", "cloud[0].rate_limit.per_second", "expected a number"},
        {"{ burst: 0.5 }", "cloud[0].rate_limit.burst", "between 1 and"},
        // Past a double, or NaN: a range error, as in the integer readers.
        {"{ per_second: 1e999 }", "cloud[0].rate_limit.per_second", "must be between 0 and 1000000, got 1e999"},
        {"{ burst: nan }", "cloud[0].rate_limit.burst", "must be between 1 and 1000000, got nan"},
        {"{ rate: 1 }", "cloud[0].rate_limit.rate", "unknown key 'rate'"},
        {"10", "cloud[0].rate_limit", "expected a map with keys per_second, burst"},
    };
    for (const auto& c : cases) {
        const auto r = load_config_string(R"(
cloud:
  - name: ali
    platform: aliyun
    product_key: a1B2c3D4e5F
    device_name: gw-001
    device_secret: "ali-secret"
    region: cn-shanghai
    rate_limit: )" + c.limit + "\n",
                                          "test.yaml");
        ASSERT_EQ(r.errors.size(), 1u) << c.limit << "\n" << all_errors(r);
        EXPECT_EQ(r.errors[0].key, c.key) << r.errors[0].to_string();
        EXPECT_EQ(r.errors[0].line, 9) << r.errors[0].to_string();
        EXPECT_NE(r.errors[0].message.find(c.message), std::string::npos) << r.errors[0].to_string();
    }
}

TEST(BridgeConfig, EveryBrokenRouteIsReportedAtOnce) {
    const auto r = load(R"(routes:
  - from: a/+
    to: nope
    as: property
  - from: b/#
    to: lab
    as: property
    topic: x
  - from: c
    to: ali
    as: property
    qos: 2
)");
    ASSERT_EQ(r.errors.size(), 3u) << all_errors(r);
    EXPECT_EQ(r.errors[0].key, "routes[0].to");
    EXPECT_EQ(r.errors[1].key, "routes[1].as");
    EXPECT_EQ(r.errors[2].key, "routes[2].qos");
}

}  // namespace
}  // namespace cellgate
