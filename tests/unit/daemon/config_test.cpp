// The loader itself (daemon/config.cpp): parse_duration, the top level and log_level, YAML syntax
// and documents, the error text, files. Each section's reader has its own test file.
#include "daemon/config.hpp"

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "base/unique_fd.hpp"
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
                                           DurationCase{"999999999h", 999'999'999LL * 3'600'000},
                                           // The largest sum: every unit at nine digits.
                                           DurationCase{"999999999h999999999m999999999s999999999ms",
                                                        999'999'999LL * (3'600'000 + 60'000 + 1'000 + 1)}));

class ConfigDurationInvalid : public ::testing::TestWithParam<const char*> {};

TEST_P(ConfigDurationInvalid, Rejected) { EXPECT_FALSE(parse_duration(GetParam()).has_value()) << GetParam(); }

INSTANTIATE_TEST_SUITE_P(Table, ConfigDurationInvalid,
                         ::testing::Values("", "90", "s", "ms", "1.5s", "1 s", " 1s", "1s ", "-1s", "+1s", "1S",
                                           "1sec", "1min", "30s1m", "1m1m", "1ms1s", "1x", "1msx", "1d",
                                           "1000000000h", "1h-",
                                           // Past any integer type: rejected, not overflowed.
                                           "99999999999999999999s", "9223372036854775807ms",
                                           "18446744073709551616h", "1h99999999999999999999999999999999ms",
                                           "0000000001s"));

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
        // Refused at the 17th level, before yaml-cpp recurses into the rest.
        ErrorCase{"DeepNesting", std::string(3000, '[') + std::string(3000, ']'), "", 1, 17,
                  "nested more than 16 levels deep"},
        ErrorCase{"ManyDocuments", "a: 1\n---\nb: 2\n---\nc: 3\n", "", 3, 1, "only one YAML document"},
        // yaml-cpp 0.7's LoadAll loops forever on these (jbeder/yaml-cpp#1040).
        ErrorCase{"LoneComma", ",", "", 1, 1, "YAML syntax error: unexpected ','"},
        ErrorCase{"CommaAfterList", "- a\n,\n", "", 2, 1, "YAML syntax error: unexpected ','"},
        ErrorCase{"CommaAfterFlowMap", "{modem: ~},", "", 1, 11, "YAML syntax error: unexpected ','"},
        ErrorCase{"CommaInSecondDocument", "modem: ~\n---\n,", "", 3, 1, "YAML syntax error: unexpected ','"}),
    CaseName{});

