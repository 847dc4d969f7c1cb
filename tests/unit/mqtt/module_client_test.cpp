// The module MQTT client against a scripted AT channel: one step in flight, outcomes from URCs
// (never from OK), one publish at a time, lost links, the status poll and module restarts.
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "mqtt/module/module_client.hpp"
#include "unit/support/fake_scheduler.hpp"

namespace cellgate::mqtt {
namespace {

using namespace std::chrono_literals;
using cellgate::testing::FakeScheduler;

class ScriptedAt final : public ModuleAt {
public:
    struct Pending {
        std::string command;
        std::optional<std::string> data;
        std::chrono::milliseconds timeout;
        AtDone done;
    };

    void send(std::string command, std::chrono::milliseconds timeout, AtDone done) override {
        sent.push_back(command);
        pending.push_back({std::move(command), std::nullopt, timeout, std::move(done)});
    }
    void send_data(std::string command, std::string data, std::chrono::milliseconds timeout, AtDone done) override {
        sent.push_back(command);
        pending.push_back({std::move(command), std::move(data), timeout, std::move(done)});
    }
    std::string vendor() const override { return vendor_name; }

    Pending take() {
        EXPECT_FALSE(pending.empty());
        auto p = std::move(pending.front());
        pending.pop_front();
        return p;
    }
    void ok(std::vector<std::string> lines = {}) {
        auto p = take();
        p.done(AtReply{AtReply::Status::ok, "", std::move(lines)});
    }
    void error() {
        auto p = take();
        p.done(AtReply{AtReply::Status::error, "ERROR", {}});
    }
    void urc(const std::string& line) { on_urc(line); }

    // A well-behaved Quectel module, client 0: OK, then the outcome URC.
    void answer_quectel() {
        while (!pending.empty()) {
            const auto cmd = pending.front().command;
            ok(cmd == "AT+QMTCONN?" ? std::vector<std::string>{"+QMTCONN: 0,3"} : std::vector<std::string>{});
            if (cmd.starts_with("AT+QMTOPEN=")) urc("+QMTOPEN: 0,0");
            else if (cmd.starts_with("AT+QMTCONN=")) urc("+QMTCONN: 0,0,0");
            else if (cmd.starts_with("AT+QMTDISC=")) urc("+QMTDISC: 0,0");
            else if (cmd.starts_with("AT+QMTCLOSE=")) urc("+QMTCLOSE: 0,0");
            else if (cmd.starts_with("AT+QMTSUB=") || cmd.starts_with("AT+QMTPUBEX=")) {
                const auto first = cmd.find(',') + 1;
                const auto mid = cmd.substr(first, cmd.find(',', first) - first);
                urc((cmd.starts_with("AT+QMTSUB=") ? "+QMTSUB: 0," : "+QMTPUBEX: 0,") + mid + ",0");
            }
        }
    }

    std::string vendor_name = "quectel";
    std::deque<Pending> pending;
    std::vector<std::string> sent;
};

class ModuleClientTest : public ::testing::Test {
protected:
    void make(ModuleOptions options = {}) {
        auto a = std::make_unique<ScriptedAt>();
        at = a.get();
        at->vendor_name = vendor;
        options.log_prefix = "test";
        client = std::make_unique<ModuleClient>(sched, std::move(a), options);
        client->on_connected = [this] { ++connected; };
        client->on_connect_failed = [this](int rc, const std::string& why) {
            failures.push_back(rc);
            last_reason = why;
        };
        client->on_disconnected = [this](const std::string& why) {
            ++lost;
            last_reason = why;
        };
        client->on_published = [this](int mid) { published.push_back(mid); };
        client->on_message = [this](const std::string& t, const std::string& p) { messages.emplace_back(t, p); };
    }

    ConnectParams params() const {
        ConnectParams p;
        p.host = "broker";
        p.port = 1883;
        p.client_id = "dev";
        p.keepalive = 120s;
        return p;
    }

    void connect_quectel() {
        client->connect(params());
        at->answer_quectel();
        ASSERT_EQ(connected, 1);
        at->sent.clear();
    }

