#include "daemon/config.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

namespace cellgate {
namespace {

using namespace std::chrono_literals;

// The smallest valid modem section; error cases append lines to it, so the appended line is line 5.
constexpr const char* kBase =
    "modem:\n"
    "  port: auto\n"
    "  apn:\n"
    "    name: cmnet\n";

ConfigResult load(const std::string& yaml) { return load_config_string(yaml, "test.yaml"); }

std::string all_errors(const ConfigResult& r) {
    std::string out;
    for (const auto& e : r.errors) out += e.to_string() + "\n";
    return out;
}

// ---- parse_duration ----

struct DurationCase {
    const char* text;
    long long ms;
};

class ConfigDurationValid : public ::testing::TestWithParam<DurationCase> {};

TEST_P(ConfigDurationValid, Parses) {
    const auto d = parse_duration(GetParam().text);
    ASSERT_TRUE(d.has_value()) << GetParam().text;
    EXPECT_EQ(d->count(), GetParam().ms);
}

INSTANTIATE_TEST_SUITE_P(Table, ConfigDurationValid,
                         ::testing::Values(DurationCase{"90s", 90'000}, DurationCase{"2m", 120'000},
                                           DurationCase{"1h", 3'600'000}, DurationCase{"500ms", 500},
                                           DurationCase{"1m30s", 90'000}, DurationCase{"0s", 0},
                                           DurationCase{"1h2m3s4ms", 3'723'004},
                                           DurationCase{"1s500ms", 1'500}, DurationCase{"007s", 7'000},
                                           DurationCase{"999999999h", 999'999'999LL * 3'600'000}));

class ConfigDurationInvalid : public ::testing::TestWithParam<const char*> {};

TEST_P(ConfigDurationInvalid, Rejected) { EXPECT_FALSE(parse_duration(GetParam()).has_value()) << GetParam(); }

INSTANTIATE_TEST_SUITE_P(Table, ConfigDurationInvalid,
                         ::testing::Values("", "90", "s", "ms", "1.5s", "1 s", " 1s", "1s ", "-1s", "+1s", "1S",
                                           "1sec", "1min", "30s1m", "1m1m", "1ms1s", "1x", "1msx", "1d",
                                           "1000000000h", "1h-"));

// ---- valid configs ----

TEST(ConfigLoad, DocumentedSchemaLoadsWithTheRightValues) {
    const auto r = load(R"(
modem:
  port: /dev/ttyUSB2      # a device path, a /dev/serial/by-id/... link, a pty link, or "auto"
  vendor: auto            # auto | generic | quectel | simcom | luat | huawei
  baud: 115200
  pin: "1234"             # optional
  apn:
    name: cmnet
    user: ""              # optional
    password: ""          # optional
    auth: none            # none | pap | chap
    ip_type: ipv4         # ipv4 | ipv6 | ipv4v6
  signal_interval: 60s
)");
    ASSERT_TRUE(r.errors.empty()) << all_errors(r);
    ASSERT_TRUE(r.config.has_value());
    ASSERT_TRUE(r.config->modem.has_value());
    const auto& m = *r.config->modem;
    EXPECT_EQ(m.port, "/dev/ttyUSB2");
    EXPECT_FALSE(m.vendor.has_value());
    EXPECT_EQ(m.baud, 115200);
    EXPECT_EQ(m.pin, std::optional<std::string>("1234"));
    EXPECT_EQ(m.apn.name, "cmnet");
    EXPECT_EQ(m.apn.user, "");
    EXPECT_EQ(m.apn.password, "");
    EXPECT_EQ(m.apn.auth, modem::ApnAuth::none);
    EXPECT_EQ(m.apn.ip_type, modem::IpType::ipv4);
    EXPECT_EQ(m.signal_interval, 60s);
    EXPECT_EQ(r.config->log_level, log::Level::info);
    EXPECT_EQ(r.config->source, "test.yaml");
}

TEST(ConfigLoad, EveryKeySet) {
    const auto r = load(R"(
log_level: debug
modem:
  port: /dev/serial/by-id/usb-Quectel_EC25-if02-port0
  vendor: quectel
  baud: 921600
  pin: 87654321
  apn:
    name: iot.example-op.net
    user: gw
    password: s3cr3t
    auth: chap
    ip_type: ipv4v6
  cid: 15
  signal_interval: 5s
  registration_grace: 1h
  registration_timeout: 10s
  status_poll: 1m30s
  recovery_backoff: 10m
  recovery_backoff_max: 1h
  port_return_timeout: 500ms500ms
)");
    // port_return_timeout is malformed on purpose: one bad key must not hide the others' values.
    ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
    EXPECT_EQ(r.errors[0].key, "modem.port_return_timeout");
    EXPECT_FALSE(r.config.has_value());

    const auto ok = load(R"(
log_level: debug
modem:
  port: /dev/serial/by-id/usb-Quectel_EC25-if02-port0
  vendor: quectel
  baud: 921600
  pin: 87654321
  apn:
    name: iot.example-op.net
    user: gw
    password: s3cr3t
    auth: chap
    ip_type: ipv4v6
  cid: 15
  signal_interval: 5s
  registration_grace: 1h
  registration_timeout: 10s
  status_poll: 1m30s
  recovery_backoff: 10m
  recovery_backoff_max: 1h
  port_return_timeout: 10m
)");
    ASSERT_TRUE(ok.errors.empty()) << all_errors(ok);
    const auto& m = *ok.config->modem;
    EXPECT_EQ(ok.config->log_level, log::Level::debug);
    EXPECT_EQ(m.port, "/dev/serial/by-id/usb-Quectel_EC25-if02-port0");
    EXPECT_EQ(m.vendor, modem::Vendor::quectel);
    EXPECT_EQ(m.baud, 921600);
    EXPECT_EQ(m.pin, std::optional<std::string>("87654321"));
    EXPECT_EQ(m.apn.name, "iot.example-op.net");
    EXPECT_EQ(m.apn.user, "gw");
    EXPECT_EQ(m.apn.password, "s3cr3t");
    EXPECT_EQ(m.apn.auth, modem::ApnAuth::chap);
    EXPECT_EQ(m.apn.ip_type, modem::IpType::ipv4v6);
    EXPECT_EQ(m.cid, 15);
    EXPECT_EQ(m.signal_interval, 5s);
    EXPECT_EQ(m.registration_grace, 1h);
    EXPECT_EQ(m.registration_timeout, 10s);
    EXPECT_EQ(m.status_poll, 90s);
    EXPECT_EQ(m.recovery_backoff, 10min);
    EXPECT_EQ(m.recovery_backoff_max, 1h);
    EXPECT_EQ(m.port_return_timeout, 10min);
}

TEST(ConfigLoad, MinimalModemGetsTheDefaults) {
    const auto r = load(kBase);
    ASSERT_TRUE(r.errors.empty()) << all_errors(r);
    const auto& m = *r.config->modem;
    const modem::ModemConfig defaults;
    EXPECT_EQ(m.port, "auto");
    EXPECT_FALSE(m.vendor.has_value());
    EXPECT_EQ(m.baud, defaults.baud);
    EXPECT_FALSE(m.pin.has_value());
    EXPECT_EQ(m.apn.auth, modem::ApnAuth::none);
    EXPECT_EQ(m.cid, defaults.cid);
    EXPECT_EQ(m.signal_interval, defaults.signal_interval);
    EXPECT_EQ(m.registration_grace, defaults.registration_grace);
    EXPECT_EQ(m.registration_timeout, defaults.registration_timeout);
    EXPECT_EQ(m.status_poll, defaults.status_poll);
    EXPECT_EQ(m.recovery_backoff, defaults.recovery_backoff);
    EXPECT_EQ(m.recovery_backoff_max, defaults.recovery_backoff_max);
    EXPECT_EQ(m.port_return_timeout, defaults.port_return_timeout);
}

TEST(ConfigLoad, PinKeepsLeadingZeroWhenUnquoted) {
    const auto r = load(std::string(kBase) + "  pin: 0123\n");
    ASSERT_TRUE(r.errors.empty()) << all_errors(r);
    EXPECT_EQ(r.config->modem->pin, std::optional<std::string>("0123"));
}

TEST(ConfigLoad, EmptyPinMeansNoPin) {
    const auto r = load(std::string(kBase) + "  pin:\n");
    ASSERT_TRUE(r.errors.empty()) << all_errors(r);
    EXPECT_FALSE(r.config->modem->pin.has_value());
}

TEST(ConfigLoad, PapWithUser) {
    const auto r = load(std::string(kBase) + "    auth: pap\n    user: iot\n");
    ASSERT_TRUE(r.errors.empty()) << all_errors(r);
    EXPECT_EQ(r.config->modem->apn.auth, modem::ApnAuth::pap);
    EXPECT_EQ(r.config->modem->apn.user, "iot");
}

class ConfigNoModem : public ::testing::TestWithParam<const char*> {};

TEST_P(ConfigNoModem, LoadsWithModemAbsent) {
    const auto r = load(GetParam());
    ASSERT_TRUE(r.errors.empty()) << all_errors(r);
    ASSERT_TRUE(r.config.has_value());
    EXPECT_FALSE(r.config->modem.has_value());
}

INSTANTIATE_TEST_SUITE_P(Table, ConfigNoModem,
                         ::testing::Values("", "\n\n", "# only a comment\n", "---\n", "---\n...\n", "~\n",
                                           "log_level: notice\n", "{}\n"));

struct VendorCase {
    const char* text;
    std::optional<modem::Vendor> vendor;
};

class ConfigVendor : public ::testing::TestWithParam<VendorCase> {};

TEST_P(ConfigVendor, Maps) {
    const auto r = load(std::string(kBase) + "  vendor: " + GetParam().text + "\n");
    ASSERT_TRUE(r.errors.empty()) << all_errors(r);
    EXPECT_EQ(r.config->modem->vendor, GetParam().vendor);
}

INSTANTIATE_TEST_SUITE_P(Table, ConfigVendor,
                         ::testing::Values(VendorCase{"auto", std::nullopt},
                                           VendorCase{"generic", modem::Vendor::generic},
                                           VendorCase{"quectel", modem::Vendor::quectel},
                                           VendorCase{"simcom", modem::Vendor::simcom},
                                           VendorCase{"luat", modem::Vendor::luat},
                                           VendorCase{"huawei", modem::Vendor::huawei}));

class ConfigBaud : public ::testing::TestWithParam<int> {};

TEST_P(ConfigBaud, StandardRateAccepted) {
    const auto r = load(std::string(kBase) + "  baud: " + std::to_string(GetParam()) + "\n");
    ASSERT_TRUE(r.errors.empty()) << all_errors(r);
    EXPECT_EQ(r.config->modem->baud, GetParam());
}

INSTANTIATE_TEST_SUITE_P(Table, ConfigBaud,
                         ::testing::Values(9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600));

struct LevelCase {
    const char* text;
    log::Level level;
};

class ConfigLogLevel : public ::testing::TestWithParam<LevelCase> {};

TEST_P(ConfigLogLevel, Maps) {
    const auto r = load(std::string("log_level: ") + GetParam().text + "\n");
    ASSERT_TRUE(r.errors.empty()) << all_errors(r);
    EXPECT_EQ(r.config->log_level, GetParam().level);
}

INSTANTIATE_TEST_SUITE_P(Table, ConfigLogLevel,
                         ::testing::Values(LevelCase{"err", log::Level::err}, LevelCase{"warning", log::Level::warning},
                                           LevelCase{"notice", log::Level::notice},
                                           LevelCase{"info", log::Level::info},
                                           LevelCase{"debug", log::Level::debug}));

struct IpTypeCase {
    const char* text;
    modem::IpType type;
};

class ConfigIpType : public ::testing::TestWithParam<IpTypeCase> {};

TEST_P(ConfigIpType, Maps) {
    const auto r = load(std::string(kBase) + "    ip_type: " + GetParam().text + "\n");
    ASSERT_TRUE(r.errors.empty()) << all_errors(r);
    EXPECT_EQ(r.config->modem->apn.ip_type, GetParam().type);
}

INSTANTIATE_TEST_SUITE_P(Table, ConfigIpType,
                         ::testing::Values(IpTypeCase{"ipv4", modem::IpType::ipv4},
                                           IpTypeCase{"ipv6", modem::IpType::ipv6},
                                           IpTypeCase{"ipv4v6", modem::IpType::ipv4v6}));

// ---- one error each: key, position and message ----

struct ErrorCase {
    const char* name;
    std::string yaml;
    const char* key;
    int line;
    int column;
    const char* message;  // substring of the message
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

// Test names from the table's `name` column.
struct CaseName {
    template <class P>
    std::string operator()(const ::testing::TestParamInfo<P>& p) const {
        return p.param.name;
    }
};

class ConfigOneError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ConfigOneError, Reported) {
    const auto& c = GetParam();
    const auto r = load(c.yaml);
    EXPECT_FALSE(r.config.has_value());
    ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
    const auto& e = r.errors[0];
    EXPECT_EQ(e.file, "test.yaml");
    EXPECT_EQ(e.key, c.key);
    EXPECT_EQ(e.line, c.line) << e.to_string();
    EXPECT_EQ(e.column, c.column) << e.to_string();
    EXPECT_NE(e.message.find(c.message), std::string::npos) << e.to_string();
}

std::string base(const std::string& extra) { return std::string(kBase) + extra; }

const std::string kAllowedModemKeys =
    "allowed here: port, vendor, baud, pin, apn, cid, signal_interval, registration_grace, "
    "registration_timeout, status_poll, recovery_backoff, recovery_backoff_max, port_return_timeout";

INSTANTIATE_TEST_SUITE_P(
    UnknownKeys, ConfigOneError,
    ::testing::Values(
        ErrorCase{"TopLevelUnknown", "mqtt:\n  url: x\n", "mqtt", 1, 1,
                  "unknown key 'mqtt'; allowed here: modem, cloud, backoff, log_level"},
        ErrorCase{"TopLevelTypo", base("loglevel: info\n"), "loglevel", 5, 1, "unknown key 'loglevel'"},
        ErrorCase{"ModemKey", base("  speed: 115200\n"), "modem.speed", 5, 3, "unknown key 'speed'; "},
        ErrorCase{"ModemKeyListsAllowed", base("  foo: 1\n"), "modem.foo", 5, 3, kAllowedModemKeys.c_str()},
        ErrorCase{"ApnKey", base("    username: x\n"), "modem.apn.username", 5, 5,
                  "allowed here: name, user, password, auth, ip_type"},
        ErrorCase{"DuplicateModemKey", base("  port: /dev/ttyUSB3\n"), "modem.port", 5, 3,
                  "duplicate key (first set on line 2)"},
        ErrorCase{"DuplicateApnKey", base("    name: other\n"), "modem.apn.name", 5, 5, "duplicate key"},
        ErrorCase{"NonScalarKey", "? [a, b]\n: 1\n", "", 1, 3, "keys must be plain names, got a list"}),
    CaseName{});

INSTANTIATE_TEST_SUITE_P(
    Ranges, ConfigOneError,
    ::testing::Values(
        ErrorCase{"BaudNonStandard", base("  baud: 1234\n"), "modem.baud", 5, 9, "must be a standard rate: 9600"},
        ErrorCase{"BaudWord", base("  baud: fast\n"), "modem.baud", 5, 9, "got 'fast'"},
        ErrorCase{"BaudTooHigh", base("  baud: 1000000\n"), "modem.baud", 5, 9, "460800 or 921600"},
        ErrorCase{"CidZero", base("  cid: 0\n"), "modem.cid", 5, 8, "must be between 1 and 15, got 0"},
        ErrorCase{"CidSixteen", base("  cid: 16\n"), "modem.cid", 5, 8, "must be between 1 and 15, got 16"},
        ErrorCase{"CidNegative", base("  cid: -1\n"), "modem.cid", 5, 8, "between 1 and 15"},
        ErrorCase{"CidHuge", base("  cid: 99999999999999999999\n"), "modem.cid", 5, 8, "expected an integer"},
        ErrorCase{"CidWord", base("  cid: one\n"), "modem.cid", 5, 8, "expected an integer, got 'one'"},
        ErrorCase{"CidFloat", base("  cid: 1.0\n"), "modem.cid", 5, 8, "expected an integer"},
        ErrorCase{"PortRelative", "modem:\n  port: ttyUSB2\n  apn:\n    name: cmnet\n", "modem.port", 2, 9,
                  "must be \"auto\" or an absolute device path"},
        ErrorCase{"PortEmpty", "modem:\n  port: \"\"\n  apn:\n    name: cmnet\n", "modem.port", 2, 9,
                  "absolute device path"},
        ErrorCase{"PortControlChar", "modem:\n  port: \"/dev/tty\\nUSB2\"\n  apn:\n    name: cmnet\n",
                  "modem.port", 2, 9, "'/dev/tty\\x0aUSB2'"},
        ErrorCase{"ApnNameSpace", "modem:\n  port: auto\n  apn:\n    name: cm net\n", "modem.apn.name", 4, 11,
                  "must be 1-62 characters of A-Z a-z 0-9 . -, got 'cm net'"},
        ErrorCase{"ApnNameUnderscore", "modem:\n  port: auto\n  apn:\n    name: cm_net\n", "modem.apn.name", 4,
                  11, "1-62 characters"},
        ErrorCase{"ApnNameEmpty", "modem:\n  port: auto\n  apn:\n    name: \"\"\n", "modem.apn.name", 4, 11,
                  "1-62 characters"},
        ErrorCase{"ApnNameTooLong", "modem:\n  port: auto\n  apn:\n    name: " + std::string(63, 'a') + "\n",
                  "modem.apn.name", 4, 11, "1-62 characters"},
        ErrorCase{"UserTooLong", base("    user: " + std::string(65, 'u') + "\n"), "modem.apn.user", 5, 11,
                  "must be at most 64 characters"},
        ErrorCase{"UserWithQuote", base("    user: 'a\"b'\n"), "modem.apn.user", 5, 11,
                  "must not contain '\"' or control characters"},
        ErrorCase{"PapWithoutUser", base("    auth: pap\n"), "modem.apn.auth", 5, 11,
                  "pap needs a non-empty apn.user"},
        ErrorCase{"ChapWithEmptyUser", base("    auth: chap\n    user: \"\"\n"), "modem.apn.auth", 5, 11,
                  "chap needs a non-empty apn.user"}),
    CaseName{});

INSTANTIATE_TEST_SUITE_P(
    Durations, ConfigOneError,
    ::testing::Values(
        ErrorCase{"BareNumber", base("  signal_interval: 60\n"), "modem.signal_interval", 5, 20,
                  "duration '60' has no unit; write e.g. 60s"},
        ErrorCase{"Malformed", base("  signal_interval: 1x\n"), "modem.signal_interval", 5, 20,
                  "expected a duration like 90s, 2m, 1h, 500ms or 1m30s, got '1x'"},
        ErrorCase{"SignalTooShort", base("  signal_interval: 4s\n"), "modem.signal_interval", 5, 20,
                  "must be between 5s and 1h, got 4s"},
        ErrorCase{"SignalTooLong", base("  signal_interval: 1h1s\n"), "modem.signal_interval", 5, 20,
                  "must be between 5s and 1h, got 1h1s"},
        ErrorCase{"GraceTooShort", base("  registration_grace: 4999ms\n"), "modem.registration_grace", 5, 23,
                  "must be between 5s and 1h, got 4s999ms"},
        ErrorCase{"RegistrationTimeoutTooShort", base("  registration_timeout: 9s\n"),
                  "modem.registration_timeout", 5, 25, "must be between 10s and 1h, got 9s"},
        ErrorCase{"StatusPollTooLong", base("  status_poll: 61m\n"), "modem.status_poll", 5, 16,
                  "must be between 5s and 1h, got 1h1m"},
        ErrorCase{"BackoffTooShort", base("  recovery_backoff: 500ms\n"), "modem.recovery_backoff", 5, 21,
                  "must be between 1s and 10m, got 500ms"},
        ErrorCase{"BackoffMaxTooLong", base("  recovery_backoff_max: 2h\n"), "modem.recovery_backoff_max", 5, 25,
                  "must be between 1s and 1h, got 2h"},
        ErrorCase{"BackoffMaxBelowBackoff", base("  recovery_backoff: 1m\n  recovery_backoff_max: 30s\n"),
                  "modem.recovery_backoff_max", 6, 25, "must be at least recovery_backoff (1m), got 30s"},
        ErrorCase{"BackoffAboveDefaultMax", base("  recovery_backoff: 6m\n"), "modem.recovery_backoff", 5, 21,
                  "exceeds the default recovery_backoff_max (5m)"},
        ErrorCase{"PortReturnTooLong", base("  port_return_timeout: 11m\n"), "modem.port_return_timeout", 5, 24,
                  "must be between 5s and 10m, got 11m"},
        ErrorCase{"PortReturnZero", base("  port_return_timeout: 0s\n"), "modem.port_return_timeout", 5, 24,
                  "got 0s"}),
    CaseName{});

INSTANTIATE_TEST_SUITE_P(
    Enums, ConfigOneError,
    ::testing::Values(
        ErrorCase{"Vendor", base("  vendor: nokia\n"), "modem.vendor", 5, 11,
                  "must be one of auto | generic | quectel | simcom | luat | huawei, got 'nokia'"},
        ErrorCase{"VendorIsCaseSensitive", base("  vendor: Quectel\n"), "modem.vendor", 5, 11, "got 'Quectel'"},
        ErrorCase{"Auth", base("    auth: digest\n"), "modem.apn.auth", 5, 11,
                  "must be one of none | pap | chap, got 'digest'"},
        ErrorCase{"IpType", base("    ip_type: ipv5\n"), "modem.apn.ip_type", 5, 14,
                  "must be one of ipv4 | ipv6 | ipv4v6, got 'ipv5'"},
        ErrorCase{"LogLevel", "log_level: verbose\n", "log_level", 1, 12,
                  "must be one of err | warning | notice | info | debug, got 'verbose'"},
        ErrorCase{"LogLevelSyslogName", "log_level: error\n", "log_level", 1, 12, "got 'error'"}),
    CaseName{});

INSTANTIATE_TEST_SUITE_P(
    Types, ConfigOneError,
    ::testing::Values(
        ErrorCase{"TopLevelList", "- modem\n- log_level\n", "", 1, 1,
                  "expected a map with keys modem, cloud, backoff, log_level, local, routes, downlink, outbox, got a list"},
        ErrorCase{"TopLevelScalar", "modem\n", "", 1, 1, "got a single value"},
        ErrorCase{"ModemList", "modem: [a]\n", "modem", 1, 8, "expected a map with keys port, vendor"},
        ErrorCase{"ApnScalar", "modem:\n  port: auto\n  apn: cmnet\n", "modem.apn", 3, 8,
                  "expected a map with keys name, user, password, auth, ip_type, got a single value"},
        ErrorCase{"DurationList", base("  signal_interval: [1s, 2s]\n"), "modem.signal_interval", 5, 20,
                  "expected a duration like 90s, got a list"},
        ErrorCase{"DurationMap", base("  signal_interval:\n    every: 1s\n"), "modem.signal_interval", 6, 5,
                  "got a map"},
        ErrorCase{"BaudNull", base("  baud:\n"), "modem.baud", 5, 3, "expected a baud rate, got nothing"},
        ErrorCase{"PortMap", "modem:\n  port: {path: /dev/ttyUSB2}\n  apn:\n    name: cmnet\n", "modem.port", 2, 9,
                  "expected a device path or \"auto\", got a map"},
        ErrorCase{"LogLevelList", "log_level: [info]\n", "log_level", 1, 12, "got a list"},
        ErrorCase{"ApnNameList", "modem:\n  port: auto\n  apn:\n    name: [cmnet]\n", "modem.apn.name", 4, 11,
                  "expected an APN name, got a list"}),
    CaseName{});

INSTANTIATE_TEST_SUITE_P(
    Required, ConfigOneError,
    ::testing::Values(
        ErrorCase{"Port", "modem:\n  apn:\n    name: cmnet\n", "modem.port", 1, 1, "is required"},
        ErrorCase{"Apn", "modem:\n  port: auto\n", "modem.apn", 1, 1, "is required; set at least apn.name"},
        ErrorCase{"ApnName", "modem:\n  port: auto\n  apn:\n    ip_type: ipv4\n", "modem.apn.name", 3, 3,
                  "is required"},
        ErrorCase{"ApnNameOfNullApn", "log_level: info\nmodem:\n  port: auto\n  apn:\n", "modem.apn.name", 4, 3,
                  "is required"}),
    CaseName{});

INSTANTIATE_TEST_SUITE_P(
    Syntax, ConfigOneError,
    ::testing::Values(
        ErrorCase{"UnclosedFlowSequence", base("  vendor: [quectel\n"), "", 6, 1, "YAML syntax error: "},
        ErrorCase{"MapValueInScalar", "modem:\n  port: a: b\n", "", 2, 10, "YAML syntax error: illegal map value"},
        ErrorCase{"UnterminatedQuoteAtEof", base("  vendor: \"quectel"), "", 5, 19,
                  "YAML syntax error: illegal EOF in scalar"},
        ErrorCase{"UnclosedFlowMap", "modem: {port: auto\n", "", 2, 1, "YAML syntax error: end of map flow not found"},
        ErrorCase{"TabIndent", "modem:\n\tport: auto\n", "", 2, 6, "YAML syntax error: illegal map value"},
        ErrorCase{"TwoAnchors", "modem: &a &b x\n", "", 1, 11, "YAML syntax error: cannot assign multiple anchors"},
        ErrorCase{"BadIndent", "modem:\n  port: auto\n apn:\n", "", 3, 2, "YAML syntax error: "},
        ErrorCase{"UnknownAnchor", base("  vendor: *v\n"), "", 5, 11, "YAML syntax error: "},
        ErrorCase{"SecondDocument", "modem: ~\n---\nlog_level: info\n", "", 3, 1,
                  "only one YAML document is allowed"},
        ErrorCase{"DeepNesting", std::string(3000, '[') + std::string(3000, ']'), "", 1, 1,
                  "YAML syntax error: nested too deeply"},
        ErrorCase{"ManyDocuments", "a: 1\n---\nb: 2\n---\nc: 3\n", "", 3, 1, "only one YAML document"},
        // yaml-cpp 0.7's LoadAll loops forever on these (jbeder/yaml-cpp#1040).
        ErrorCase{"LoneComma", ",", "", 1, 1, "YAML syntax error: unexpected ','"},
        ErrorCase{"CommaAfterList", "- a\n,\n", "", 2, 1, "YAML syntax error: unexpected ','"},
        ErrorCase{"CommaAfterFlowMap", "{modem: ~},", "", 1, 11, "YAML syntax error: unexpected ','"},
        ErrorCase{"CommaInSecondDocument", "modem: ~\n---\n,", "", 3, 1, "YAML syntax error: unexpected ','"}),
    CaseName{});

// ---- several errors at once ----

TEST(ConfigErrors, AllErrorsAreReportedInFileOrder) {
    const auto r = load(R"(log_level: loud
mqtt:
  broker: x
modem:
  port: dev/ttyUSB2
  vendor: nokia
  baud: 1234
  pin: "12"
  apn:
    name: "cm net"
    auth: pap
    ip_type: ipv5
    extra: 1
  cid: 0
  signal_interval: 60
  registration_grace: 2h
  registration_timeout: 9s
  status_poll: 1x
  recovery_backoff: 0s
  recovery_backoff_max: 2h
  port_return_timeout: 1s
  typo: 1
)");
    EXPECT_FALSE(r.config.has_value());
    const std::vector<std::pair<std::string, int>> expected = {
        {"log_level", 1},
        {"mqtt", 2},
        {"modem.port", 5},
        {"modem.vendor", 6},
        {"modem.baud", 7},
        {"modem.pin", 8},
        {"modem.apn.name", 10},
        {"modem.apn.auth", 11},
        {"modem.apn.ip_type", 12},
        {"modem.apn.extra", 13},
        {"modem.cid", 14},
        {"modem.signal_interval", 15},
        {"modem.registration_grace", 16},
        {"modem.registration_timeout", 17},
        {"modem.status_poll", 18},
        {"modem.recovery_backoff", 19},
        {"modem.recovery_backoff_max", 20},
        {"modem.port_return_timeout", 21},
        {"modem.typo", 22},
    };
    ASSERT_EQ(r.errors.size(), expected.size()) << all_errors(r);
    for (size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ(r.errors[i].key, expected[i].first) << i;
        EXPECT_EQ(r.errors[i].line, expected[i].second) << r.errors[i].to_string();
        EXPECT_GT(r.errors[i].column, 0) << r.errors[i].to_string();
    }
}

TEST(ConfigErrors, ValuesAfterAnErrorAreStillChecked) {
    const auto r = load(base("  vendor: [\n    1]\n  baud: 1\n  cid: 99\n"));
    ASSERT_EQ(r.errors.size(), 3u) << all_errors(r);
    EXPECT_EQ(r.errors[0].key, "modem.vendor");
    EXPECT_EQ(r.errors[1].key, "modem.baud");
    EXPECT_EQ(r.errors[2].key, "modem.cid");
}

// ---- secrets never echoed ----

struct SecretCase {
    const char* name;
    std::string yaml;
    const char* secret;
    const char* key;
    const char* message;
};

void PrintTo(const SecretCase& c, std::ostream* os) { *os << c.name; }

class ConfigSecret : public ::testing::TestWithParam<SecretCase> {};

TEST_P(ConfigSecret, NotEchoed) {
    const auto& c = GetParam();
    const auto r = load(c.yaml);
    ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
    EXPECT_EQ(r.errors[0].key, c.key);
    EXPECT_NE(r.errors[0].message.find(c.message), std::string::npos) << r.errors[0].message;
    EXPECT_EQ(r.errors[0].to_string().find(c.secret), std::string::npos) << r.errors[0].to_string();
}

INSTANTIATE_TEST_SUITE_P(
    Table, ConfigSecret,
    ::testing::Values(
        SecretCase{"PinWithLetters", base("  pin: \"98a7\"\n"), "98a7", "modem.pin", "must be 4-8 digits"},
        SecretCase{"PinTooShort", base("  pin: \"987\"\n"), "987", "modem.pin", "must be 4-8 digits"},
        SecretCase{"PinTooLong", base("  pin: 987654321\n"), "987654321", "modem.pin", "must be 4-8 digits"},
        SecretCase{"PinSpaces", base("  pin: \"98 76\"\n"), "98 76", "modem.pin", "must be 4-8 digits"},
        SecretCase{"PinInAList", base("  pin: [9876]\n"), "9876", "modem.pin", "got a list"},
        SecretCase{"PasswordTooLong", base("    password: " + std::string(65, 'Z') + "\n"), "ZZZZZZZZ",
                   "modem.apn.password", "must be at most 64 characters"},
        SecretCase{"PasswordWithQuote", base("    password: 'Hunter\"2'\n"), "Hunter", "modem.apn.password",
                   "must not contain"},
        SecretCase{"PasswordWithNewline", base("    password: \"Hunter\\r\\n2\"\n"), "Hunter",
                   "modem.apn.password", "control characters"},
        SecretCase{"PasswordBadEscape", base("    password: \"Hunt\\qr2\"\n"), "\\q", "",
                   "unknown escape character in a quoted string"},
        SecretCase{"PasswordBadUnicode", base("    password: \"Hunt\\uZZZZ\"\n"), "ZZZZ", "",
                   "YAML syntax error"}),
    CaseName{});

TEST(ConfigErrors, EscapeErrorDoesNotLeakTheCharacter) {
    const auto r = load(base("    password: \"ab\\qcd\"\n"));
    ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
    EXPECT_EQ(r.errors[0].message, "YAML syntax error: unknown escape character in a quoted string");
}

// ---- to_string ----

TEST(ConfigErrorFormat, FullPosition) {
    const ConfigError e{"/etc/cellgate/cellgate.yaml", 12, 7, "modem.apn.auth", "must be one of none | pap | chap"};
    EXPECT_EQ(e.to_string(), "/etc/cellgate/cellgate.yaml:12:7: modem.apn.auth: must be one of none | pap | chap");
}

TEST(ConfigErrorFormat, NoPosition) {
    const ConfigError e{"c.yaml", 0, 0, "modem.port", "is required"};
    EXPECT_EQ(e.to_string(), "c.yaml: modem.port: is required");
}

TEST(ConfigErrorFormat, NoKey) {
    const ConfigError e{"c.yaml", 3, 1, "", "YAML syntax error: end of map not found"};
    EXPECT_EQ(e.to_string(), "c.yaml:3:1: YAML syntax error: end of map not found");
}

TEST(ConfigErrorFormat, FromALoad) {
    const auto r = load(base("  cid: 0\n"));
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].to_string(), "test.yaml:5:8: modem.cid: must be between 1 and 15, got 0");
}

// ---- files ----

class ConfigFile : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/cellgate-config-test-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::string write(const std::string& name, const std::string& text) {
        const auto path = dir_ / name;
        std::ofstream(path) << text;
        return path.string();
    }

