// The loader itself (daemon/config.cpp): parse_duration, the top level and log_level, YAML syntax
// and documents, the error text, files. Each section's reader has its own test file.
#include "daemon/config.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "unit/support/config_errors.hpp"
#include "unit/support/temp_dir.hpp"

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

// ---- one error each: key, position and message ----

class ConfigOneError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ConfigOneError, Reported) { testing::expect_one_error(GetParam()); }

INSTANTIATE_TEST_SUITE_P(
    UnknownKeys, ConfigOneError,
    ::testing::Values(
        ErrorCase{"TopLevelUnknown", "mqtt:\n  url: x\n", "mqtt", 1, 1,
                  "unknown key 'mqtt'; allowed here: modem, cloud, backoff, log_level"},
        ErrorCase{"TopLevelTypo", modem_with("loglevel: info\n"), "loglevel", 5, 1, "unknown key 'loglevel'"},
        ErrorCase{"NonScalarKey", "? [a, b]\n: 1\n", "", 1, 3, "keys must be plain names, got a list"}),
    CaseName{});

INSTANTIATE_TEST_SUITE_P(
    Enums, ConfigOneError,
    ::testing::Values(
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
        ErrorCase{"LogLevelList", "log_level: [info]\n", "log_level", 1, 12, "got a list"}),
    CaseName{});

INSTANTIATE_TEST_SUITE_P(
    Syntax, ConfigOneError,
    ::testing::Values(
        ErrorCase{"UnclosedFlowSequence", modem_with("  vendor: [quectel\n"), "", 6, 1, "YAML syntax error: "},
        ErrorCase{"MapValueInScalar", "modem:\n  port: a: b\n", "", 2, 10, "YAML syntax error: illegal map value"},
        ErrorCase{"UnterminatedQuoteAtEof", modem_with("  vendor: \"quectel"), "", 5, 19,
                  "YAML syntax error: illegal EOF in scalar"},
        ErrorCase{"UnclosedFlowMap", "modem: {port: auto\n", "", 2, 1, "YAML syntax error: end of map flow not found"},
        ErrorCase{"TabIndent", "modem:\n\tport: auto\n", "", 2, 6, "YAML syntax error: illegal map value"},
        ErrorCase{"TwoAnchors", "modem: &a &b x\n", "", 1, 11, "YAML syntax error: cannot assign multiple anchors"},
        ErrorCase{"BadIndent", "modem:\n  port: auto\n apn:\n", "", 3, 2, "YAML syntax error: "},
        ErrorCase{"UnknownAnchor", modem_with("  vendor: *v\n"), "", 5, 11, "YAML syntax error: "},
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

// ---- secrets never echoed ----

class ConfigSecret : public ::testing::TestWithParam<SecretCase> {};

TEST_P(ConfigSecret, NotEchoed) { testing::expect_secret_not_echoed(GetParam()); }

INSTANTIATE_TEST_SUITE_P(
    Table, ConfigSecret,
    ::testing::Values(
        SecretCase{"PasswordBadEscape", modem_with("    password: \"Hunt\\qr2\"\n"), "\\q", "",
                   "unknown escape character in a quoted string"},
        SecretCase{"PasswordBadUnicode", modem_with("    password: \"Hunt\\uZZZZ\"\n"), "ZZZZ", "",
                   "YAML syntax error"}),
    CaseName{});

TEST(ConfigErrors, EscapeErrorDoesNotLeakTheCharacter) {
    const auto r = load(modem_with("    password: \"ab\\qcd\"\n"));
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
    const auto r = load(modem_with("  cid: 0\n"));
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].to_string(), "test.yaml:5:8: modem.cid: must be between 1 and 15, got 0");
}

// ---- files ----

class ConfigFile : public ::testing::Test {
protected:
    std::string write(const std::string& name, const std::string& text) { return dir_.write(name, text); }

    testing::TempDir dir_;
};

TEST_F(ConfigFile, LoadsAndRecordsSource) {
    const auto path = write("good.yaml", kMinimalModem);
    const auto r = load_config_file(path);
    ASSERT_TRUE(r.errors.empty()) << all_errors(r);
    EXPECT_EQ(r.config->source, path);
    EXPECT_EQ(r.config->modem->apn.name, "cmnet");
}

TEST_F(ConfigFile, ErrorsCarryTheFileName) {
    const auto path = write("bad.yaml", modem_with("  baud: 1\n"));
    const auto r = load_config_file(path);
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].to_string().rfind(path + ":5:9: modem.baud: ", 0), 0u) << r.errors[0].to_string();
}

TEST_F(ConfigFile, MissingFile) {
    const auto path = dir_ / "nope.yaml";
    const auto r = load_config_file(path);
    EXPECT_FALSE(r.config.has_value());
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].file, path);
    EXPECT_EQ(r.errors[0].line, 0);
    EXPECT_EQ(r.errors[0].to_string(), path + ": cannot open: " + std::strerror(ENOENT));
}

TEST_F(ConfigFile, DirectoryIsAnError) {
    const auto r = load_config_file(dir_.path().string());
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].to_string(), dir_.path().string() + ": cannot read: " + std::strerror(EISDIR));
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