// Numbers past any integer type are range errors, never an overflow (the sanitizer build aborts
// on one).
INSTANTIATE_TEST_SUITE_P(
    Extremes, ConfigOneError,
    ::testing::Values(
        ErrorCase{"DurationPastLongLong", modem_with("  recovery_backoff: 99999999999999999999s\n"),
                  "modem.recovery_backoff", 5, 21, "must be between 1s and 10m, got '99999999999999999999s'"},
        ErrorCase{"DurationTenDigits", modem_with("  status_poll: 1000000000ms\n"), "modem.status_poll", 5, 16,
                  "must be between 5s and 1h, got '1000000000ms'"},
        ErrorCase{"NegativeIntegerPastLongLong", modem_with("  cid: -99999999999999999999\n"), "modem.cid", 5, 8,
                  "must be between 1 and 15"},
        ErrorCase{"CountPastLongLong", "outbox:\n  max_messages: 99999999999999999999\n", "outbox.max_messages",
                  2, 17, "must be between 1 and 1000000000"},
        ErrorCase{"SizePastUint64", "outbox:\n  max_bytes: 99999999999999999999GiB\n", "outbox.max_bytes", 2, 14,
                  "must be between 1024 and 1099511627776 bytes"},
        ErrorCase{"SizeOverflowingItsUnit", "outbox:\n  max_bytes: 18014398509481984GiB\n", "outbox.max_bytes",
                  2, 14, "must be between 1024 and 1099511627776 bytes"}),
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

TEST(ConfigSecretKeys, AFileKeyHoldingASecretIsNotEchoed) {
    // Not a path: the likeliest reason is the password itself in the wrong key.
    for (const char* yaml : {"local:\n  username: u\n  password_file: hunter2-S3CR3T\n",
                             "local:\n  username: u\n  password_file: /hunter2-S3CR3T\n",
                             "local:\n  username: u\n  password_file: \"/S3CR3T\\nnext\"\n"}) {
        const auto r = load(yaml);
        ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
        EXPECT_EQ(r.errors[0].key, "local.password_file");
        EXPECT_EQ(all_errors(r).find("S3CR3T"), std::string::npos) << all_errors(r);
    }
}

// ---- bounds: a hostile file costs little and says so once ----

TEST(ConfigErrors, OnlyTheFirstFiftyAreReportedThenACount) {
    std::string yaml = "modem:\n";
    for (int i = 0; i < 2000; ++i) yaml += "  k" + std::to_string(i) + ": 1\n";
    const auto r = load(yaml);
    ASSERT_EQ(r.errors.size(), 51u);
    for (size_t i = 0; i < 50; ++i) EXPECT_EQ(r.errors[i].line, static_cast<int>(i) + 2) << i;
    // port and apn are missing as well: 2002 errors in all.
    EXPECT_EQ(r.errors[50].to_string(), "test.yaml: and 1952 more errors");
}

TEST(ConfigBounds, TooManyValuesAreRefusedBeforeAnyNodeIsBuilt) {
    // One long scalar is one value.
    const auto r = load("routes: [" + std::string(30000, '1') + "]\n");
    ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
    EXPECT_EQ(r.errors[0].key, "routes[0]");
    std::string many = "routes:\n";
    for (int i = 0; i < 20001; ++i) many += "- 1\n";
    const auto big = load(many);
    ASSERT_EQ(big.errors.size(), 1u) << all_errors(big);
    // The 20001st value: the top map, its key, the list and 19998 items.
    EXPECT_EQ(big.errors[0].line, 19999);
    EXPECT_NE(big.errors[0].message.find("more than 20000 values"), std::string::npos) << all_errors(big);
}

TEST(ConfigBounds, AnAliasCountsAsWhatItStandsFor) {
    std::string anchor = "x: &a [";
    for (int i = 0; i < 1000; ++i) anchor += "1,";
    anchor += "1]\n";
    std::string yaml = anchor + "routes:\n";
    for (int i = 0; i < 30; ++i) yaml += "- *a\n";
    const auto r = load(yaml);
    ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
    EXPECT_NE(r.errors[0].message.find("more than 20000 values (an alias counts"), std::string::npos);
}

TEST(ConfigBounds, SixteenLevelsAreReadSeventeenAreNot) {
    const auto nested = [](int depth) { return std::string(static_cast<size_t>(depth), '[') + std::string(static_cast<size_t>(depth), ']'); };
    // The top map is a level: a list 15 deep under a key is 16.
    const auto ok = load("log_level: " + nested(15) + "\n");
    ASSERT_EQ(ok.errors.size(), 1u) << all_errors(ok);
    EXPECT_EQ(ok.errors[0].key, "log_level");
    const auto deep = load("log_level: " + nested(16) + "\n");
    ASSERT_EQ(deep.errors.size(), 1u) << all_errors(deep);
    EXPECT_EQ(deep.errors[0].message, "nested more than 16 levels deep");
}

std::string generic_sessions(int n) {
    std::string out = "cloud:\n";
    for (int i = 0; i < n; ++i)
        out += "  - {name: s" + std::to_string(i) + ", platform: generic, endpoint: 'h:1', client_id: c" +
               std::to_string(i) + "}\n";
    return out;
}

TEST(ConfigBounds, AtMost64Sessions) {
    EXPECT_TRUE(load(generic_sessions(64)).errors.empty());
    const auto r = load(generic_sessions(65));
    ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
    EXPECT_EQ(r.errors[0].to_string(),
              "test.yaml:1:1: cloud: has 65 entries; at most 64 cloud sessions are supported (the first 64 were "
              "checked)");
}

TEST(ConfigBounds, AtMost256RoutesAnd64DownlinkEntries) {
    const auto routes = [](int n) {
        std::string out = generic_sessions(64) + "routes:\n";
        for (int i = 0; i < n; ++i) out += "  - {from: 'a/" + std::to_string(i) + "', to: s0, as: raw, topic: x}\n";
        return out;
    };
    EXPECT_TRUE(load(routes(256)).errors.empty()) << all_errors(load(routes(256)));
    const auto r = load(routes(257));
    ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
    EXPECT_EQ(r.errors[0].key, "routes");
    EXPECT_NE(r.errors[0].message.find("at most 256 routes"), std::string::npos);

    std::string downlink = generic_sessions(64) + "downlink:\n";
    for (int i = 0; i < 65; ++i)
        downlink += "  - {from: s" + std::to_string(i % 64) + ", to: d/" + std::to_string(i) + ", filters: [x]}\n";
    const auto d = load(downlink);
    ASSERT_EQ(d.errors.size(), 1u) << all_errors(d);
    EXPECT_EQ(d.errors[0].key, "downlink");
    EXPECT_NE(d.errors[0].message.find("has 65 entries; at most 64 downlink entries"), std::string::npos);
}

// ---- what a loaded config will run ----

TEST(ConfigNotice, AConfigWithNothingToRunSaysSo) {
    EXPECT_EQ(config_notice(*load("log_level: info\n").config),
              "no modem and no cloud sessions: cellgated will only serve its D-Bus API");
    EXPECT_EQ(config_notice(*load(kMinimalModem).config), "");
    EXPECT_EQ(config_notice(*load(generic_sessions(1)).config), "");
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

TEST(ConfigErrorFormat, AWarningSaysSoAfterThePosition) {
    ConfigError w{"c.yaml", 7, 3, "cloud[0].keepalive", "above 240s", Severity::warning};
    EXPECT_EQ(w.to_string(), "c.yaml:7:3: warning: cloud[0].keepalive: above 240s");
    w.line = 0;
    EXPECT_EQ(w.to_string(), "c.yaml: warning: cloud[0].keepalive: above 240s");
}

TEST(ConfigErrorFormat, FromALoad) {
    const auto r = load(modem_with("  cid: 0\n"));
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].to_string(), "test.yaml:5:8: modem.cid: must be between 1 and 15, got 0");
}

