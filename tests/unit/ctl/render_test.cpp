// What cellgatectl prints, from properties as the bus hands them over: ages and local times,
// the mmcli-style table, the JSON for scripts and the one-line changes of `watch`.
#include "ctl/render.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

namespace cellgate::ctl {
namespace {

constexpr uint64_t kSecond = 1'000'000;
// 2024-05-01 12:00:03 UTC.
constexpr uint64_t kSince = 1'714'564'803ull * kSecond;

class RenderTest : public ::testing::Test {
protected:
    // Local times in UTC, whatever the machine's zone.
    void SetUp() override {
        const char* tz = std::getenv("TZ");
        saved_ = tz ? tz : "";
        had_ = tz != nullptr;
        setenv("TZ", "UTC", 1);
        tzset();
    }
    void TearDown() override {
        if (had_) setenv("TZ", saved_.c_str(), 1);
        else unsetenv("TZ");
        tzset();
    }
    std::string saved_;
    bool had_ = false;
};

Properties session(const std::string& state, uint64_t since_us) {
    return {{"Name", std::string("lab")},          {"Platform", std::string("generic")},
            {"Endpoint", std::string("127.0.0.1:1883")}, {"State", state},
            {"ConnectedSince", since_us},           {"NextRetryIn", uint64_t{8}},
            {"Published", uint64_t{12}},            {"Received", uint64_t{3}},
            {"Queued", uint64_t{0}},                {"Dropped", uint64_t{1}}};
}

TEST_F(RenderTest, AgesReadLikeTheConfigFile) {
    EXPECT_EQ(age_text(0), "0s");
    EXPECT_EQ(age_text(192), "3m12s");
    EXPECT_EQ(age_text(90'061), "25h1m1s");
    EXPECT_EQ(local_time(kSince), "2024-05-01 12:00:03");
}

TEST_F(RenderTest, ASessionSaysHowLongItHasBeenConnected) {
    EXPECT_EQ(session_state_text(session("connected", kSince), kSince + 192 * kSecond),
              "connected for 3m12s (since 2024-05-01 12:00:03)");
    EXPECT_EQ(session_state_text(session("backoff", 0), kSince), "backoff (retry delay 8s)");
    EXPECT_EQ(session_state_text(session("waiting-link", 0), kSince), "waiting-link");
    // A wall clock that went back (no RTC, NTP not there yet) shows no negative age.
    EXPECT_EQ(session_state_text(session("connected", kSince), kSince - kSecond), "connected");
}

TEST_F(RenderTest, StatusIsATableWithAlignedKeysAndNoEmptyRows) {
    Snapshot s;
    s.gateway = {{"Version", std::string("0.1.0")}, {"State", std::string("degraded")},
                 {"StateReason", std::string("modem connected, cloud 0/1 connected (lab backoff)")}};
    s.modem = {{"State", std::string("connected")}, {"FailedReason", std::string("")},
               {"Operator", std::string("CMCC")},  {"OperatorCode", std::string("46000")},
               {"AccessTechnology", std::string("lte")}, {"Registration", std::string("home")},
               {"SignalQuality", uint64_t{67}},     {"Rssi", int64_t{-71}},
               {"IpAddress", std::string("10.64.12.34")}, {"Apn", std::string("cmnet")},
               {"LastError", std::string("")}};
    s.sessions = {{"lab", session("backoff", 0)}};
    const std::string out = render_status(s, kSince);
    EXPECT_NE(out.find("  Gateway   |    state: degraded\n"), std::string::npos) << out;
    EXPECT_NE(out.find("            |   reason: modem connected, cloud 0/1 connected (lab backoff)\n"),
              std::string::npos) << out;
    EXPECT_NE(out.find("  Modem     |    state: connected\n"), std::string::npos) << out;
    EXPECT_NE(out.find("|   signal: 67% (-71 dBm)\n"), std::string::npos) << out;
    EXPECT_NE(out.find("|  network: CMCC (46000), lte, home\n"), std::string::npos) << out;
    EXPECT_NE(out.find("|       ip: 10.64.12.34 (apn cmnet)\n"), std::string::npos) << out;
    EXPECT_NE(out.find("  Cloud lab |    state: backoff (retry delay 8s)\n"), std::string::npos) << out;
    EXPECT_NE(out.find("|   outbox: 0 queued, 1 dropped, 0 invalid\n"), std::string::npos) << out;
    EXPECT_EQ(out.find("last error"), std::string::npos) << out;  // empty: left out
}

TEST_F(RenderTest, JsonKeepsTheBusNamesAndNumbers) {
    Snapshot s;
    s.gateway = {{"State", std::string("online")}};
    s.modem = {{"Rssi", int64_t{-71}}};
    s.sessions = {{"lab", session("connected", kSince)}};
    const Json j = to_json(s);
    EXPECT_EQ(j["gateway"]["State"], "online");
    EXPECT_EQ(j["modem"]["Rssi"], -71);
    EXPECT_EQ(j["sessions"]["lab"]["ConnectedSince"], kSince);
    EXPECT_EQ(j["sessions"]["lab"]["Published"], 12);
}

TEST_F(RenderTest, AWatchLineQuotesWhatIsNotOneWord) {
    const Properties changed = {{"State", std::string("degraded")},
                                {"StateReason", std::string("modem connected, cloud 0/1 connected")},
                                {"LastError", std::string("")},
                                {"ConnectedSince", kSince},
                                {"Rssi", int64_t{-71}}};
    EXPECT_EQ(change_line("12:00:03", "gateway", changed),
              "12:00:03 gateway: State=degraded StateReason=\"modem connected, cloud 0/1 connected\" LastError=\"\" "
              "ConnectedSince=\"2024-05-01 12:00:03\" Rssi=-71");
}

}  // namespace
}  // namespace cellgate::ctl
