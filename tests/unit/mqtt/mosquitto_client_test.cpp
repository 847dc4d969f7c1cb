// MosquittoClient against a real mosquitto broker on a free loopback port: connect, QoS 1 round
// trip, CONNACK refusals, refused and hanging connects, broker killed / frozen / silently dropped,
// one PINGREQ per keepalive interval, TLS. Slow tests carry "Slow" in their name (~7-10 s each).
#include "mqtt/mosquitto_client.hpp"
#include "mqtt/mosquitto_connect.hpp"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/log.hpp"
#include "daemon/sd_loop.hpp"
#include "unit/support/poll_scheduler.hpp"

namespace cellgate::mqtt {
namespace {

using namespace std::chrono_literals;
using testing::PollScheduler;
using std::chrono::duration_cast;

constexpr const char* kBrokerBinary = "/usr/sbin/mosquitto";

double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

int free_port() {
    const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        ::close(s);
        return -1;
    }
    ::close(s);
    return ntohs(a.sin_port);
}

bool run(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

size_t occurrences(const std::string& text, const std::string& needle) {
    size_t n = 0;
    for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++n;
    return n;
}

// A throw-away CA with a server certificate for 127.0.0.1 and a client certificate (EC P-256).
struct Pki {
    explicit Pki(const std::string& d) : dir(d) {
        std::filesystem::create_directories(dir);
        const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes ";
        ok = run("openssl req -x509" + ec + "-keyout " + dir + "/ca.key -out " + ca + " -days 2 -subj "
                 "'/CN=cellgate test CA' -addext basicConstraints=critical,CA:TRUE") &&
             issue("server", "subjectAltName=IP:127.0.0.1,DNS:localhost") && issue("client", "");
    }
    bool issue(const std::string& name, const std::string& ext) {
        const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes ";
        std::ofstream(dir + "/" + name + ".ext") << ext << "\n";
        return run("openssl req -new" + ec + "-keyout " + dir + "/" + name + ".key -out " + dir + "/" + name +
                   ".csr -subj /CN=" + name) &&
               run("openssl x509 -req -in " + dir + "/" + name + ".csr -CA " + ca + " -CAkey " + dir +
                   "/ca.key -CAcreateserial -days 2 -out " + dir + "/" + name + ".pem -extfile " + dir + "/" +
                   name + ".ext");
    }
    std::string dir;
    std::string ca = dir + "/ca.pem";
    bool ok = false;
};

struct BrokerOptions {
    std::map<std::string, std::string> users;  // empty: anonymous allowed
    bool tls = false;
};

// mosquitto on a free loopback port, logging everything to a file the test reads.
class Broker {
public:
    Broker() : Broker(BrokerOptions{}) {}
    explicit Broker(BrokerOptions opt) : opt_(std::move(opt)) {
        char tmpl[] = "/tmp/cellgate-mqtt-XXXXXX";
        dir_ = ::mkdtemp(tmpl);
        log_path_ = dir_ + "/broker.log";
        port = free_port();
        std::ofstream conf(dir_ + "/mosquitto.conf");
        conf << "listener " << port << " 127.0.0.1\n"
             << "log_dest file " << log_path_ << "\nlog_type all\npersistence false\n";
        if (::geteuid() == 0) conf << "user root\n";
        if (opt_.users.empty()) {
            conf << "allow_anonymous true\n";
        } else {
            bool first = true;
            for (const auto& [user, password] : opt_.users) {
                run(std::string("mosquitto_passwd -b ") + (first ? "-c " : "") + dir_ + "/passwd " + user + " " +
                    password);
                first = false;
            }
            conf << "allow_anonymous false\npassword_file " << dir_ << "/passwd\n";
        }
        if (opt_.tls) {
            pki_ = std::make_unique<Pki>(dir_ + "/pki");
            conf << "cafile " << pki_->ca << "\ncertfile " << pki_->dir << "/server.pem\nkeyfile " << pki_->dir
                 << "/server.key\nrequire_certificate true\n";
        }
    }

    ~Broker() {
        kill();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    bool usable() const { return port > 0 && ::access(kBrokerBinary, X_OK) == 0 && (!pki_ || pki_->ok); }

    // Returns once the broker listens.
    bool start() {
        const std::string conf = dir_ + "/mosquitto.conf";
        const auto before = occurrences(log(), " running");
        pid_ = ::fork();
        if (pid_ == 0) {
            const int devnull = ::open("/dev/null", O_RDWR);
            ::dup2(devnull, 0);
            ::dup2(devnull, 1);
            ::dup2(devnull, 2);
            ::execl(kBrokerBinary, "mosquitto", "-c", conf.c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
        const auto end = Clock::now() + 5s;
        while (Clock::now() < end) {
            if (occurrences(log(), " running") > before) return true;
            std::this_thread::sleep_for(10ms);
        }
        return false;
    }

    void kill() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }
    void freeze() { ::kill(pid_, SIGSTOP); }

    std::string log() const { return slurp(log_path_); }
    size_t count(const std::string& needle) const { return occurrences(log(), needle); }
    std::string ca() const { return pki_ ? pki_->ca : ""; }
    std::string pki_dir() const { return pki_ ? pki_->dir : ""; }
    const std::string& dir() const { return dir_; }

    int port = -1;

private:
    BrokerOptions opt_;
    std::string dir_, log_path_;
    std::unique_ptr<Pki> pki_;
    pid_t pid_ = -1;
};

// Everything the client reports, with arrival times.
struct Recorder {
    explicit Recorder(MqttClient& c) {
        c.on_connected = [this] { connected_at.push_back(Clock::now()); };
        c.on_connect_failed = [this](int rc, const std::string& why) { failures.push_back({rc, why}); };
        c.on_disconnected = [this](const std::string& why) {
            disconnects.push_back(why);
            disconnected_at = Clock::now();
        };
        c.on_message = [this](const std::string& t, const std::string& p) { messages.push_back({t, p}); };
        c.on_published = [this](int mid) { published.push_back(mid); };
        c.on_ping_sent = [this] { pings.push_back(Clock::now()); };
    }
    size_t events() const { return connected_at.size() + failures.size() + disconnects.size(); }

    std::vector<Clock::time_point> connected_at;
    std::vector<std::pair<int, std::string>> failures;
    std::vector<std::string> disconnects;
    Clock::time_point disconnected_at{};
    std::vector<std::pair<std::string, std::string>> messages;
    std::vector<int> published;
    std::vector<Clock::time_point> pings;
};

ConnectParams params_for(const Broker& b, const std::string& client_id, std::chrono::seconds keepalive = 60s) {
    ConnectParams p;
    p.host = "127.0.0.1";
    p.port = static_cast<uint16_t>(b.port);
    p.client_id = client_id;
    p.keepalive = keepalive;
    return p;
}

MosquittoTuning tuned(milliseconds tcp_user_timeout, milliseconds pingresp_timeout) {
    MosquittoTuning t;
    t.tcp_user_timeout = tcp_user_timeout;
    t.pingresp_timeout = pingresp_timeout;
    return t;
}

// TLS with the broker's throw-away CA and a client certificate it issued.
ConnectParams tls_params_for(const Broker& b, const std::string& client_id) {
    auto p = params_for(b, client_id);
    p.tls = true;
    p.ca_file = b.ca();
    p.cert_file = b.pki_dir() + "/client.pem";
    p.key_file = b.pki_dir() + "/client.key";
    return p;
}

#define REQUIRE_BROKER(b)                                                             \
    do {                                                                              \
        if (!(b).usable()) GTEST_SKIP() << "mosquitto broker (or openssl) not usable"; \
        ASSERT_TRUE((b).start()) << (b).log();                                        \
    } while (0)

class MosquittoClientTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (std::getenv("CELLGATE_TEST_DEBUG")) log::set_max_level(log::Level::debug);
    }
    // A connect worker the client walked away from frees its handle on its own thread: wait for
    // it, or the process may exit first and the leak checker report its TLS session.
    void TearDown() override {
        const auto until = std::chrono::steady_clock::now() + 5s;
        while (detail::connect_jobs_alive() > 0 && std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(5ms);
        EXPECT_EQ(detail::connect_jobs_alive(), 0) << "a connect worker is still running";
    }

    // Connects and runs the loop until CONNACK.
    void connect_ok(MqttClient& c, Recorder& r, const ConnectParams& p) {
        c.connect(p);
        ASSERT_TRUE(sched.run_until([&] { return r.events() > 0; }, 5000ms));
        ASSERT_EQ(r.connected_at.size(), 1U) << (r.failures.empty() ? "" : r.failures[0].second);
    }

    PollScheduler sched;
};

TEST_F(MosquittoClientTest, Qos1PublishIsAckedAndOwnSubscriptionDeliversIt) {
    Broker broker;
    REQUIRE_BROKER(broker);
    auto client = make_mosquitto_client(sched, "t");
    Recorder rec(*client);
    EXPECT_EQ(client->publish("cellgate/t", "early", 1, false), -1);  // not connected yet
    ASSERT_NO_FATAL_FAILURE(connect_ok(*client, rec, params_for(broker, "cg-roundtrip")));

    ASSERT_GT(client->subscribe("cellgate/t/#", 1), 0);
    const int mid1 = client->publish("cellgate/t/up", std::string("hello\0world", 11), 1, false);
    const int mid0 = client->publish("cellgate/t/up0", "q0", 0, false);
    ASSERT_GT(mid1, 0);
    ASSERT_GT(mid0, 0);
    EXPECT_NE(mid0, mid1);
    ASSERT_TRUE(sched.run_until([&] { return rec.published.size() == 2 && rec.messages.size() == 2; }, 3000ms));
    EXPECT_NE(std::find(rec.published.begin(), rec.published.end(), mid1), rec.published.end());
    EXPECT_NE(std::find(rec.published.begin(), rec.published.end(), mid0), rec.published.end());
    EXPECT_EQ(rec.messages[0], (std::pair<std::string, std::string>{"cellgate/t/up", std::string("hello\0world", 11)}));
    EXPECT_EQ(rec.messages[1].second, "q0");
    EXPECT_EQ(broker.count("Received PUBLISH from cg-roundtrip (d0, q1, r0, m" + std::to_string(mid1)), 1U);
    EXPECT_TRUE(rec.disconnects.empty());
}

TEST_F(MosquittoClientTest, DisconnectSendsDisconnectAndReportsNothing) {
    Broker broker;
    REQUIRE_BROKER(broker);
    auto client = make_mosquitto_client(sched, "t");
    Recorder rec(*client);
    ASSERT_NO_FATAL_FAILURE(connect_ok(*client, rec, params_for(broker, "cg-bye")));
    client->disconnect();
    EXPECT_EQ(client->publish("x", "y", 0, false), -1);
    sched.run_for(300ms);
    EXPECT_EQ(broker.count("Client cg-bye disconnected."), 1U) << broker.log();
    EXPECT_EQ(rec.events(), 1U);
}

TEST_F(MosquittoClientTest, PasswordCheckedAndRefusalCarriesConnackCode) {
    BrokerOptions opts;
    opts.users = {{"gw", "s3cret-pw"}};
    Broker broker(opts);
    REQUIRE_BROKER(broker);
    auto client = make_mosquitto_client(sched, "t");
    Recorder rec(*client);
    auto p = params_for(broker, "cg-auth");
    p.keepalive = 3s;  // libmosquitto refuses 1..4 s; reported, not thrown
    client->connect(p);
    ASSERT_TRUE(sched.run_until([&] { return !rec.failures.empty(); }, 1000ms));
    EXPECT_EQ(rec.failures[0].first, -EINVAL);
    EXPECT_NE(rec.failures[0].second.find("keepalive"), std::string::npos) << rec.failures[0].second;
    rec.failures.clear();
    p.keepalive = 60s;
    p.username = "gw";
    p.password = "s3cret-pw";
    ASSERT_NO_FATAL_FAILURE(connect_ok(*client, rec, p));
    client->disconnect();

    p.password = "wrong-pw";
    client->connect(p);
    ASSERT_TRUE(sched.run_until([&] { return !rec.failures.empty(); }, 5000ms));
    // mosquitto answers a bad password on MQTT 3.1.1 with 5 (not authorised), the spec suggests 4.
    const auto& [rc, why] = rec.failures[0];
    EXPECT_TRUE(rc == 5 || rc == 4) << rc;
    EXPECT_NE(why.find(rc == 5 ? "not authorised" : "bad user name or password"), std::string::npos) << why;
    EXPECT_EQ(why.find("wrong-pw"), std::string::npos);
    sched.run_for(200ms);
    EXPECT_EQ(rec.events(), 2U);  // no on_disconnected after a refusal
}

TEST_F(MosquittoClientTest, NothingListeningFailsAtOnce) {
    auto client = make_mosquitto_client(sched, "t");
    Recorder rec(*client);
    ConnectParams p;
    p.host = "127.0.0.1";
    p.port = static_cast<uint16_t>(free_port());
    p.client_id = "cg-refused";
    const auto start = Clock::now();
    client->connect(p);
    ASSERT_TRUE(sched.run_until([&] { return rec.events() > 0; }, 3000ms));
    EXPECT_LT(seconds_since(start), 0.5);
    ASSERT_EQ(rec.failures.size(), 1U);
    EXPECT_EQ(rec.failures[0].first, -ECONNREFUSED);
    EXPECT_NE(rec.failures[0].second.find("Connection refused"), std::string::npos) << rec.failures[0].second;
}

TEST_F(MosquittoClientTest, BrokerKilledIsReportedAndClientMayBeDestroyedInTheCallback) {
    Broker broker;
    REQUIRE_BROKER(broker);
    auto client = make_mosquitto_client(sched, "t");
    Recorder rec(*client);
    ASSERT_NO_FATAL_FAILURE(connect_ok(*client, rec, params_for(broker, "cg-killed")));
    std::string reason;
    client->on_disconnected = [&](const std::string& why) {
        reason = why;
        client.reset();  // a session may drop its client right here
    };
    broker.kill();
    ASSERT_TRUE(sched.run_until([&] { return !client; }, 2000ms));
    EXPECT_TRUE(reason == "broker closed the connection" || reason == "connection reset by broker") << reason;
}

// The interval is decided by libmosquitto from whole monotonic seconds; loop_misc runs every second
// and must not add pings. keepalive 5 s (libmosquitto's minimum) over 11 s of idling: PINGREQs at
// ~5 and ~10 s, exactly 5 s apart (the first one up to 1 s early: libmosquitto rounds the time of
// CONNECT down to the second).
TEST_F(MosquittoClientTest, Slow_OnePingPerKeepaliveInterval) {
    Broker broker;
    REQUIRE_BROKER(broker);
    auto client = make_mosquitto_client(sched, "t");
    Recorder rec(*client);
    ASSERT_NO_FATAL_FAILURE(connect_ok(*client, rec, params_for(broker, "cg-pings", 5s)));
    const auto connected = rec.connected_at[0];
    sched.run_until([&] { return !rec.disconnects.empty(); },
                    duration_cast<milliseconds>(connected + 11s - Clock::now()));
    EXPECT_TRUE(rec.disconnects.empty());
    EXPECT_EQ(broker.count("Received PINGREQ from cg-pings"), 2U) << broker.log();
    EXPECT_EQ(broker.count("Sending PINGRESP to cg-pings"), 2U);
    ASSERT_EQ(rec.pings.size(), 2U);
    EXPECT_GE(rec.pings[0] - connected, 3900ms);
    EXPECT_LE(rec.pings[0] - connected, 5100ms);
    const auto gap = rec.pings[1] - rec.pings[0];
    std::printf("    keepalive 5 s: first PINGREQ %.3f s after CONNACK, next %.3f s later\n",
                std::chrono::duration<double>(rec.pings[0] - connected).count(),
                std::chrono::duration<double>(gap).count());
    EXPECT_GE(gap, 4950ms);
    EXPECT_LE(gap, 5100ms);
}

// SIGSTOP: the broker's kernel still ACKs our PINGREQ, so TCP_USER_TIMEOUT cannot fire on loopback;
// what catches it is the missing PINGRESP (libmosquitto's own check, one keepalive after the ping).
TEST_F(MosquittoClientTest, Slow_FrozenBrokerDetectedWithinKeepalivePlus20s) {
    Broker broker;
    REQUIRE_BROKER(broker);
    auto client = make_mosquitto_client(sched, "t");
    Recorder rec(*client);
    ASSERT_NO_FATAL_FAILURE(connect_ok(*client, rec, params_for(broker, "cg-frozen", 5s)));
    broker.freeze();
    const auto frozen = Clock::now();
    ASSERT_TRUE(sched.run_until([&] { return !rec.disconnects.empty(); }, 27000ms));
    const double detected = seconds_since(frozen);
    RecordProperty("detection_s", std::to_string(detected));
    std::printf("    frozen broker (keepalive 5 s, default tuning) detected after %.2f s: %s\n", detected,
                rec.disconnects[0].c_str());
    EXPECT_LE(detected, 5 + 20 + 1.5);
    EXPECT_NE(rec.disconnects[0].find("keepalive timeout"), std::string::npos) << rec.disconnects[0];
    ASSERT_EQ(rec.pings.size(), 1U);
}

// Our own PINGRESP deadline (production: 20 s, here 2 s) beats libmosquitto's next-keepalive check.
TEST_F(MosquittoClientTest, Slow_PingrespDeadlineEndsAFrozenLink) {
    Broker broker;
    REQUIRE_BROKER(broker);
    auto client = make_mosquitto_client(sched, "t", tuned(20s, 2s));
    Recorder rec(*client);
    ASSERT_NO_FATAL_FAILURE(connect_ok(*client, rec, params_for(broker, "cg-deadline", 5s)));
    broker.freeze();
    ASSERT_TRUE(sched.run_until([&] { return !rec.disconnects.empty(); }, 12000ms));
    ASSERT_EQ(rec.pings.size(), 1U);
    const double after_ping = std::chrono::duration<double>(rec.disconnected_at - rec.pings[0]).count();
    std::printf("    PINGRESP deadline 2 s fired %.2f s after the PINGREQ: %s\n", after_ping,
                rec.disconnects[0].c_str());
    EXPECT_NEAR(after_ping, 2.0, 0.3);
    EXPECT_EQ(rec.disconnects[0], "keepalive timeout (no PINGRESP within 2s)");
}

// Puts the calling thread (and so the broker, the connect worker and `tc`) into a fresh network
// namespace; restores the original one on destruction.
class PrivateNetns {
public:
    PrivateNetns() {
        saved_ = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (saved_ < 0 || ::unshare(CLONE_NEWNET) != 0) return;
        entered_ = true;
        ok_ = run("ip link set lo up");
    }
    ~PrivateNetns() {
        if (entered_) (void)::setns(saved_, CLONE_NEWNET);
        if (saved_ >= 0) ::close(saved_);
    }
    bool ok() const { return ok_; }

private:
    int saved_ = -1;
    bool entered_ = false;
    bool ok_ = false;
};

// A flow that silently drops everything (carrier NAT forgot it): loopback in a private netns with a
// zero-length queue. The unacknowledged PINGREQ errors the socket after TCP_USER_TIMEOUT (production
// 20 s, here 2 s), well before libmosquitto's keepalive check and our PINGRESP deadline (60 s).
TEST_F(MosquittoClientTest, Slow_DroppedFlowEndsByTcpUserTimeout) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for a private network namespace";
    PrivateNetns netns;
    if (!netns.ok()) GTEST_SKIP() << "no private network namespace";
    Broker broker;
    REQUIRE_BROKER(broker);
    auto client = make_mosquitto_client(sched, "t", tuned(2s, 60s));
    Recorder rec(*client);
    ASSERT_NO_FATAL_FAILURE(connect_ok(*client, rec, params_for(broker, "cg-dropped", 5s)));
    if (!run("tc qdisc add dev lo root pfifo limit 0")) GTEST_SKIP() << "tc cannot drop on lo here";
    ASSERT_TRUE(sched.run_until([&] { return !rec.disconnects.empty(); }, 12000ms));
    ASSERT_EQ(rec.pings.size(), 1U);
    const double after_ping = std::chrono::duration<double>(rec.disconnected_at - rec.pings[0]).count();
    std::printf("    dropped flow: socket errored %.2f s after the PINGREQ: %s\n", after_ping,
                rec.disconnects[0].c_str());
    EXPECT_EQ(rec.disconnects[0], "TCP user timeout (no ACK for 2s)");
    EXPECT_GE(after_ping, 1.8);
    EXPECT_LE(after_ping, 3.5);
}

TEST_F(MosquittoClientTest, HangingResolverNeverStallsTheLoop) {
    auto calls = std::make_shared<std::atomic<int>>(0);
    MosquittoTuning tuning;
    tuning.connect_timeout = 1s;
    tuning.before_resolve = [calls](const std::string& host) {
        if (host == "broker.hangs.example") calls->fetch_add(1);
        std::this_thread::sleep_for(5s);  // a dead DNS server
    };
    auto client = make_mosquitto_client(sched, "t", tuning);
    Recorder rec(*client);

    // A 100 ms ticker stands in for D-Bus, AT and the watchdog.
    std::vector<Clock::time_point> ticks;
    std::unique_ptr<Timer> ticker;
    ticker = sched.make_timer([&] {
        ticks.push_back(Clock::now());
        ticker->arm(100ms);
    });
    ticker->arm(100ms);

    ConnectParams p;
    p.host = "broker.hangs.example";
    p.port = 1883;
    p.client_id = "cg-resolver";
    const auto start = Clock::now();
    client->connect(p);
    EXPECT_LT(seconds_since(start), 0.05);
    ASSERT_TRUE(sched.run_until([&] { return rec.events() > 0; }, 3000ms));
    EXPECT_NEAR(seconds_since(start), 1.0, 0.2);
    ASSERT_EQ(rec.failures.size(), 1U);
    EXPECT_EQ(rec.failures[0].first, -ETIMEDOUT);
    EXPECT_NE(rec.failures[0].second.find("name resolution"), std::string::npos) << rec.failures[0].second;
    EXPECT_EQ(calls->load(), 1);
    sched.run_for(300ms);
    ASSERT_GE(ticks.size(), 11U);
    for (size_t i = 1; i < ticks.size(); ++i) EXPECT_LT(ticks[i] - ticks[i - 1], 150ms) << "tick " << i;

    // Another attempt hangs again; destroying the client must not wait for the worker.
    client->connect(p);
    sched.run_for(100ms);
    const auto destroy = Clock::now();
    client.reset();
    EXPECT_LT(seconds_since(destroy), 0.05);
}

TEST_F(MosquittoClientTest, TlsWithClientCertificateAndServerVerification) {
    BrokerOptions opts;
    opts.tls = true;
    Broker broker(opts);
    REQUIRE_BROKER(broker);
    auto client = make_mosquitto_client(sched, "t");
    Recorder rec(*client);
    auto p = tls_params_for(broker, "cg-tls");
    ASSERT_NO_FATAL_FAILURE(connect_ok(*client, rec, p));
    const int mid = client->publish("cellgate/tls", "over tls", 1, false);
    ASSERT_TRUE(sched.run_until([&] { return !rec.published.empty(); }, 3000ms));
    EXPECT_EQ(rec.published[0], mid);
    client->disconnect();

    // A server certificate from a CA we do not trust is refused.
    Pki other(broker.dir() + "/other");
    ASSERT_TRUE(other.ok);
    p.ca_file = other.ca;
    client->connect(p);
    ASSERT_TRUE(sched.run_until([&] { return !rec.failures.empty(); }, 5000ms));
    EXPECT_EQ(rec.failures[0].first, -EPROTO) << rec.failures[0].second;
    EXPECT_NE(rec.failures[0].second.find("certificate verify failed"), std::string::npos) << rec.failures[0].second;
}

TEST(MosquittoClientSdEvent, RoundTripOnTheProductionLoop) {
    Broker broker;
    REQUIRE_BROKER(broker);
    SdEventLoop loop;
    auto guard = loop.make_timer([&] { loop.exit(99); });
    guard->arm(5000ms);
    auto client = make_mosquitto_client(loop, "t");
    std::vector<std::string> got;
    client->on_connected = [&] {
        client->subscribe("cellgate/sd", 1);
        client->publish("cellgate/sd", "via sd-event", 1, false);
    };
    client->on_message = [&](const std::string&, const std::string& payload) {
        got.push_back(payload);
        loop.exit(0);
    };
    client->on_connect_failed = [&](int, const std::string& why) {
        ADD_FAILURE() << why;
        loop.exit(1);
    };
    client->connect(params_for(broker, "cg-sd"));
    ASSERT_EQ(loop.run(), 0);
    EXPECT_EQ(got, std::vector<std::string>{"via sd-event"});
}

// A session pinned to the modem's link: the socket is bound to the link's address, the broker's
// address comes from the caller, and TLS checks the certificate against the broker's name.
TEST_F(MosquittoClientTest, PinnedConnectBindsAndVerifiesTheNameNotTheAddress) {
    BrokerOptions opts;
    opts.tls = true;
    Broker broker(opts);
    REQUIRE_BROKER(broker);
    auto client = make_mosquitto_client(sched, "t");
    Recorder rec(*client);
    auto p = tls_params_for(broker, "cg-pinned");
    p.host = "localhost";  // in the certificate; its address is given, not looked up
    p.connect_address = "127.0.0.1";
    p.bind_address = "127.0.0.2";
    ASSERT_NO_FATAL_FAILURE(connect_ok(*client, rec, p));
    EXPECT_EQ(broker.count("New connection from 127.0.0.2"), 1U) << broker.log();
    client->disconnect();

    // The same address under a name the certificate does not carry is refused.
    p.host = "broker.example";
    client->connect(p);
    ASSERT_TRUE(sched.run_until([&] { return !rec.failures.empty(); }, 5000ms));
    EXPECT_EQ(rec.failures[0].first, -EPROTO) << rec.failures[0].second;
    EXPECT_NE(rec.failures[0].second.find("certificate verify failed"), std::string::npos) << rec.failures[0].second;
}

TEST_F(MosquittoClientTest, PinnedTlsSendsTheBrokersNameAsSni) {
    // A listener that only records the ClientHello, where SNI travels in clear.
    const int l = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ASSERT_EQ(::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(l, 1), 0);
    ::getsockname(l, reinterpret_cast<sockaddr*>(&a), &len);
    auto client = make_mosquitto_client(sched, "t");
    Recorder rec(*client);
    ConnectParams p;
    p.host = "broker.example";
    p.connect_address = "127.0.0.1";
    p.port = ntohs(a.sin_port);
    p.client_id = "cg-sni";
    p.tls = true;
    client->connect(p);
    int conn = -1;
    std::string hello;
    sched.run_until([&] {
        if (conn < 0) conn = ::accept4(l, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        char buf[2048];
        if (conn >= 0)
            if (const ssize_t n = ::recv(conn, buf, sizeof buf, 0); n > 0) hello.append(buf, static_cast<size_t>(n));
        return hello.find("broker.example") != std::string::npos;
    }, 5000ms);
    EXPECT_NE(hello.find("broker.example"), std::string::npos) << hello.size() << " bytes of ClientHello";
    EXPECT_EQ(hello.find("127.0.0.1"), std::string::npos);
    client->disconnect();
    if (conn >= 0) ::close(conn);
    ::close(l);
}

}  // namespace
}  // namespace cellgate::mqtt

namespace cellgate::mqtt {
namespace {
TEST_F(MosquittoClientTest, EXPERIMENT_TlsOverSlowSyn) {
    PrivateNetns netns;
    ASSERT_TRUE(netns.ok());
    BrokerOptions opts;
    opts.tls = true;
    Broker broker(opts);
    REQUIRE_BROKER(broker);
    ASSERT_TRUE(run("ip link set lo mtu 1500"));
    ASSERT_TRUE(run("tc qdisc add dev lo root tbf rate 20kbit burst 1600 latency 30s"));
    auto client = make_mosquitto_client(sched, "t");
    Recorder rec(*client);
    auto p = params_for(broker, "cg-tls-slow");
    p.tls = true;
    p.ca_file = broker.ca();
    p.cert_file = broker.pki_dir() + "/client.pem";
    p.key_file = broker.pki_dir() + "/client.key";
    const int u = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(9);
    std::string junk(1400, 'x');
    ::sendto(u, junk.data(), junk.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::close(u);
    const auto start = Clock::now();
    client->connect(p);
    ASSERT_TRUE(sched.run_until([&] { return rec.events() > 0; }, 20000ms));
    std::printf("    result after %.2f s: connected=%zu fail=%s\n", seconds_since(start), rec.connected_at.size(),
                rec.failures.empty() ? "" : rec.failures[0].second.c_str());
}
}  // namespace
}  // namespace cellgate::mqtt
