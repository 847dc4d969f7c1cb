// AtChannel doing real I/O on a pty pair: the test plays the module on the master side, the
// channel talks to the raw-mode slave through a minimal fd-backed SerialPort.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/log.hpp"
#include "modem/at_channel.hpp"
#include "unit/support/poll_scheduler.hpp"

namespace cellgate::modem {
namespace {

using namespace std::chrono_literals;
using cellgate::testing::PollScheduler;

// Test-only port: the production open_serial_port() is tested elsewhere.
class FdPort final : public SerialPort {
public:
    FdPort(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
    ~FdPort() override { ::close(fd_); }
    FdPort(const FdPort&) = delete;
    FdPort& operator=(const FdPort&) = delete;
    int fd() const override { return fd_; }
    ssize_t read(char* buf, size_t len) override {
        const auto n = ::read(fd_, buf, len);
        return n < 0 ? -errno : n;
    }
    ssize_t write(const char* buf, size_t len) override {
        const auto n = ::write(fd_, buf, len);
        return n < 0 ? -errno : n;
    }
    const std::string& path() const override { return path_; }

private:
    int fd_;
    std::string path_;
};

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// The module: owns the pty master, sees each "<cmd>\r", answers through `on_command`.
class FakeModem {
public:
    explicit FakeModem(PollScheduler& s) : sched_(s) {}
    ~FakeModem() { unplug(); }
    FakeModem(const FakeModem&) = delete;
    FakeModem& operator=(const FakeModem&) = delete;

    bool present = true;
    bool echo = false;
    std::function<void(const std::string& cmd)> on_command;
    std::vector<std::string> commands;
    std::string raw;
    std::string path;  // of the last port handed out

    std::unique_ptr<SerialPort> plug(std::string& error) {
        if (!present) {
            error = "No such file or directory";
            return nullptr;
        }
        int m = -1, s = -1;
        char name[128] = {};
        if (::openpty(&m, &s, name, nullptr, nullptr) != 0) {
            error = std::strerror(errno);
            return nullptr;
        }
        termios t{};
        ::tcgetattr(s, &t);
        ::cfmakeraw(&t);
        ::tcsetattr(s, TCSANOW, &t);
        set_nonblocking(m);
        set_nonblocking(s);
        unplug();
        master_ = m;
        watch_ = sched_.watch_fd(m, EPOLLIN, [this](uint32_t ev) { on_readable(ev); });
        path = name;
        return std::make_unique<FdPort>(s, name);
    }

    // The USB device disappears (module reboot): the channel's slave sees HUP/EIO.
    void unplug() {
        watch_.reset();
        if (master_ >= 0) ::close(master_);
        master_ = -1;
    }

    void send(std::string_view bytes) {
        ASSERT_GE(master_, 0);
        while (!bytes.empty()) {
            const auto n = ::write(master_, bytes.data(), bytes.size());
            if (n < 0 && errno == EAGAIN) {
                pollfd p{master_, POLLOUT, 0};
                ::poll(&p, 1, 100);
                continue;
            }
            ASSERT_GT(n, 0) << std::strerror(errno);
            bytes.remove_prefix(static_cast<size_t>(n));
        }
    }

    void unplug_later(milliseconds delay) {
        auto t = sched_.make_timer([this] { unplug(); });
        t->arm(delay);
        later_.push_back(std::move(t));
    }

    void send_later(milliseconds delay, std::string bytes) {
        auto t = sched_.make_timer([this, bytes] { send(bytes); });
        t->arm(delay);
        later_.push_back(std::move(t));
    }

    // Stops reading, so the channel's writes back up.
    void pause(bool paused) { watch_->set_events(paused ? 0u : static_cast<uint32_t>(EPOLLIN)); }

private:
    void on_readable(uint32_t) {
        char buf[4096];
        bool gone = false;
        for (;;) {
            const auto n = ::read(master_, buf, sizeof buf);
            if (n <= 0) {
                gone = n == 0 || errno == EIO;
                break;
            }
            raw.append(buf, static_cast<size_t>(n));
            pending_.append(buf, static_cast<size_t>(n));
        }
        for (auto pos = pending_.find('\r'); pos != std::string::npos; pos = pending_.find('\r')) {
            const auto cmd = pending_.substr(0, pos);
            pending_.erase(0, pos + 1);
            commands.push_back(cmd);
            if (echo) send(cmd + "\r");
            if (on_command) on_command(cmd);
        }
        // The channel closed its end: stop polling a master that only says HUP.
        if (gone) watch_.reset();
    }

