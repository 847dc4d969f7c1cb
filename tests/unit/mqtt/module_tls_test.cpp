// TLS through the modules' own MQTT clients: the upload, SSL-context and enable commands of each
// set, and the client uploading a certificate only when its content changed.
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "mqtt/module/dialect.hpp"
#include "mqtt/module/module_client.hpp"
#include "unit/support/fake_scheduler.hpp"

namespace cellgate::mqtt {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> commands(const ModuleSteps& steps) {
    std::vector<std::string> out;
    for (const auto& s : steps) out.push_back(s.command);
    return out;
}

TEST(ModuleTlsDialect, UploadAnnouncesTheLengthAndCarriesTheBytes) {
    const std::string pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    const auto n = std::to_string(pem.size());
    struct Case {
        const char* vendor;
        std::vector<std::string> want;
    } cases[] = {
        {"luat", {"AT+FSCREATE=\"ca.pem\"", "AT+FSWRITE=\"ca.pem\",0," + n + ",15"}},
        {"quectel", {"AT+QFDEL=\"ca.pem\"", "AT+QFUPL=\"ca.pem\"," + n + ",60"}},
        {"simcom", {"AT+CCERTDOWN=\"ca.pem\"," + n}},
    };
    for (const auto& c : cases) {
        const auto steps = make_dialect(c.vendor)->upload("ca.pem", pem);
        ASSERT_TRUE(steps) << c.vendor;
        EXPECT_EQ(commands(*steps), c.want) << c.vendor;
        // The last step carries the file; anything before it is tidying that may fail.
        EXPECT_EQ(steps->back().data, pem) << c.vendor;
        EXPECT_FALSE(steps->back().best_effort) << c.vendor;
        for (std::size_t i = 0; i + 1 < steps->size(); ++i) EXPECT_TRUE((*steps)[i].best_effort) << c.vendor;
    }
}

TEST(ModuleTlsDialect, UploadRefusesWhatTheSetCannotTake) {
    for (const char* vendor : {"luat", "simcom"}) {
        const auto big = make_dialect(vendor)->upload("ca.pem", std::string(10241, 'x'));
        ASSERT_FALSE(big) << vendor;
        EXPECT_NE(big.error().find("10240"), std::string::npos) << big.error();
        EXPECT_TRUE(make_dialect(vendor)->upload("ca.pem", std::string(10240, 'x'))) << vendor;
    }
    EXPECT_FALSE(make_dialect("quectel")->upload("ca.pem", ""));
    EXPECT_FALSE(make_dialect("quectel")->upload("c\"a.pem", "x"));
}

TEST(ModuleTlsDialect, SslContextNamesTheFilesAndTheCheck) {
    struct Case {
        const char* vendor;
        ModuleTls tls;
        std::vector<std::string> want;
    } cases[] = {
        {"luat", {.ca = true, .client_cert = false, .verify = true},
         {"AT+SSLCFG=\"cacert\",88,\"cellgate_ca0.pem\"", "AT+SSLCFG=\"seclevel\",88,1"}},
        {"luat", {.ca = true, .client_cert = true, .verify = true},
         {"AT+SSLCFG=\"cacert\",88,\"cellgate_ca0.pem\"", "AT+SSLCFG=\"clientcert\",88,\"cellgate_cert0.pem\"",
          "AT+SSLCFG=\"clientkey\",88,\"cellgate_key0.pem\"", "AT+SSLCFG=\"seclevel\",88,2"}},
        {"luat", {.ca = false, .client_cert = false, .verify = false}, {"AT+SSLCFG=\"seclevel\",88,0"}},
        {"quectel", {.ca = true, .client_cert = false, .verify = true},
         {"AT+QSSLCFG=\"sslversion\",2,4", "AT+QSSLCFG=\"ciphersuite\",2,0xFFFF", "AT+QSSLCFG=\"seclevel\",2,1",
          "AT+QSSLCFG=\"cacert\",2,\"cellgate_ca2.pem\"", "AT+QSSLCFG=\"sni\",2,1"}},
        {"quectel", {.ca = false, .client_cert = false, .verify = false},
         {"AT+QSSLCFG=\"sslversion\",2,4", "AT+QSSLCFG=\"ciphersuite\",2,0xFFFF", "AT+QSSLCFG=\"seclevel\",2,0",
          "AT+QSSLCFG=\"sni\",2,1"}},
        {"simcom", {.ca = true, .client_cert = true, .verify = true},
         {"AT+CSSLCFG=\"sslversion\",1,4", "AT+CSSLCFG=\"authmode\",1,2",
          "AT+CSSLCFG=\"cacert\",1,\"cellgate_ca1.pem\"", "AT+CSSLCFG=\"clientcert\",1,\"cellgate_cert1.pem\"",
          "AT+CSSLCFG=\"clientkey\",1,\"cellgate_key1.pem\"", "AT+CSSLCFG=\"enableSNI\",1,1"}},
    };
    for (const auto& c : cases) {
        const int idx = std::string(c.vendor) == "quectel" ? 2 : std::string(c.vendor) == "simcom" ? 1 : 0;
        EXPECT_EQ(commands(make_dialect(c.vendor)->ssl_context(idx, c.tls)), c.want) << c.vendor;
    }
}

TEST(ModuleTlsDialect, ConnectEnablesTheSslContext) {
    ConnectParams p;
    p.host = "h";
    p.port = 8883;
    p.client_id = "d";
    p.tls = true;
    const auto has = [](const ModuleSteps& s, const std::string& c) {
        for (const auto& x : s)
            if (x.command == c) return true;
        return false;
    };
    const auto luat = make_dialect("luat")->connect(0, p);
    ASSERT_TRUE(luat);
    EXPECT_TRUE(has(*luat, "AT+SSLMIPSTART=\"h\",8883"));
    const auto quectel = make_dialect("quectel")->connect(3, p);
    ASSERT_TRUE(quectel);
    EXPECT_TRUE(has(*quectel, "AT+QMTCFG=\"ssl\",3,1,3"));
    const auto simcom = make_dialect("simcom")->connect(1, p);
    ASSERT_TRUE(simcom);
    EXPECT_TRUE(has(*simcom, "AT+CMQTTACCQ=1,\"d\",1"));
    EXPECT_TRUE(has(*simcom, "AT+CMQTTSSLCFG=1,1"));
    p.tls = false;
    EXPECT_FALSE(has(*make_dialect("simcom")->connect(1, p), "AT+CMQTTSSLCFG=1,1"));
    for (const char* v : {"luat", "quectel", "simcom"}) EXPECT_TRUE(dialect_limits(v).tls) << v;
    EXPECT_FALSE(dialect_limits("huawei").tls);
}

// The client: an AT channel that answers like a Quectel module, client 0.
class QuectelAt final : public ModuleAt {
public:
    void send(std::string command, std::chrono::milliseconds, AtDone done) override {
        queue.push_back({std::move(command), std::nullopt, std::move(done)});
    }
    void send_data(std::string command, std::string data, std::chrono::milliseconds, AtDone done) override {
        queue.push_back({std::move(command), std::move(data), std::move(done)});
    }
    std::string vendor() const override { return "quectel"; }

