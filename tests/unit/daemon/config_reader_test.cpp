// The pieces every section reader is built from (daemon/config_reader.hpp), tested on their own:
// the map walker's key checks, the ordered duration pair, files that must be readable now, and
// the small text checks.
#include "daemon/config_reader.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "unit/support/temp_dir.hpp"

namespace cellgate::config_detail {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> messages(Errors& e) {
    std::vector<std::string> out;
    for (const auto& error : e.take()) out.push_back(error.key + ": " + error.message);
    return out;
}

// ---- the map walker ----

TEST(ConfigMapWalker, ReportsUnknownForeignAndDuplicateKeysAndHandsOutTheRest) {
    const YAML::Node node = YAML::Load("a: 1\nzz: 2\nkey: 3\na: 4\n");
    Errors e("test.yaml");
    const std::string_view elsewhere[] = {"key"};
    const MapWalker m(e, node, "s", {}, {"a", "b"}, elsewhere, "this platform");
    ASSERT_TRUE(m.get("a").has_value());
    EXPECT_EQ(m.get("a")->path, "s.a");
    EXPECT_EQ(m.get("a")->value.Scalar(), "1");
    EXPECT_FALSE(m.get("b").has_value());
    EXPECT_EQ(messages(e), (std::vector<std::string>{
                               "s.zz: unknown key 'zz'; allowed here: a, b",
                               "s.key: key 'key' is not used by this platform; allowed here: a, b",
                               "s.a: duplicate key (first set on line 1)",
                           }));
}

TEST(ConfigMapWalker, AMissingRequiredKeyIsReportedOnceUnlessTheMapHadTheWrongType) {
    Errors e("test.yaml");
    const MapWalker empty(e, YAML::Load("{}"), "s", {3, 1}, {"port"});
    EXPECT_FALSE(empty.require("port", "set a device").has_value());
    const MapWalker list(e, YAML::Load("[1]"), "t", {}, {"port"});
    EXPECT_TRUE(list.wrong_type());
    EXPECT_FALSE(list.require("port", "set a device").has_value());
    EXPECT_EQ(messages(e), (std::vector<std::string>{
                               "t: expected a map with keys port, got a list",
                               "s.port: is required; set a device",
                           }));
}

// ---- an ordered pair of durations ----

struct Pair {
    milliseconds low = 5s;    // the defaults
    milliseconds high = 5min;
};

// Reads `yaml` (keys low and high) with low in 1s..10m and high in 1s..1h.
std::vector<std::string> read_pair(const std::string& yaml, Pair& p) {
    Errors e("test.yaml");
    const MapWalker m(e, YAML::Load(yaml), "s", {}, {"low", "high"});
    read_ordered_durations(e, m, {"low", 1s, 10min, p.low}, {"high", 1s, 1h, p.high});
    return messages(e);
}

TEST(ConfigOrderedDurations, BothSetInOrderAreTaken) {
    Pair p;
    EXPECT_TRUE(read_pair("low: 1m\nhigh: 1m\n", p).empty());
    EXPECT_EQ(p.low, 1min);
    EXPECT_EQ(p.high, 1min);
}

TEST(ConfigOrderedDurations, HighBelowLowIsAnErrorOnHigh) {
    Pair p;
    EXPECT_EQ(read_pair("low: 1m\nhigh: 30s\n", p),
              (std::vector<std::string>{"s.high: must be at least low (1m), got 30s"}));
    EXPECT_EQ(p.high, 5min) << "the default stays";
    // Left out, low keeps its default, and high is held to it.
    Pair q;
    EXPECT_EQ(read_pair("high: 2s\n", q), (std::vector<std::string>{"s.high: must be at least low (5s), got 2s"}));
}

TEST(ConfigOrderedDurations, LowAboveTheDefaultHighIsAnErrorOnLow) {
    Pair p;
    EXPECT_EQ(read_pair("low: 6m\n", p),
              (std::vector<std::string>{"s.low: exceeds the default high (5m); set high too"}));
    Pair q;
    EXPECT_TRUE(read_pair("low: 6m\nhigh: 6m\n", q).empty());
}

TEST(ConfigOrderedDurations, AnInvalidLowIsNotComparedWith) {
    Pair p;
    EXPECT_EQ(read_pair("low: 1x\nhigh: 2s\n", p).size(), 1u);
    EXPECT_EQ(p.high, 2s);
    EXPECT_EQ(read_pair("low: 20m\n", p),
              (std::vector<std::string>{"s.low: must be between 1s and 10m, got 20m"}));
}

// ---- files that must be readable at load ----

class ConfigReadablePath : public ::testing::Test {
protected:
    // The error read_readable_path() reports for `path`, "" when it accepts it.
    std::string problem(const std::string& path) {
        Errors e("test.yaml");
        const Field f{"ca_file", YAML::Node("ca_file"), YAML::Node(path)};
        const auto got = read_readable_path(e, f);
        const auto errors = e.take();
        EXPECT_EQ(got.has_value(), errors.empty());
        return errors.empty() ? "" : errors[0].message;
    }