    std::filesystem::path dir_;
};

TEST_F(ConfigFile, LoadsAndRecordsSource) {
    const auto path = write("good.yaml", kBase);
    const auto r = load_config_file(path);
    ASSERT_TRUE(r.errors.empty()) << all_errors(r);
    EXPECT_EQ(r.config->source, path);
    EXPECT_EQ(r.config->modem->apn.name, "cmnet");
}

TEST_F(ConfigFile, ErrorsCarryTheFileName) {
    const auto path = write("bad.yaml", base("  baud: 1\n"));
    const auto r = load_config_file(path);
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].to_string().rfind(path + ":5:9: modem.baud: ", 0), 0u) << r.errors[0].to_string();
}

TEST_F(ConfigFile, MissingFile) {
    const auto path = (dir_ / "nope.yaml").string();
    const auto r = load_config_file(path);
    EXPECT_FALSE(r.config.has_value());
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].file, path);
    EXPECT_EQ(r.errors[0].line, 0);
    EXPECT_EQ(r.errors[0].to_string(), path + ": cannot open: " + std::strerror(ENOENT));
}

TEST_F(ConfigFile, DirectoryIsAnError) {
    const auto r = load_config_file(dir_.string());
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].to_string(), dir_.string() + ": cannot read: " + std::strerror(EISDIR));
}

TEST_F(ConfigFile, HugeFileRejected) {
    const auto path = write("huge.yaml", "# " + std::string(2 << 20, 'x') + "\n");
    const auto r = load_config_file(path);
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_NE(r.errors[0].message.find(std::strerror(EFBIG)), std::string::npos);
}

TEST(ConfigShipped, ExampleConfigLoadsWithoutErrors) {
    const auto path = std::filesystem::path(CELLGATE_SOURCE_DIR) / "etc" / "cellgate.yaml";
    const auto r = load_config_file(path.string());
    ASSERT_TRUE(r.errors.empty()) << all_errors(r);
    ASSERT_TRUE(r.config->modem.has_value());
    EXPECT_EQ(r.config->modem->port, "auto");
    EXPECT_EQ(r.config->modem->apn.name, "cmnet");
    EXPECT_FALSE(r.config->modem->pin.has_value());
}

}  // namespace
}  // namespace cellgate