// ---- files ----

class ConfigFile : public ::testing::Test {
protected:
    std::string write(const std::string& name, const std::string& text, mode_t mode = 0644) {
        return dir_.write(name, text, mode);
    }

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
    EXPECT_EQ(r.errors[0].to_string(), dir_.path().string() + ": is a directory, not a regular file");
}

TEST_F(ConfigFile, HugeFileRejected) {
    const auto path = write("huge.yaml", "# " + std::string(2 << 20, 'x') + "\n");
    const auto r = load_config_file(path);
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].to_string(), path + ": is larger than 256 KiB");
}

TEST_F(ConfigFile, AFileOfExactlyTheLimitLoads) {
    const std::string head = "log_level: info\n# ";
    const auto path = write("big.yaml", head + std::string((256 << 10) - head.size() - 1, 'x') + "\n");
    ASSERT_EQ(std::filesystem::file_size(path), 256u << 10);
    const auto r = load_config_file(path);
    EXPECT_TRUE(r.errors.empty()) << all_errors(r);
}

// Neither a start, nor --check-config, nor a reload may wait for a writer that never comes.
TEST_F(ConfigFile, AFifoIsRefusedWithoutWaiting) {
    const auto fifo = dir_ / "fifo.yaml";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    const auto r = load_config_file(fifo);
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].to_string(), fifo + ": is a FIFO, not a regular file");
    // Through a symlink too: links are followed, what they point at is checked.
    const auto link = dir_ / "link.yaml";
    std::filesystem::create_symlink(fifo, link);
    EXPECT_EQ(all_errors(load_config_file(link)), link + ": is a FIFO, not a regular file\n");
}

TEST_F(ConfigFile, ASocketIsRefused) {
    const auto path = dir_ / "sock.yaml";
    const UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    ASSERT_LT(path.size(), sizeof addr.sun_path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    ASSERT_EQ(::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(all_errors(load_config_file(path)), path + ": is a socket, not a regular file\n");
}

TEST_F(ConfigFile, ASymlinkToAConfigIsFollowed) {
    const auto target = write("real.yaml", kMinimalModem);
    const auto link = dir_ / "cellgate.yaml";
    std::filesystem::create_symlink(target, link);
    const auto r = load_config_file(link);
    ASSERT_TRUE(r.errors.empty()) << all_errors(r);
    EXPECT_EQ(r.config->source, link);
}

// A secret written in the config makes the config a secret file: readable by every user is worth
// a warning (not an error: such configs always loaded).
TEST_F(ConfigFile, AnInlineSecretInAWorldReadableConfigIsAWarning) {
    const auto path = write("open.yaml", modem_with("  pin: \"1234\"\n"), 0644);
    const auto r = load_config_file(path);
    ASSERT_TRUE(r.errors.empty()) << all_errors(r);
    ASSERT_EQ(r.warnings.size(), 1u);
    EXPECT_EQ(r.warnings[0].to_string(),
              path + ":5:8: warning: modem.pin: is a secret in a file every user can read; secret files are "
                     "root:cellgate 0640 (or cellgate's own, 0600), and so is a config that holds one");
    EXPECT_EQ(r.warnings[0].to_string().find("1234"), std::string::npos);

    EXPECT_TRUE(load_config_file(write("closed.yaml", modem_with("  pin: \"1234\"\n"), 0640)).warnings.empty());
    // No secret, nothing to protect; an empty password is none.
    EXPECT_TRUE(load_config_file(write("plain.yaml", modem_with("    password: \"\"\n"), 0644)).warnings.empty());
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