    void answer_all() {
        while (!queue.empty()) {
            auto c = std::move(queue.front());
            queue.pop_front();
            sent.push_back(c.command);
            if (c.data) uploads.push_back(c.command + " " + *c.data);
            const bool refuse = c.command.starts_with("AT+QFUPL=") && refuse_uploads;
            c.done(AtReply{refuse ? AtReply::Status::error : AtReply::Status::ok, refuse ? "+CME ERROR: 423" : "", {}});
            if (c.command.starts_with("AT+QMTOPEN=")) on_urc("+QMTOPEN: 0,0");
            else if (c.command.starts_with("AT+QMTCONN=")) on_urc("+QMTCONN: 0,0,0");
            else if (c.command.starts_with("AT+QMTDISC=")) on_urc("+QMTDISC: 0,0");
            else if (c.command.starts_with("AT+QMTCLOSE=")) on_urc("+QMTCLOSE: 0,0");
        }
    }

    struct Cmd {
        std::string command;
        std::optional<std::string> data;
        AtDone done;
    };
    std::deque<Cmd> queue;
    std::vector<std::string> sent, uploads;
    bool refuse_uploads = false;
};

class ModuleTlsClientTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir = std::filesystem::temp_directory_path() /
              ("module_tls_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::create_directories(dir);
        write("ca.pem", "CA one");
        auto a = std::make_unique<QuectelAt>();
        at = a.get();
        client = std::make_unique<ModuleClient>(sched, std::move(a), ModuleOptions{});
        client->on_connected = [this] { ++connected; };
        client->on_connect_failed = [this](int, const std::string& why) { failures.push_back(why); };
        client->on_disconnected = [](const std::string&) {};
    }
    void TearDown() override { std::filesystem::remove_all(dir); }

    void write(const std::string& name, const std::string& content) {
        std::ofstream(dir / name, std::ios::binary | std::ios::trunc) << content;
    }

    ConnectParams params() const {
        ConnectParams p;
        p.host = "broker";
        p.port = 8883;
        p.client_id = "dev";
        p.tls = true;
        p.ca_file = (dir / "ca.pem").string();
        return p;
    }