    bool sent(std::string_view prefix) const {
        return std::any_of(at->sent.begin(), at->sent.end(), [&](const auto& c) { return c.starts_with(prefix); });
    }

    std::string vendor = "quectel";
    FakeScheduler sched;
    ScriptedAt* at = nullptr;
    std::unique_ptr<ModuleClient> client;
    int connected = 0, lost = 0;
    std::vector<int> failures, published;
    std::vector<std::pair<std::string, std::string>> messages;
    std::string last_reason;
};

TEST_F(ModuleClientTest, ConnectClosesWhatTheModuleHeldThenConfiguresOpensAndConnects) {
    ModuleOptions options;
    options.route_urcs = true;
    make(options);
    client->connect(params());
    at->answer_quectel();
    EXPECT_EQ(connected, 1);
    ASSERT_GE(at->sent.size(), 5u);
    EXPECT_EQ(at->sent[0], "AT+QURCCFG=\"urcport\",\"uart1\"");
    EXPECT_EQ(at->sent[1], "AT+QMTDISC=0");
    EXPECT_EQ(at->sent[2], "AT+QMTCLOSE=0");
    EXPECT_EQ(at->sent.back(), "AT+QMTCONN=0,\"dev\"");
    // The URC port is set once per port opening, not per connect.
    client->disconnect();
    at->answer_quectel();
    at->sent.clear();
    client->connect(params());
    at->answer_quectel();
    EXPECT_FALSE(sent("AT+QURCCFG"));
}

TEST_F(ModuleClientTest, OpenWaitsForItsUrcWithItsOwnTimeout) {
    make();
    client->connect(params());
    for (int i = 0; i < 20 && !at->pending.front().command.starts_with("AT+QMTOPEN"); ++i) {
        const auto cmd = at->pending.front().command;
        at->ok();
        if (cmd.starts_with("AT+QMTDISC=")) at->urc("+QMTDISC: 0,-1");
        if (cmd.starts_with("AT+QMTCLOSE=")) at->urc("+QMTCLOSE: 0,-1");
    }
    ASSERT_EQ(at->pending.size(), 1u);
    at->ok();                      // OK to QMTOPEN: nothing more goes out until +QMTOPEN
    EXPECT_TRUE(at->pending.empty());
    sched.advance(120s);
    EXPECT_TRUE(failures.empty());
    sched.advance(2s);
    ASSERT_EQ(failures.size(), 1u);
    EXPECT_LT(failures[0], 0);
    EXPECT_NE(last_reason.find("opened"), std::string::npos) << last_reason;
    // The failed attempt is closed on the module.
    ASSERT_FALSE(at->pending.empty());
    EXPECT_EQ(at->pending.front().command, "AT+QMTDISC=0");
}

TEST_F(ModuleClientTest, UrcThatOvertakesTheOkIsKept) {
    make();
    client->connect(params());
    while (!at->pending.empty()) {
        const auto cmd = at->pending.front().command;
        if (cmd.starts_with("AT+QMTOPEN=")) at->urc("+QMTOPEN: 0,0");
        if (cmd.starts_with("AT+QMTCONN=")) at->urc("+QMTCONN: 0,0,0");
        if (cmd.starts_with("AT+QMTDISC=")) at->urc("+QMTDISC: 0,-1");
        if (cmd.starts_with("AT+QMTCLOSE=")) at->urc("+QMTCLOSE: 0,-1");
        at->ok();
    }
    EXPECT_EQ(connected, 1);
}

TEST_F(ModuleClientTest, RefusedLoginReportsTheConnackCode) {
    make();
    client->connect(params());
    while (!at->pending.empty()) {
        const auto cmd = at->pending.front().command;
        at->ok();
        if (cmd.starts_with("AT+QMTDISC=")) at->urc("+QMTDISC: 0,-1");
        if (cmd.starts_with("AT+QMTCLOSE=")) at->urc("+QMTCLOSE: 0,-1");
        if (cmd.starts_with("AT+QMTOPEN=")) at->urc("+QMTOPEN: 0,0");
        if (cmd.starts_with("AT+QMTCONN=")) {
            at->urc("+QMTCONN: 0,0,4");
            break;
        }
    }
    ASSERT_EQ(failures, (std::vector<int>{4}));
    EXPECT_EQ(connected, 0);
}

TEST_F(ModuleClientTest, PublishesGoOneAtATimeAndReportInOrder) {
    make();
    connect_quectel();
    const int a = client->publish("t", "1", 1, false);
    const int b = client->publish("t", "2", 1, false);
    const int c = client->publish("t", "3", 0, false);
    EXPECT_GT(a, 0);
    EXPECT_NE(a, b);
    ASSERT_EQ(at->pending.size(), 1u);
    EXPECT_EQ(at->pending.front().data, "1");
    at->ok();
    EXPECT_TRUE(at->pending.empty());  // the second waits for the first's +QMTPUBEX
    at->urc("+QMTPUBEX: 0," + std::to_string(b) + ",0");  // not the one awaited
    EXPECT_TRUE(at->pending.empty());
    at->urc("+QMTPUBEX: 0," + std::to_string(a) + ",0");
    ASSERT_EQ(at->pending.size(), 1u);
    at->answer_quectel();
    EXPECT_EQ(published, (std::vector<int>{a, b, c}));
}

TEST_F(ModuleClientTest, LimitsAreRefusedAtPublish) {
    make();
    EXPECT_EQ(client->publish("t", "x", 0, false), -1);  // not connected
    connect_quectel();
    EXPECT_EQ(client->publish("t", std::string(4097, 'x'), 0, false), -1);
    EXPECT_EQ(client->publish("a\"b", "x", 0, false), -1);
    EXPECT_TRUE(at->pending.empty());
    EXPECT_GT(client->publish("t", std::string(4096, 'x'), 0, false), 0);
}

TEST_F(ModuleClientTest, LostLinkUrcEndsTheConnectionAndClosesTheClient) {
    make();
    connect_quectel();
    at->urc("+QMTSTAT: 1,1");  // another client's
    EXPECT_EQ(lost, 0);
    at->urc("+QMTSTAT: 0,1");
    EXPECT_EQ(lost, 1);
    EXPECT_NE(last_reason.find("closed or reset"), std::string::npos) << last_reason;
    EXPECT_EQ(client->publish("t", "x", 0, false), -1);
    ASSERT_FALSE(at->pending.empty());
    EXPECT_EQ(at->pending.front().command, "AT+QMTDISC=0");
}

TEST_F(ModuleClientTest, InFlightPublishOfALostConnectionIsNeverReported) {
    make();
    connect_quectel();
    const int mid = client->publish("t", "1", 1, false);
    client->publish("t", "2", 1, false);
    at->ok();
    at->urc("+QMTSTAT: 0,2");
    at->urc("+QMTPUBEX: 0," + std::to_string(mid) + ",0");
    at->answer_quectel();
    EXPECT_TRUE(published.empty());
    EXPECT_FALSE(sent("AT+QMTPUBEX=0,2"));
}

TEST_F(ModuleClientTest, StatusQueryOncePerKeepaliveAndSilenceIsNoticed) {
    make();
    connect_quectel();
    sched.advance(119s);
    EXPECT_TRUE(at->pending.empty());
    sched.advance(1s);
    ASSERT_EQ(at->pending.size(), 1u);
    EXPECT_EQ(at->pending.front().command, "AT+QMTCONN?");
    at->ok({"+QMTCONN: 0,3"});
    EXPECT_EQ(lost, 0);
    sched.advance(120s);
    ASSERT_EQ(at->pending.size(), 1u);
    // The module says nothing: noticed within the status deadline.
    sched.advance(14s);
    EXPECT_EQ(lost, 0);
    sched.advance(1s);
    EXPECT_EQ(lost, 1);
    EXPECT_NE(last_reason.find("status query"), std::string::npos);
}

TEST_F(ModuleClientTest, StatusSayingDownEndsTheConnection) {
    make();
    connect_quectel();
    sched.advance(120s);
    at->ok({});  // no line for client 0: not connected
    EXPECT_EQ(lost, 1);
}

TEST_F(ModuleClientTest, ModuleRestartEndsTheSessionWithoutTidying) {
    make();
    connect_quectel();
    client->publish("t", "1", 1, false);
    at->on_reset("port lost");
    EXPECT_EQ(lost, 1);
    at->pending.front().done(AtReply{AtReply::Status::closed, "port closed", {}});
    at->pending.pop_front();
    EXPECT_TRUE(at->pending.empty());
    sched.advance(600s);
    EXPECT_TRUE(at->pending.empty());  // no status poll for a connection that is gone
}

TEST_F(ModuleClientTest, DownlinkOfThisClientOnly) {
    make();
    connect_quectel();
    at->urc("+QMTRECV: 0,0,\"t/down\",2,\"hi\"");
    at->urc("+QMTRECV: 1,0,\"t/other\",2,\"no\"");
    EXPECT_EQ(messages, (std::vector<std::pair<std::string, std::string>>{{"t/down", "hi"}}));
}

TEST_F(ModuleClientTest, VendorWithoutCommandSetFailsTheConnect) {
    vendor = "huawei";
    make();
    client->connect(params());
    EXPECT_TRUE(failures.empty());  // never from inside connect()
    sched.run_deferred();
    ASSERT_EQ(failures.size(), 1u);
    EXPECT_NE(last_reason.find("no MQTT command set"), std::string::npos);
    EXPECT_TRUE(at->sent.empty());
}

TEST_F(ModuleClientTest, ClientIndexBeyondTheModulesClientsFails) {
    vendor = "simcom";
    ModuleOptions options;
    options.client_index = 2;
    make(options);
    client->connect(params());
    sched.run_deferred();
    ASSERT_EQ(failures.size(), 1u);
    EXPECT_NE(last_reason.find("2 MQTT client"), std::string::npos) << last_reason;
}

TEST_F(ModuleClientTest, LuatConnectPublishAndSubscribe) {
    vendor = "luat";
    make();
    client->connect(params());
    auto answer = [&] {
        while (!at->pending.empty()) {
            const auto cmd = at->pending.front().command;
            if (cmd == "AT+MDISCONNECT" || cmd == "AT+MIPCLOSE") {
                at->error();
                continue;
            }
            at->ok();
            if (cmd.starts_with("AT+MIPSTART=")) at->urc("CONNECT OK");
            if (cmd.starts_with("AT+MCONNECT=")) at->urc("CONNACK OK");
            if (cmd.starts_with("AT+MSUB=")) at->urc("SUBACK");
            if (cmd.starts_with("AT+MPUBEX=") && cmd.find(",1,0,") != std::string::npos) at->urc("PUBACK");
        }
    };
    answer();
    ASSERT_EQ(connected, 1);
    EXPECT_GT(client->subscribe("t/down", 1), 0);
    const int m1 = client->publish("t/up", "hello", 1, false);
    const int m0 = client->publish("t/up", "hi", 0, false);
    ASSERT_EQ(at->pending.size(), 1u);
    EXPECT_EQ(at->pending.front().command, "AT+MSUB=\"t/down\",1");
    answer();
    EXPECT_EQ(published, (std::vector<int>{m1, m0}));
    EXPECT_TRUE(sent("AT+MPUBEX=\"t/up\",1,0,5"));
    at->urc("CLOSED");
    EXPECT_EQ(lost, 1);
}

TEST_F(ModuleClientTest, ClosingEchoesBeforeTheNewConnectGoesOutAreIgnored) {
    vendor = "luat";
    make();
    client->connect(params());
    // The tidy-up's MIPCLOSE of an old session prints CLOSED: not this attempt's loss.
    at->ok();             // MDISCONNECT
    at->ok();             // MIPCLOSE
    at->urc("CLOSED");
    EXPECT_TRUE(failures.empty());
}

}  // namespace
}  // namespace cellgate::mqtt
