// The `modem:` section: the documented schema loads with the right values and defaults, and
// every rule is one config error with file, line, column and key, never echoing a PIN or password.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "daemon/config.hpp"
#include "unit/support/config_errors.hpp"

namespace cellgate {
namespace {

using namespace std::chrono_literals;
using testing::all_errors;
using testing::CaseName;
using testing::ErrorCase;
using testing::SecretCase;
using testing::kMinimalModem;
using testing::modem_with;

ConfigResult load(const std::string& yaml) { return testing::load_test_config(yaml); }

// ---- valid sections ----

TEST(ModemConfig, DocumentedSchemaLoadsWithTheRightValues) {
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

// Every modem key but the data path's and port_return_timeout, which the loads below add.
constexpr const char* kEveryModemKey = R"(
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
)";

TEST(ModemConfig, EveryKeySet) {
    const auto r = load(std::string(kEveryModemKey) + "  port_return_timeout: 500ms500ms\n");
    // port_return_timeout is malformed on purpose: one bad key must not hide the others' values.
    ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
    EXPECT_EQ(r.errors[0].key, "modem.port_return_timeout");
    EXPECT_FALSE(r.config.has_value());

    const auto ok = load(std::string(kEveryModemKey) + R"(  port_return_timeout: 10m
  interface: usb0
  ip_method: dhcp
  route: primary
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
    EXPECT_EQ(m.data_path.interface, "usb0");
    EXPECT_EQ(m.data_path.ip_method, "dhcp");
    EXPECT_EQ(m.data_path.route, "primary");
}

TEST(ModemConfig, MinimalModemGetsTheDefaults) {
    const auto r = load(kMinimalModem);
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
    // The netdev on the AT port's USB device, its method from the driver, cellular as failover.
    EXPECT_EQ(m.data_path.interface, "");
    EXPECT_EQ(m.data_path.ip_method, "auto");
    EXPECT_EQ(m.data_path.route, "failover");
}

TEST(ModemConfig, PinKeepsLeadingZeroWhenUnquoted) {
    const auto r = load(modem_with("  pin: 0123\n"));
    ASSERT_TRUE(r.errors.empty()) << all_errors(r);
    EXPECT_EQ(r.config->modem->pin, std::optional<std::string>("0123"));
}

TEST(ModemConfig, EmptyPinMeansNoPin) {
    const auto r = load(modem_with("  pin:\n"));
    ASSERT_TRUE(r.errors.empty()) << all_errors(r);
    EXPECT_FALSE(r.config->modem->pin.has_value());
}

TEST(ModemConfig, PapWithUser) {
    const auto r = load(modem_with("    auth: pap\n    user: iot\n"));
    ASSERT_TRUE(r.errors.empty()) << all_errors(r);
    EXPECT_EQ(r.config->modem->apn.auth, modem::ApnAuth::pap);
    EXPECT_EQ(r.config->modem->apn.user, "iot");
}

struct VendorCase {
    const char* text;
    std::optional<modem::Vendor> vendor;
};

class ModemConfigVendor : public ::testing::TestWithParam<VendorCase> {};

TEST_P(ModemConfigVendor, Maps) {
    const auto r = load(modem_with(std::string("  vendor: ") + GetParam().text + "\n"));
    ASSERT_TRUE(r.errors.empty()) << all_errors(r);
    EXPECT_EQ(r.config->modem->vendor, GetParam().vendor);
}

INSTANTIATE_TEST_SUITE_P(Table, ModemConfigVendor,
                         ::testing::Values(VendorCase{"auto", std::nullopt},
                                           VendorCase{"generic", modem::Vendor::generic},
                                           VendorCase{"quectel", modem::Vendor::quectel},
                                           VendorCase{"simcom", modem::Vendor::simcom},
                                           VendorCase{"luat", modem::Vendor::luat},
                                           VendorCase{"huawei", modem::Vendor::huawei}));

class ModemConfigBaud : public ::testing::TestWithParam<int> {};

TEST_P(ModemConfigBaud, StandardRateAccepted) {
    const auto r = load(modem_with("  baud: " + std::to_string(GetParam()) + "\n"));
    ASSERT_TRUE(r.errors.empty()) << all_errors(r);
    EXPECT_EQ(r.config->modem->baud, GetParam());
}

INSTANTIATE_TEST_SUITE_P(Table, ModemConfigBaud,
                         ::testing::Values(9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600));

struct IpTypeCase {
    const char* text;
    modem::IpType type;
};

class ModemConfigIpType : public ::testing::TestWithParam<IpTypeCase> {};

TEST_P(ModemConfigIpType, Maps) {
    const auto r = load(modem_with(std::string("    ip_type: ") + GetParam().text + "\n"));
    ASSERT_TRUE(r.errors.empty()) << all_errors(r);
    EXPECT_EQ(r.config->modem->apn.ip_type, GetParam().type);
}

INSTANTIATE_TEST_SUITE_P(Table, ModemConfigIpType,
                         ::testing::Values(IpTypeCase{"ipv4", modem::IpType::ipv4},
                                           IpTypeCase{"ipv6", modem::IpType::ipv6},
                                           IpTypeCase{"ipv4v6", modem::IpType::ipv4v6}));

// ---- one error each: key, position and message ----

class ModemConfigError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ModemConfigError, Reported) { testing::expect_one_error(GetParam()); }

const std::string kAllowedModemKeys =
    "allowed here: port, vendor, baud, pin, apn, cid, signal_interval, registration_grace, "
    "registration_timeout, status_poll, recovery_backoff, recovery_backoff_max, port_return_timeout, interface, "
    "ip_method, route";

INSTANTIATE_TEST_SUITE_P(
    UnknownKeys, ModemConfigError,
    ::testing::Values(
        ErrorCase{"ModemKey", modem_with("  speed: 115200\n"), "modem.speed", 5, 3, "unknown key 'speed'; "},
        ErrorCase{"ModemKeyListsAllowed", modem_with("  foo: 1\n"), "modem.foo", 5, 3, kAllowedModemKeys.c_str()},
        ErrorCase{"ApnKey", modem_with("    username: x\n"), "modem.apn.username", 5, 5,
                  "allowed here: name, user, password, auth, ip_type"},
        ErrorCase{"DuplicateModemKey", modem_with("  port: /dev/ttyUSB3\n"), "modem.port", 5, 3,
                  "duplicate key (first set on line 2)"},
        ErrorCase{"DuplicateApnKey", modem_with("    name: other\n"), "modem.apn.name", 5, 5, "duplicate key"}),
    CaseName{});

INSTANTIATE_TEST_SUITE_P(
    Ranges, ModemConfigError,
    ::testing::Values(
        ErrorCase{"BaudNonStandard", modem_with("  baud: 1234\n"), "modem.baud", 5, 9, "must be a standard rate: 9600"},
        ErrorCase{"BaudWord", modem_with("  baud: fast\n"), "modem.baud", 5, 9, "got 'fast'"},
        ErrorCase{"BaudTooHigh", modem_with("  baud: 1000000\n"), "modem.baud", 5, 9, "460800 or 921600"},
        ErrorCase{"CidZero", modem_with("  cid: 0\n"), "modem.cid", 5, 8, "must be between 1 and 15, got 0"},
        ErrorCase{"CidSixteen", modem_with("  cid: 16\n"), "modem.cid", 5, 8, "must be between 1 and 15, got 16"},
        ErrorCase{"CidNegative", modem_with("  cid: -1\n"), "modem.cid", 5, 8, "between 1 and 15"},
        ErrorCase{"CidHuge", modem_with("  cid: 99999999999999999999\n"), "modem.cid", 5, 8,
                  "must be between 1 and 15, got 99999999999999999999"},
        ErrorCase{"CidWord", modem_with("  cid: one\n"), "modem.cid", 5, 8, "expected an integer, got 'one'"},
        ErrorCase{"CidFloat", modem_with("  cid: 1.0\n"), "modem.cid", 5, 8, "expected an integer"},
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
        ErrorCase{"UserTooLong", modem_with("    user: " + std::string(65, 'u') + "\n"), "modem.apn.user", 5, 11,
                  "must be at most 64 characters"},
        ErrorCase{"UserWithQuote", modem_with("    user: 'a\"b'\n"), "modem.apn.user", 5, 11,
                  "must not contain '\"' or control characters"},
        ErrorCase{"PapWithoutUser", modem_with("    auth: pap\n"), "modem.apn.auth", 5, 11,
                  "pap needs a non-empty apn.user"},
        ErrorCase{"ChapWithEmptyUser", modem_with("    auth: chap\n    user: \"\"\n"), "modem.apn.auth", 5, 11,
                  "chap needs a non-empty apn.user"}),
    CaseName{});

INSTANTIATE_TEST_SUITE_P(
    Durations, ModemConfigError,
    ::testing::Values(
        ErrorCase{"BareNumber", modem_with("  signal_interval: 60\n"), "modem.signal_interval", 5, 20,
                  "duration '60' has no unit; write e.g. 60s"},
        ErrorCase{"Malformed", modem_with("  signal_interval: 1x\n"), "modem.signal_interval", 5, 20,
                  "expected a duration like 90s, 2m, 1h, 500ms or 1m30s, got '1x'"},
        ErrorCase{"SignalTooShort", modem_with("  signal_interval: 4s\n"), "modem.signal_interval", 5, 20,
                  "must be between 5s and 1h, got 4s"},
        ErrorCase{"SignalTooLong", modem_with("  signal_interval: 1h1s\n"), "modem.signal_interval", 5, 20,
                  "must be between 5s and 1h, got 1h1s"},
        ErrorCase{"GraceTooShort", modem_with("  registration_grace: 4999ms\n"), "modem.registration_grace", 5, 23,
                  "must be between 5s and 1h, got 4s999ms"},
        ErrorCase{"RegistrationTimeoutTooShort", modem_with("  registration_timeout: 9s\n"),
                  "modem.registration_timeout", 5, 25, "must be between 10s and 1h, got 9s"},
        ErrorCase{"StatusPollTooLong", modem_with("  status_poll: 61m\n"), "modem.status_poll", 5, 16,
                  "must be between 5s and 1h, got 1h1m"},
        ErrorCase{"BackoffTooShort", modem_with("  recovery_backoff: 500ms\n"), "modem.recovery_backoff", 5, 21,
                  "must be between 1s and 10m, got 500ms"},
        ErrorCase{"BackoffMaxTooLong", modem_with("  recovery_backoff_max: 2h\n"), "modem.recovery_backoff_max", 5, 25,
                  "must be between 1s and 1h, got 2h"},
        ErrorCase{"BackoffMaxBelowBackoff", modem_with("  recovery_backoff: 1m\n  recovery_backoff_max: 30s\n"),
                  "modem.recovery_backoff_max", 6, 25, "must be at least recovery_backoff (1m), got 30s"},
        ErrorCase{"BackoffAboveDefaultMax", modem_with("  recovery_backoff: 6m\n"), "modem.recovery_backoff", 5, 21,
                  "exceeds the default recovery_backoff_max (5m)"},
        ErrorCase{"PortReturnTooLong", modem_with("  port_return_timeout: 11m\n"), "modem.port_return_timeout", 5, 24,
                  "must be between 5s and 10m, got 11m"},
        ErrorCase{"PortReturnZero", modem_with("  port_return_timeout: 0s\n"), "modem.port_return_timeout", 5, 24,
                  "got 0s"}),
    CaseName{});

INSTANTIATE_TEST_SUITE_P(
    Enums, ModemConfigError,
    ::testing::Values(
        ErrorCase{"Vendor", modem_with("  vendor: nokia\n"), "modem.vendor", 5, 11,
                  "must be one of auto | generic | quectel | simcom | luat | huawei, got 'nokia'"},
        ErrorCase{"VendorIsCaseSensitive", modem_with("  vendor: Quectel\n"), "modem.vendor", 5, 11,
                  "got 'Quectel'"},
        ErrorCase{"Auth", modem_with("    auth: digest\n"), "modem.apn.auth", 5, 11,
                  "must be one of none | pap | chap, got 'digest'"},
        ErrorCase{"IpType", modem_with("    ip_type: ipv5\n"), "modem.apn.ip_type", 5, 14,
                  "must be one of ipv4 | ipv6 | ipv4v6, got 'ipv5'"},
        ErrorCase{"IpMethod", modem_with("  ip_method: ppp\n"), "modem.ip_method", 5, 14,
                  "must be one of auto | dhcp | static, got 'ppp'"},
        ErrorCase{"Route", modem_with("  route: default\n"), "modem.route", 5, 10,
                  "must be one of failover | primary | none, got 'default'"},
        ErrorCase{"InterfaceWithSlash", modem_with("  interface: ../eth0\n"), "modem.interface", 5, 14,
                  "must be a network interface name such as usb0 or wwan0, got '../eth0'"},
        ErrorCase{"InterfaceTooLong", modem_with("  interface: abcdefghijklmnop\n"), "modem.interface", 5, 14,
                  "network interface name"}),
    CaseName{});

INSTANTIATE_TEST_SUITE_P(
    Types, ModemConfigError,
    ::testing::Values(
        ErrorCase{"ModemList", "modem: [a]\n", "modem", 1, 8, "expected a map with keys port, vendor"},
        ErrorCase{"ApnScalar", "modem:\n  port: auto\n  apn: cmnet\n", "modem.apn", 3, 8,
                  "expected a map with keys name, user, password, auth, ip_type, got a single value"},
        ErrorCase{"DurationList", modem_with("  signal_interval: [1s, 2s]\n"), "modem.signal_interval", 5, 20,
                  "expected a duration like 90s, got a list"},
        ErrorCase{"DurationMap", modem_with("  signal_interval:\n    every: 1s\n"), "modem.signal_interval", 6, 5,
                  "got a map"},
        ErrorCase{"BaudNull", modem_with("  baud:\n"), "modem.baud", 5, 3, "expected a baud rate, got nothing"},
        ErrorCase{"PortMap", "modem:\n  port: {path: /dev/ttyUSB2}\n  apn:\n    name: cmnet\n", "modem.port", 2, 9,
                  "expected a device path or \"auto\", got a map"},
        ErrorCase{"ApnNameList", "modem:\n  port: auto\n  apn:\n    name: [cmnet]\n", "modem.apn.name", 4, 11,
                  "expected an APN name, got a list"}),
    CaseName{});

INSTANTIATE_TEST_SUITE_P(
    Required, ModemConfigError,
    ::testing::Values(
        ErrorCase{"Port", "modem:\n  apn:\n    name: cmnet\n", "modem.port", 1, 1, "is required"},
        ErrorCase{"Apn", "modem:\n  port: auto\n", "modem.apn", 1, 1, "is required; set at least apn.name"},
        ErrorCase{"ApnName", "modem:\n  port: auto\n  apn:\n    ip_type: ipv4\n", "modem.apn.name", 3, 3,
                  "is required"},
        ErrorCase{"ApnNameOfNullApn", "log_level: info\nmodem:\n  port: auto\n  apn:\n", "modem.apn.name", 4, 3,
                  "is required"}),
    CaseName{});

// ---- several errors at once ----

TEST(ModemConfig, ValuesAfterAnErrorAreStillChecked) {
    const auto r = load(modem_with("  vendor: [\n    1]\n  baud: 1\n  cid: 99\n"));
    ASSERT_EQ(r.errors.size(), 3u) << all_errors(r);
    EXPECT_EQ(r.errors[0].key, "modem.vendor");
    EXPECT_EQ(r.errors[1].key, "modem.baud");
    EXPECT_EQ(r.errors[2].key, "modem.cid");
}

// ---- secrets never echoed ----

class ModemConfigSecret : public ::testing::TestWithParam<SecretCase> {};

TEST_P(ModemConfigSecret, NotEchoed) { testing::expect_secret_not_echoed(GetParam()); }

INSTANTIATE_TEST_SUITE_P(
    Table, ModemConfigSecret,
    ::testing::Values(
        SecretCase{"PinWithLetters", modem_with("  pin: \"98a7\"\n"), "98a7", "modem.pin", "must be 4-8 digits"},
        SecretCase{"PinTooShort", modem_with("  pin: \"987\"\n"), "987", "modem.pin", "must be 4-8 digits"},
        SecretCase{"PinTooLong", modem_with("  pin: 987654321\n"), "987654321", "modem.pin", "must be 4-8 digits"},
        SecretCase{"PinSpaces", modem_with("  pin: \"98 76\"\n"), "98 76", "modem.pin", "must be 4-8 digits"},
        SecretCase{"PinInAList", modem_with("  pin: [9876]\n"), "9876", "modem.pin", "got a list"},
        SecretCase{"PasswordTooLong", modem_with("    password: " + std::string(65, 'Z') + "\n"), "ZZZZZZZZ",
                   "modem.apn.password", "must be at most 64 characters"},
        SecretCase{"PasswordWithQuote", modem_with("    password: 'Hunter\"2'\n"), "Hunter", "modem.apn.password",
                   "must not contain"},
        SecretCase{"PasswordWithNewline", modem_with("    password: \"Hunter\\r\\n2\"\n"), "Hunter",
                   "modem.apn.password", "control characters"}),
    CaseName{});

}  // namespace
}  // namespace cellgate