    // One connect, answered in full; the uploads it made.
    std::vector<std::string> connect_once(const ConnectParams& p) {
        at->uploads.clear();
        at->sent.clear();
        client->connect(p);
        at->answer_all();
        sched.run_deferred();
        return at->uploads;
    }

    std::filesystem::path dir;
    cellgate::testing::FakeScheduler sched;
    QuectelAt* at = nullptr;
    std::unique_ptr<ModuleClient> client;
    int connected = 0;
    std::vector<std::string> failures;
};

TEST_F(ModuleTlsClientTest, CaIsUploadedOnceAndAgainOnlyWhenItChanges) {
    EXPECT_EQ(connect_once(params()), std::vector<std::string>{"AT+QFUPL=\"cellgate_ca0.pem\",6,60 CA one"});
    EXPECT_EQ(connected, 1);
    // The context is configured before the open, and SSL enabled on the client.
    const auto& s = at->sent;
    const auto pos = [&](const std::string& c) { return std::find(s.begin(), s.end(), c) - s.begin(); };
    EXPECT_LT(pos("AT+QSSLCFG=\"cacert\",0,\"cellgate_ca0.pem\""), pos("AT+QMTOPEN=0,\"broker\",8883"));
    EXPECT_LT(pos("AT+QSSLCFG=\"seclevel\",0,1"), pos("AT+QMTOPEN=0,\"broker\",8883"));
    EXPECT_LT(pos("AT+QMTCFG=\"ssl\",0,1,0"), static_cast<long>(s.size()));

    EXPECT_TRUE(connect_once(params()).empty()) << "unchanged CA uploaded again";
    EXPECT_EQ(connected, 2);

    write("ca.pem", "CA two!");
    EXPECT_EQ(connect_once(params()), std::vector<std::string>{"AT+QFUPL=\"cellgate_ca0.pem\",7,60 CA two!"});
    EXPECT_EQ(connected, 3);
}

TEST_F(ModuleTlsClientTest, ModuleRestartForgetsWhatWasUploaded) {
    EXPECT_EQ(connect_once(params()).size(), 1u);
    at->on_reset("power cycle");
    EXPECT_EQ(connect_once(params()).size(), 1u);
}

TEST_F(ModuleTlsClientTest, ClientCertificateAndKeyGoUpTooWithMutualCheck) {
    write("cert.pem", "CERT");
    write("key.pem", "KEY");
    auto p = params();
    p.cert_file = (dir / "cert.pem").string();
    p.key_file = (dir / "key.pem").string();
    EXPECT_EQ(connect_once(p), (std::vector<std::string>{"AT+QFUPL=\"cellgate_ca0.pem\",6,60 CA one",
                                                          "AT+QFUPL=\"cellgate_cert0.pem\",4,60 CERT",
                                                          "AT+QFUPL=\"cellgate_key0.pem\",3,60 KEY"}));
    EXPECT_NE(std::find(at->sent.begin(), at->sent.end(), "AT+QSSLCFG=\"seclevel\",0,2"), at->sent.end());
    EXPECT_EQ(connected, 1);
}

TEST_F(ModuleTlsClientTest, FailedUploadFailsTheConnectAndIsTriedAgain) {
    at->refuse_uploads = true;
    connect_once(params());
    EXPECT_EQ(connected, 0);
    ASSERT_EQ(failures.size(), 1u);
    EXPECT_NE(failures[0].find("QFUPL"), std::string::npos) << failures[0];
    at->refuse_uploads = false;
    EXPECT_EQ(connect_once(params()).size(), 1u);
    EXPECT_EQ(connected, 1);
}

TEST_F(ModuleTlsClientTest, VerifyWithoutCaOrUnreadableFileFailsBeforeAnyCommand) {
    auto p = params();
    p.ca_file.clear();
    connect_once(p);
    ASSERT_EQ(failures.size(), 1u);
    EXPECT_NE(failures[0].find("CA file"), std::string::npos) << failures[0];
    p.ca_file = (dir / "missing.pem").string();
    connect_once(p);
    ASSERT_EQ(failures.size(), 2u);
    EXPECT_NE(failures[1].find("cannot read"), std::string::npos) << failures[1];
    EXPECT_EQ(connected, 0);
    // Without the check, no CA is needed and none is uploaded.
    p.ca_file.clear();
    p.verify_server = false;
    EXPECT_TRUE(connect_once(p).empty());
    EXPECT_NE(std::find(at->sent.begin(), at->sent.end(), "AT+QSSLCFG=\"seclevel\",0,0"), at->sent.end());
    EXPECT_EQ(connected, 1);
}

}  // namespace
}  // namespace cellgate::mqtt