    PollScheduler& sched_;
    int master_ = -1;
    std::unique_ptr<IoWatch> watch_;
    std::string pending_;
    std::vector<std::unique_ptr<Timer>> later_;
};

using Slot = std::shared_ptr<std::optional<AtResult>>;

class AtChannelTest : public ::testing::Test {
protected:
    PollScheduler sched;
    FakeModem modem{sched};
    std::unique_ptr<AtChannel> ch;
    int open_attempts = 0;
    int opened = 0;
    std::vector<std::string> lost;
    std::vector<std::string> urcs;

    void SetUp() override {
        ch = std::make_unique<AtChannel>(
            sched,
            [this](std::string& error) {
                ++open_attempts;
                return modem.plug(error);
            },
            30ms);
        ch->on_urc = [this](const std::string& line) { urcs.push_back(line); };
        ch->on_opened = [this] { ++opened; };
        ch->on_lost = [this](const std::string& why) { lost.push_back(why); };
    }

    void open() {
        ch->start();
        ASSERT_TRUE(sched.run_until([&] { return opened == 1; }));
        ASSERT_TRUE(ch->is_open());
    }

    Slot send(std::string cmd, milliseconds timeout = 2000ms) {
        auto slot = std::make_shared<std::optional<AtResult>>();
        ch->send(std::move(cmd), timeout, [slot](const AtResult& r) {
            EXPECT_FALSE(slot->has_value()) << "callback ran twice";
            *slot = r;
        });
        return slot;
    }