    testing::TempDir dir_;
};

TEST_F(ConfigReadablePath, ARegularFileIsAccepted) {
    EXPECT_EQ(problem(dir_.write("ca.pem", "pem\n")), "");
}

TEST_F(ConfigReadablePath, WhatCannotBeReadNamesTheFileAndTheReason) {
    const auto missing = dir_ / "nope.pem";
    EXPECT_EQ(problem(missing), missing + ": cannot open: " + std::strerror(ENOENT));
    const auto dir = dir_.path().string();
    EXPECT_EQ(problem(dir), dir + ": is a directory, not a regular file");
    // A FIFO is refused without waiting for a writer, a device without being opened.
    const auto fifo = dir_ / "fifo";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    EXPECT_EQ(problem(fifo), fifo + ": is a FIFO, not a regular file");
    EXPECT_EQ(problem("/dev/null"), "/dev/null: is a character device, not a regular file");
    EXPECT_EQ(problem("ca.pem"), "must be an absolute file path, got 'ca.pem'");
}

// A TLS private key: the secret-file rule, and its value never echoed.
class ConfigSecretPath : public ConfigReadablePath {
protected:
    std::vector<ConfigError> read(const std::string& value, std::optional<std::string>& got) {
        Errors e("test.yaml");
        const Field f{"tls.key", YAML::Node("key"), YAML::Node(value)};
        got = read_secret_path(e, f);
        auto out = e.take();
        for (auto& w : e.take_warnings()) out.push_back(std::move(w));
        return out;
    }
};

TEST_F(ConfigSecretPath, AKeyFileFollowingTheRuleIsAccepted) {
    std::optional<std::string> got;
    const auto key = dir_.write("gw.key", "-----BEGIN PRIVATE KEY-----\n", 0640);
    const auto problems = read(key, got);
    EXPECT_EQ(got, key);
    // As root with a cellgate user, root:root 0640 is a warning (the service could not read it).
    for (const auto& p : problems) EXPECT_EQ(p.severity, Severity::warning) << p.to_string();
}

TEST_F(ConfigSecretPath, NeitherAPemPastedInNorAMissingPathIsEchoed) {
    std::optional<std::string> got;
    for (const std::string& value : {std::string("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC"),
                                    dir_ / "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"}) {
        const auto problems = read(value, got);
        EXPECT_FALSE(got.has_value());
        ASSERT_EQ(problems.size(), 1u);
        EXPECT_EQ(problems[0].to_string().find("MIIEvQIBADANBgkq"), std::string::npos) << problems[0].to_string();
    }
}

TEST_F(ConfigSecretPath, AWorldReadableKeyIsRefused) {
    std::optional<std::string> got;
    const auto problems = read(dir_.write("open.key", "k\n", 0644), got);
    EXPECT_FALSE(got.has_value());
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_EQ(problems[0].to_string(), "test.yaml: tls.key: is readable by every user; secret files are "
                                       "root:cellgate 0640 (or cellgate's own, 0600)");
}

// ---- the secret-file rule ----

struct stat file_stat(uid_t uid, gid_t gid, mode_t mode) {
    struct stat st {};
    st.st_uid = uid;
    st.st_gid = gid;
    st.st_mode = S_IFREG | mode;
    return st;
}

TEST(ConfigSecretFileRule, RootCellgate0640AndCellgate0600AreTheRule) {
    const ServiceUser cellgate{995, 995};
    for (const auto& st : {file_stat(0, 995, 0640), file_stat(995, 995, 0600), file_stat(995, 0, 0400)}) {
        EXPECT_EQ(secret_file_problem(st, cellgate).message, "") << std::oct << st.st_mode;
        EXPECT_EQ(secret_file_problem(st, std::nullopt).message, "");
    }
}

TEST(ConfigSecretFileRule, ReadableByEveryUserIsAnError) {
    for (const auto& st : {file_stat(0, 995, 0644), file_stat(995, 995, 0604), file_stat(0, 0, 0444)}) {
        const auto p = secret_file_problem(st, ServiceUser{995, 995});
        EXPECT_EQ(p.severity, Severity::error);
        EXPECT_EQ(p.message, "is readable by every user; secret files are root:cellgate 0640 (or cellgate's own, 0600)");
        EXPECT_EQ(secret_file_problem(st, std::nullopt).severity, Severity::error);
    }
}

// `chmod 600` as root works for root and fails the service's own check, which runs as cellgate.
TEST(ConfigSecretFileRule, WhatTheServiceUserCannotReadIsAWarningForRoot) {
    for (const auto& st : {file_stat(0, 0, 0600), file_stat(0, 995, 0600), file_stat(995, 0, 0040)}) {
        const auto p = secret_file_problem(st, ServiceUser{995, 995});
        EXPECT_EQ(p.severity, Severity::warning) << std::oct << st.st_mode;
        EXPECT_EQ(p.message, "the service runs as user cellgate, which cannot read it; secret files are "
                             "root:cellgate 0640 (or cellgate's own, 0600)");
        // Not root (or no such user): the open itself tells.
        EXPECT_EQ(secret_file_problem(st, std::nullopt).message, "");
    }
}

// ---- lists ----

TEST(ConfigFirstEntries, ALongListIsOneErrorAndItsFirstEntriesAreKept) {
    const auto doc = YAML::Load("list: [a, b, c, d]\n");
    const Field f{"list", doc.begin()->first, doc.begin()->second};
    Errors e("test.yaml");
    const Field same = first_entries(e, f, 4, "items");
    EXPECT_TRUE(e.empty());
    EXPECT_EQ(same.value.size(), 4u);
    const Field cut = first_entries(e, f, 2, "items");
    ASSERT_EQ(cut.value.size(), 2u);
    EXPECT_EQ(cut.value[1].Scalar(), "b");
    EXPECT_EQ(where_of(cut.value[1]).column, 11);  // positions survive the cut
    EXPECT_EQ(messages(e), (std::vector<std::string>{
                               "list: has 4 entries; at most 2 items are supported (the first 2 were checked)"}));
}

// ---- numbers past any integer type ----

TEST(ConfigNumbers, OverflowIsARangeErrorNotAFormatError) {
    Errors e("test.yaml");
    EXPECT_EQ(read_int(e, {"n", YAML::Node("n"), YAML::Node("99999999999999999999")}, 1, 15), std::nullopt);
    EXPECT_EQ(read_int(e, {"n", YAML::Node("n"), YAML::Node("-99999999999999999999")}, 1, 15), std::nullopt);
    EXPECT_EQ(read_int(e, {"n", YAML::Node("n"), YAML::Node("1e99")}, 1, 15), std::nullopt);
    EXPECT_EQ(read_duration(e, {"d", YAML::Node("d"), YAML::Node("99999999999999999999s")}, 1s, 1h), std::nullopt);
    EXPECT_EQ(read_duration(e, {"d", YAML::Node("d"), YAML::Node("1h99999999999999999999ms")}, 1s, 1h),
              std::nullopt);
    EXPECT_EQ(messages(e), (std::vector<std::string>{
                               "n: must be between 1 and 15, got 99999999999999999999",
                               "n: must be between 1 and 15, got -99999999999999999999",
                               "n: expected an integer, got '1e99'",
                               "d: must be between 1s and 1h, got '99999999999999999999s'",
                               "d: must be between 1s and 1h, got '1h99999999999999999999ms'",
                           }));
}

// ---- text checks ----

TEST(ConfigText, QuotedEscapesControlCharactersAndCutsLongValues) {
    // Qualified: std::quoted would win for a std::string argument.
    EXPECT_EQ(config_detail::quoted("cmnet"), "'cmnet'");
    EXPECT_EQ(config_detail::quoted(std::string_view("a\nb\x7f", 4)), "'a\\x0ab\\x7f'");
    EXPECT_EQ(config_detail::quoted(std::string(70, 'x')), "'" + std::string(64, 'x') + "...'");
}

TEST(ConfigText, EndpointProblems) {
    for (const char* ok : {"broker.example.com:8883", "127.0.0.1:1", "[::1]:65535", "[fe80::1%eth0]:1883"})
        EXPECT_EQ(endpoint_problem(ok), "") << ok;
    const std::pair<const char*, const char*> bad[] = {
        {"mqtt://broker:1883", "must be host:port, not a URL"},
        {"broker", "must be host:port"},
        {"::1:1883", "an IPv6 address must be written in brackets: [address]:port"},
        {"[::1:1883", "must be host:port or [IPv6 address]:port"},
        {":1883", "has an empty host; write host:port"},
        {"bro ker:1883", "has an invalid host name"},
        {"broker:0", "needs a port between 1 and 65535"},
        {"broker:65536", "needs a port between 1 and 65535"},
        {"broker:http", "needs a port between 1 and 65535"},
    };
    for (const auto& [text, why] : bad) EXPECT_EQ(endpoint_problem(text), why) << text;
}

TEST(ConfigText, DnsLabelsAndIntegers) {
    EXPECT_TRUE(is_dns_label("cn-shanghai"));
    EXPECT_FALSE(is_dns_label(""));
    EXPECT_FALSE(is_dns_label("cn.shanghai"));
    EXPECT_FALSE(is_dns_label(std::string(64, 'a')));
    EXPECT_EQ(parse_integer("-12"), -12);
    EXPECT_EQ(parse_integer(""), std::nullopt);
    EXPECT_EQ(parse_integer("1x"), std::nullopt);
    EXPECT_EQ(parse_integer("99999999999999999999"), std::nullopt);
}

}  // namespace
}  // namespace cellgate::config_detail