    bool wait(const Slot& s, milliseconds limit = 2000ms) {
        return sched.run_until([&] { return s->has_value(); }, limit);
    }
};

TEST_F(AtChannelTest, EchoIsDroppedAndInfoLinesKept) {
    open();
    modem.echo = true;
    modem.on_command = [&](const std::string& cmd) {
        if (cmd == "AT+CSQ") modem.send("\r\n+CSQ: 21,99\r\n\r\nOK\r\n");
    };
    auto r = send("AT+CSQ");
    ASSERT_TRUE(wait(r));
    EXPECT_EQ((*r)->status, AtStatus::ok);
    EXPECT_EQ((*r)->lines, (std::vector<std::string>{"+CSQ: 21,99"}));
    EXPECT_EQ((*r)->value("+CSQ:"), "21,99");
    EXPECT_EQ(modem.raw, "AT+CSQ\r");
    EXPECT_TRUE(urcs.empty());
}

TEST_F(AtChannelTest, UrcsInsideAResponseGoToOnUrc) {
    open();
    modem.on_command = [&](const std::string&) {
        modem.send("\r\n+CREG: 2,1,\"CE00\",\"01CEAD8F\"\r\n\r\n+CEREG: 1,\"1A2B\",\"01ABCDEF\",7\r\n"
                   "\r\n+CGEV: NW PDN DEACT 1\r\n\r\nOK\r\n");
    };
    auto r = send("AT+CREG?");
    ASSERT_TRUE(wait(r));
    EXPECT_EQ((*r)->status, AtStatus::ok);
    EXPECT_EQ((*r)->lines, (std::vector<std::string>{"+CREG: 2,1,\"CE00\",\"01CEAD8F\""}));
    EXPECT_EQ(urcs, (std::vector<std::string>{"+CEREG: 1,\"1A2B\",\"01ABCDEF\",7", "+CGEV: NW PDN DEACT 1"}));
}

TEST_F(AtChannelTest, FragmentedReplyWithNoiseBytes) {
    open();
    modem.on_command = [&](const std::string&) {
        static const char kNoise[] = "\0\xff\xfe\r\n+CSQ: ";
        modem.send(std::string_view(kNoise, sizeof kNoise - 1));
        modem.send_later(5ms, "2");
        modem.send_later(10ms, std::string("1,99\r\0", 6));
        modem.send_later(15ms, "\n\r\nO");
        modem.send_later(20ms, "K\r\n");
    };
    auto r = send("AT+CSQ");
    ASSERT_TRUE(wait(r));
    EXPECT_EQ((*r)->status, AtStatus::ok);
    EXPECT_EQ((*r)->lines, (std::vector<std::string>{"+CSQ: 21,99"}));
}

TEST_F(AtChannelTest, FailuresCarryCodesAndCommandsRunOneAtATime) {
    open();
    int replies = 0;
    modem.on_command = [&](const std::string& cmd) {
        // Each command arrives only after the previous one got its final result.
        EXPECT_EQ(modem.commands.size(), static_cast<size_t>(replies + 1)) << cmd;
        const char* reply = cmd == "AT+CPIN?"          ? "\r\n+CME ERROR: 10\r\n"
                            : cmd == "AT+CIMI"         ? "\r\n+CME ERROR: SIM not inserted\r\n"
                            : cmd == "AT+QNETDEVCTL=1" ? "\r\nERROR\r\n"
                            : cmd == "AT+CGACT=1,1"    ? "\r\nNO CARRIER\r\n"
                                                       : "\r\nCONNECT 150000000\r\n";
        ++replies;
        modem.send_later(5ms, reply);
    };
    auto a = send("AT+CPIN?");
    auto b = send("AT+CIMI");
    auto c = send("AT+QNETDEVCTL=1");
    auto d = send("AT+CGACT=1,1");
    auto e = send("ATD*99***1#");
    ASSERT_TRUE(wait(e));
    ASSERT_TRUE(a->has_value() && b->has_value() && c->has_value() && d->has_value());
    EXPECT_EQ((*a)->status, AtStatus::cme_error);
    EXPECT_EQ((*a)->error_code, 10);
    EXPECT_EQ((*b)->status, AtStatus::cme_error);
    EXPECT_EQ((*b)->error_code, 10);
    EXPECT_EQ((*b)->error_text, "SIM not inserted");
    EXPECT_EQ((*c)->status, AtStatus::error);
    EXPECT_EQ((*d)->status, AtStatus::no_carrier);
    EXPECT_EQ((*e)->status, AtStatus::connect);
    EXPECT_EQ(modem.commands,
              (std::vector<std::string>{"AT+CPIN?", "AT+CIMI", "AT+QNETDEVCTL=1", "AT+CGACT=1,1", "ATD*99***1#"}));
}

TEST_F(AtChannelTest, DataGoesOutAfterThePromptAndTheResultFollowsIt) {
    open();
    modem.on_command = [&](const std::string& cmd) {
        if (cmd.starts_with("AT+QMTPUBEX")) modem.send("\r\n> ");
    };
    auto slot = std::make_shared<std::optional<AtResult>>();
    const std::string data("a\r\nb\0c", 6);
    ch->send_data("AT+QMTPUBEX=0,1,1,0,\"t\",6", data, 2000ms, [slot](const AtResult& r) { *slot = r; });
    ASSERT_TRUE(sched.run_until([&] { return modem.raw.ends_with(data); }));
    EXPECT_FALSE(slot->has_value());
    modem.send("\r\nOK\r\n");
    ASSERT_TRUE(wait(slot));
    EXPECT_EQ((*slot)->status, AtStatus::ok);
    EXPECT_EQ(modem.raw, "AT+QMTPUBEX=0,1,1,0,\"t\",6\r" + data);

    // No prompt, no data: the bytes would be read as a command.
    modem.on_command = [&](const std::string&) { modem.send("\r\nERROR\r\n"); };
    auto refused = std::make_shared<std::optional<AtResult>>();
    ch->send_data("AT+QMTPUBEX=0,2,1,0,\"t\",6", data, 2000ms, [refused](const AtResult& r) { *refused = r; });
    ASSERT_TRUE(wait(refused));
    EXPECT_EQ((*refused)->status, AtStatus::error);
    EXPECT_TRUE(modem.raw.ends_with(data + "AT+QMTPUBEX=0,2,1,0,\"t\",6\r"));
}

TEST_F(AtChannelTest, UploadDataGoesOutAfterConnectAndTheResultFollowsIt) {
    open();
    modem.on_command = [&](const std::string& cmd) {
        if (cmd.starts_with("AT+QFUPL")) modem.send("\r\nCONNECT\r\n");
    };
    auto slot = std::make_shared<std::optional<AtResult>>();
    const std::string pem = "-----BEGIN-----\r\nOK\r\n";
    ch->send_data("AT+QFUPL=\"ca.pem\",21,60", pem, 2000ms, [slot](const AtResult& r) { *slot = r; });
    ASSERT_TRUE(sched.run_until([&] { return modem.raw.ends_with(pem); }));
    EXPECT_FALSE(slot->has_value());
    modem.send("\r\n+QFUPL: 21,1a2b\r\n\r\nOK\r\n");
    ASSERT_TRUE(wait(slot));
    EXPECT_EQ((*slot)->status, AtStatus::ok);
    EXPECT_EQ((*slot)->lines, (std::vector<std::string>{"+QFUPL: 21,1a2b"}));
    EXPECT_EQ(modem.raw, "AT+QFUPL=\"ca.pem\",21,60\r" + pem);
}

TEST_F(AtChannelTest, RawDownlinkUrcArrivesWhole) {
    open();
    ch->set_raw_framer([](std::string_view head, bool line_end) -> std::size_t {
        return !line_end && head == "+QMTRECV: 0,0,\"t\",5,\"" ? 5 : 0;
    });
    modem.send("\r\n+QMTRECV: 0,0,\"t\",5,\"\r\nOK\"\r\n");
    ASSERT_TRUE(sched.run_until([&] { return !urcs.empty(); }));
    EXPECT_EQ(urcs, (std::vector<std::string>{"+QMTRECV: 0,0,\"t\",5,\"\r\nOK\""}));
}

TEST_F(AtChannelTest, SmsPromptEndsTheCommand) {
    open();
    modem.on_command = [&](const std::string&) { modem.send("\r\n> "); };
    auto r = send("AT+CMGS=\"+8613800000000\"");
    ASSERT_TRUE(wait(r));
    EXPECT_EQ((*r)->status, AtStatus::prompt);
}

TEST_F(AtChannelTest, LateReplyAfterTimeoutIsNotTakenForTheNextCommand) {
    open();
    modem.on_command = [&](const std::string& cmd) {
        // 60 ms timeout, reply at 110 ms: inside the 100 ms quiet period that follows.
        if (cmd == "AT+COPS?") modem.send_later(110ms, "\r\n+COPS: 0,0,\"CHN-UNICOM\",7\r\n\r\nOK\r\n");
        if (cmd == "AT+CSQ") modem.send("\r\n+CSQ: 21,99\r\n\r\nOK\r\n");
    };
    auto slow = send("AT+COPS?", 60ms);
    auto next = send("AT+CSQ");
    ASSERT_TRUE(wait(slow));
    EXPECT_EQ((*slow)->status, AtStatus::timeout);
    EXPECT_FALSE(next->has_value());
    ASSERT_TRUE(wait(next));
    EXPECT_EQ((*next)->status, AtStatus::ok);
    EXPECT_EQ((*next)->lines, (std::vector<std::string>{"+CSQ: 21,99"}));
    // AT+CSQ went out only after the late OK drained the line.
    EXPECT_EQ(modem.commands, (std::vector<std::string>{"AT+COPS?", "AT+CSQ"}));
    EXPECT_TRUE(urcs.empty());
}

TEST_F(AtChannelTest, TimeoutWithoutFinalResultWaitsForAQuietLine) {
    open();
    modem.on_command = [&](const std::string& cmd) {
        // The abandoned command's info line arrives late, its OK never does.
        if (cmd == "AT+QENG=\"servingcell\"") modem.send_later(70ms, "\r\n+QENG: \"servingcell\",\"NOCONN\"\r\n");
        if (cmd == "AT+CSQ") modem.send("\r\n+CSQ: 9,99\r\n\r\nOK\r\n");
    };
    const auto t0 = Clock::now();
    auto slow = send("AT+QENG=\"servingcell\"", 50ms);
    auto next = send("AT+CSQ");
    ASSERT_TRUE(wait(next));
    EXPECT_EQ((*slow)->status, AtStatus::timeout);
    EXPECT_EQ((*next)->status, AtStatus::ok);
    EXPECT_EQ((*next)->lines, (std::vector<std::string>{"+CSQ: 9,99"}));
    // 50 ms timeout, then the 70 ms line restarted the 100 ms quiet period.
    EXPECT_GE(Clock::now() - t0, 160ms);
}

// The channel's states (closed, idle, busy, draining) are one machine whose every move is logged.
TEST_F(AtChannelTest, StateChangesAreLoggedAtDebug) {
    modem.on_command = [&](const std::string& cmd) {
        if (cmd == "AT") modem.send("\r\nOK\r\n");
    };
    log::set_max_level(log::Level::debug);
    ::testing::internal::CaptureStderr();
    open();
    auto quick = send("AT");
    ASSERT_TRUE(wait(quick));
    auto slow = send("AT+COPS=?", 30ms);
    ASSERT_TRUE(wait(slow));
    sched.run_for(150ms);  // the quiet period ends the drain
    ch->drop("reset requested");
    sched.run_for(10ms);
    const std::string logged = ::testing::internal::GetCapturedStderr();
    log::set_max_level(log::Level::info);
    std::vector<std::string> moves;
    const std::string mark = "<7>at: ";  // the state moves, not the dialogue ("<7>at > ...")
    for (auto pos = logged.find(mark); pos != std::string::npos; pos = logged.find(mark, pos + 1))
        moves.push_back(logged.substr(pos + 3, logged.find('\n', pos) - pos - 3));
    EXPECT_EQ(moves, (std::vector<std::string>{
                         "at: closed -> idle (port open: " + modem.path + ")",
                         "at: idle -> busy (AT)",
                         "at: busy -> idle (ok)",
                         "at: idle -> busy (AT+COPS)",
                         "at: busy -> draining (timeout: AT+COPS)",
                         "at: draining -> idle (quiet)",
                         "at: idle -> closed (reset requested)",
                     }));
}

// The debug log carries the dialogue both ways, so a field report can be read from the journal;
// the PIN, echoed or not, and credentials a module reads back never reach it.
TEST_F(AtChannelTest, DialogueIsLoggedBothWaysWithSecretsMasked) {
    modem.echo = true;
    modem.on_command = [&](const std::string& cmd) {
        if (cmd.starts_with("AT+CPIN=")) modem.send("\r\nOK\r\n");
        if (cmd == "AT+QICSGP=1") modem.send("\r\n+QICSGP: 1,\"cmnet\",\"bob\",\"pw-4711\",2\r\n\r\nOK\r\n");
        if (cmd == "AT+CSQ") modem.send("\r\n+CSQ: 21,99\r\n\r\nOK\r\n");
    };
    log::set_max_level(log::Level::debug);
    ::testing::internal::CaptureStderr();
    open();
    for (const char* cmd : {"AT+CPIN=\"4711\"", "AT+QICSGP=1", "AT+CSQ"}) {
        auto r = send(cmd);
        ASSERT_TRUE(wait(r)) << cmd;
    }
    const std::string logged = ::testing::internal::GetCapturedStderr();
    log::set_max_level(log::Level::info);
    for (const char* line : {"<7>at > AT+CPIN=\"***\"\n", "<7>at < AT+CPIN=\"***\"\n", "<7>at < OK\n",
                             "<7>at > AT+QICSGP=1\n", "<7>at < +QICSGP: 1,\"cmnet\",\"***\",\"***\",2\n",
                             "<7>at > AT+CSQ\n", "<7>at < +CSQ: 21,99\n"})
        EXPECT_NE(logged.find(line), std::string::npos) << line << " not in:\n" << logged;
    EXPECT_EQ(logged.find("4711"), std::string::npos) << logged;
}

TEST_F(AtChannelTest, UnsolicitedLinesWhileIdle) {
    open();
    modem.send("\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nOK\r\n\r\nSMS DONE\r\n\r\nvendor banner\r\n");
    ASSERT_TRUE(sched.run_until([&] { return urcs.size() == 4; }));
    EXPECT_EQ(urcs, (std::vector<std::string>{"RDY", "+CPIN: READY", "SMS DONE", "vendor banner"}));
}

// The controller takes any line as a sign of life, also the ones no command is waiting for.
TEST_F(AtChannelTest, EveryLineFromTheModuleIsHeardButNotLineNoise) {
    open();
    int heard = 0;
    ch->on_heard = [&] { ++heard; };
    modem.send(std::string("\xff\xfe\x01\r\n", 5));  // noise only
    modem.send("\r\nOK\r\n\r\n+CEREG: 1\r\n");       // a stray final result and a URC
    ASSERT_TRUE(sched.run_until([&] { return urcs.size() == 1; }));
    EXPECT_EQ(heard, 2);
    modem.on_command = [&](const std::string&) { modem.send("\r\n+CSQ: 21,99\r\n\r\nOK\r\n"); };
    auto r = send("AT+CSQ");
    ASSERT_TRUE(wait(r));
    EXPECT_EQ(heard, 4);
}

TEST_F(AtChannelTest, CallbacksNeverRunInsideSend) {
    bool called = false;
    ch->send("AT", 1000ms, [&](const AtResult& r) {
        called = true;
        EXPECT_EQ(r.status, AtStatus::port_closed);
    });
    EXPECT_FALSE(called);  // not started: fails, but from the loop
    sched.run_once(0ms);
    EXPECT_TRUE(called);
}

TEST_F(AtChannelTest, PortVanishesThenComesBack) {
    open();
    modem.on_command = [&](const std::string& cmd) {
        if (cmd == "AT+CFUN=1,1") {
            modem.send("\r\nOK\r\n");
            modem.present = false;
            modem.unplug_later(10ms);  // the module reboots
        }
    };
    std::vector<std::string> order;
    auto reset = send("AT+CFUN=1,1");
    ch->send("AT+CGATT=1", 5000ms, [&](const AtResult& r) { order.push_back(std::string("cgatt:") + to_string(r.status)); });
    ch->send("AT+CSQ", 5000ms, [&](const AtResult& r) { order.push_back(std::string("csq:") + to_string(r.status)); });
    ASSERT_TRUE(sched.run_until([&] { return lost.size() == 1; }));
    EXPECT_FALSE(ch->is_open());
    // The OK sent just before the port vanished still counts.
    ASSERT_TRUE(reset->has_value());
    EXPECT_EQ((*reset)->status, AtStatus::ok);
    EXPECT_EQ(order, (std::vector<std::string>{"cgatt:port-closed", "csq:port-closed"}));
    EXPECT_FALSE(lost[0].empty());

    // Still rebooting: the channel keeps trying every reopen_interval.
    const int attempts = open_attempts;
    sched.run_for(100ms);
    EXPECT_GE(open_attempts, attempts + 2);
    EXPECT_EQ(opened, 1);

    modem.present = true;
    ASSERT_TRUE(sched.run_until([&] { return opened == 2; }));
    EXPECT_TRUE(ch->is_open());
    modem.on_command = [&](const std::string&) { modem.send("\r\nOK\r\n"); };
    auto alive = send("AT");
    ASSERT_TRUE(wait(alive));
    EXPECT_EQ((*alive)->status, AtStatus::ok);
}

TEST_F(AtChannelTest, PortMissingAtStartIsRetried) {
    modem.present = false;
    ch->start();
    sched.run_for(80ms);
    EXPECT_GE(open_attempts, 2);
    EXPECT_EQ(opened, 0);
    EXPECT_FALSE(ch->is_open());
    modem.present = true;
    ASSERT_TRUE(sched.run_until([&] { return opened == 1; }));
    EXPECT_TRUE(ch->is_open());
    EXPECT_TRUE(lost.empty());
}

TEST_F(AtChannelTest, DropOnPurposeFailsPendingAndReopens) {
    open();
    auto pending = send("AT+CGATT=1");  // the modem never answers
    sched.run_until([&] { return !modem.commands.empty(); });
    ch->drop("module reset requested");
    EXPECT_FALSE(ch->is_open());
    EXPECT_FALSE(pending->has_value());  // not inside drop()
    ASSERT_TRUE(wait(pending));
    EXPECT_EQ((*pending)->status, AtStatus::port_closed);
    EXPECT_EQ(lost, (std::vector<std::string>{"module reset requested"}));
    ASSERT_TRUE(sched.run_until([&] { return opened == 2; }));
    EXPECT_TRUE(ch->is_open());
}

TEST_F(AtChannelTest, CancelAllFailsEverythingAndDrainsTheAbandonedReply) {
    open();
    modem.on_command = [&](const std::string& cmd) {
        if (cmd == "AT+COPS=0") modem.send_later(40ms, "\r\n+COPS: 0\r\n\r\nOK\r\n");
        if (cmd == "AT+CSQ") modem.send("\r\n+CSQ: 1,1\r\n\r\nOK\r\n");
    };
    auto a = send("AT+COPS=0");
    auto b = send("AT+CGATT=1");
    sched.run_until([&] { return !modem.commands.empty(); });
    ch->cancel_all();
    EXPECT_FALSE(a->has_value());
    ASSERT_TRUE(wait(b));
    EXPECT_EQ((*a)->status, AtStatus::port_closed);
    EXPECT_EQ((*b)->status, AtStatus::port_closed);
    auto c = send("AT+CSQ");
    ASSERT_TRUE(wait(c));
    EXPECT_EQ((*c)->status, AtStatus::ok);
    EXPECT_EQ((*c)->lines, (std::vector<std::string>{"+CSQ: 1,1"}));
    EXPECT_EQ(modem.commands, (std::vector<std::string>{"AT+COPS=0", "AT+CSQ"}));
}

TEST_F(AtChannelTest, SendFromCallbackAndDestroyFromCallback) {
    open();
    modem.on_command = [&](const std::string& cmd) {
        if (cmd == "ATE0") modem.send("\r\nOK\r\n");
        // The final result and a URC in one chunk: the URC must not reach a destroyed channel.
        if (cmd == "AT+CMEE=1") modem.send("\r\nOK\r\n\r\n+CREG: 1\r\n");
    };
    bool second_done = false;
    ch->send("ATE0", 1000ms, [&](const AtResult& r) {
        EXPECT_TRUE(r.ok());
        ch->send("AT+CMEE=1", 1000ms, [&](const AtResult& r2) {
            EXPECT_TRUE(r2.ok());
            second_done = true;
            ch.reset();
        });
    });
    ASSERT_TRUE(sched.run_until([&] { return second_done; }));
    sched.run_for(20ms);
    EXPECT_TRUE(urcs.empty());
}

TEST_F(AtChannelTest, LargeWriteIsBufferedUntilThePortDrains) {
    open();
    modem.pause(true);
    const std::string big = "AT+QFUPL=\"" + std::string(256 * 1024, 'x') + "\"";
    modem.on_command = [&](const std::string& cmd) {
        if (cmd == big) modem.send("\r\nOK\r\n");
    };
    auto r = send(big, 5000ms);
    sched.run_for(30ms);
    EXPECT_TRUE(modem.raw.empty());
    modem.pause(false);
    ASSERT_TRUE(wait(r, 5000ms));
    EXPECT_EQ((*r)->status, AtStatus::ok);
    EXPECT_EQ(modem.raw, big + "\r");
}

}  // namespace
}  // namespace cellgate::modem
