// The D-Bus adapter against a real, private dbus-daemon: name acquisition, one coalesced
// PropertiesChanged per burst of updates, and Reset() dispatch. A second connection on the same
// sd-event loop plays the client.
#include "daemon/bus.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <systemd/sd-bus.h>

#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "daemon/sd_loop.hpp"
#include "version.hpp"

namespace cellgate {
namespace {

using namespace std::chrono_literals;
using modem::ModemState;
using modem::ModemStatus;

struct Signal {
    std::string path, interface;
    std::set<std::string> changed;
};

class BusTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        // A session-type bus allows everything, which is what this test wants: access control is
        // covered by the integration tests with the real policy.
        FILE* p = ::popen("dbus-daemon --session --fork --print-address=1 --print-pid=1", "r");
        ASSERT_NE(p, nullptr);
        char addr[512] = {}, pid[32] = {};
        ASSERT_NE(std::fgets(addr, sizeof addr, p), nullptr);
        ASSERT_NE(std::fgets(pid, sizeof pid, p), nullptr);
        ::pclose(p);
        address_ = addr;
        address_.erase(address_.find_last_not_of('\n') + 1);
        bus_pid_ = std::atoi(pid);
        ::setenv("DBUS_SYSTEM_BUS_ADDRESS", address_.c_str(), 1);
    }

    static void TearDownTestSuite() {
        if (bus_pid_ > 0) ::kill(bus_pid_, SIGTERM);
    }

    void SetUp() override {
        ASSERT_GT(bus_pid_, 0);
        ASSERT_GE(sd_bus_new(&client_), 0);
        ASSERT_GE(sd_bus_set_address(client_, address_.c_str()), 0);
        ASSERT_GE(sd_bus_set_bus_client(client_, 1), 0);
        ASSERT_GE(sd_bus_start(client_), 0);
        ASSERT_GE(sd_bus_attach_event(client_, loop_.raw(), 0), 0);
        ASSERT_GE(sd_bus_match_signal(client_, &match_, nullptr, nullptr, "org.freedesktop.DBus.Properties",
                                      "PropertiesChanged", &BusTest::on_signal, this),
                  0);
    }

    void TearDown() override {
        bus_.reset();
        sd_bus_slot_unref(match_);
        sd_bus_flush_close_unref(client_);
    }

    static int on_signal(sd_bus_message* m, void* userdata, sd_bus_error*) {
        auto* self = static_cast<BusTest*>(userdata);
        Signal s;
        s.path = sd_bus_message_get_path(m);
        const char* iface = nullptr;
        if (sd_bus_message_read(m, "s", &iface) < 0) return 0;
        s.interface = iface;
        if (sd_bus_message_enter_container(m, 'a', "{sv}") < 0) return 0;
        while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
            const char* name = nullptr;
            (void)sd_bus_message_read(m, "s", &name);
            s.changed.insert(name);
            (void)sd_bus_message_skip(m, "v");
            (void)sd_bus_message_exit_container(m);
        }
        self->signals_.push_back(s);
        return 0;
    }

    void start_bus(std::function<void()> reset = {}) {
        Bus::Handlers h;
        h.name_acquired = [this] { acquired_ = true; };
        h.failed = [this](const std::string& why) { failure_ = why; };
        h.reset_modem = std::move(reset);
        bus_ = std::make_unique<Bus>(loop_, std::move(h));
        ASSERT_TRUE(run_until([this] { return acquired_ || !failure_.empty(); })) << "no name reply";
        ASSERT_TRUE(acquired_) << failure_;
    }

    // Steps the loop (sd_event_exit would also close every attached bus, so tests never exit it).
    bool run_until(const std::function<bool()>& done, milliseconds timeout = 5000ms) {
        const auto deadline = Clock::now() + timeout;
        while (!done()) {
            if (Clock::now() > deadline) return false;
            if (sd_event_run(loop_.raw(), 50'000) < 0) return false;
        }
        return true;
    }

    // Lets the loop run for `d` so queued signals are sent and received.
    void settle(milliseconds d = 200ms) {
        const auto end = Clock::now() + d;
        run_until([end] { return Clock::now() >= end; }, d + 1000ms);
    }

    struct Reply {
        bool done = false;
        std::string error;  // D-Bus error name, empty on success
        std::string value;  // for string property reads
    };

    static int on_reply(sd_bus_message* m, void* userdata, sd_bus_error*) {
        auto* self = static_cast<BusTest*>(userdata);
        self->reply_.done = true;
        if (sd_bus_message_is_method_error(m, nullptr)) {
            self->reply_.error = sd_bus_message_get_error(m)->name;
        } else if (sd_bus_message_peek_type(m, nullptr, nullptr) > 0) {
            const char* v = nullptr;
            if (sd_bus_message_read(m, "v", "s", &v) >= 0 && v) self->reply_.value = v;
        }
        return 0;
    }

    // The service answers from this very loop, so clients must never block on it: call async.
    Reply reset() {
        reply_ = {};
        EXPECT_GE(sd_bus_call_method_async(client_, nullptr, kBusName, kModemPath, kModemInterface, "Reset",
                                           &BusTest::on_reply, this, ""),
                  0);
        EXPECT_TRUE(run_until([this] { return reply_.done; }));
        return reply_;
    }

    Reply get_string(const char* path, const char* iface, const char* property) {
        reply_ = {};
        EXPECT_GE(sd_bus_call_method_async(client_, nullptr, kBusName, path, "org.freedesktop.DBus.Properties",
                                           "Get", &BusTest::on_reply, this, "ss", iface, property),
                  0);
        EXPECT_TRUE(run_until([this] { return reply_.done; }));
        return reply_;
    }

    Reply reply_;
    inline static std::string address_;
    inline static pid_t bus_pid_ = 0;

    SdEventLoop loop_;
    sd_bus* client_ = nullptr;
    sd_bus_slot* match_ = nullptr;
    std::unique_ptr<Bus> bus_;
    bool acquired_ = false;
    std::string failure_;
    std::vector<Signal> signals_;
};

TEST_F(BusTest, AcquiresTheNameAndReportsIt) {
    start_bus();
    int has = 0;
    sd_bus_error err = SD_BUS_ERROR_NULL;
    sd_bus_message* reply = nullptr;
    // dbus-daemon answers this one, so a blocking call is fine.
    ASSERT_GE(sd_bus_call_method(client_, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                 "NameHasOwner", &err, &reply, "s", kBusName),
              0);
    ASSERT_GE(sd_bus_message_read(reply, "b", &has), 0);
    sd_bus_message_unref(reply);
    EXPECT_TRUE(has);
}

TEST_F(BusTest, ABurstOfModemUpdatesIsOnePropertiesChanged) {
    start_bus();
    settle();
    signals_.clear();

    ModemStatus s;
    s.state = ModemState::searching;
    s.signal_quality = 40;
    bus_->set_modem_status(s);
    s.state = ModemState::registered;
    s.operator_name = "CMCC";
    bus_->set_modem_status(s);
    s.signal_quality = 41;
    bus_->set_modem_status(s);
    settle();

    ASSERT_EQ(signals_.size(), 1u);
    EXPECT_EQ(signals_[0].path, kModemPath);
    EXPECT_EQ(signals_[0].interface, kModemInterface);
    EXPECT_EQ(signals_[0].changed, (std::set<std::string>{"State", "SignalQuality", "Operator"}));

    auto state = get_string(kModemPath, kModemInterface, "State");
    EXPECT_EQ(state.error, "");
    EXPECT_EQ(state.value, "registered");
}

TEST_F(BusTest, AChangeThatIsUndoneBeforeTheLoopTurnsEmitsNothing) {
    start_bus();
    settle();
    signals_.clear();
    ModemStatus s;
    s.state = ModemState::searching;
    bus_->set_modem_status(s);
    bus_->set_modem_status(ModemStatus{});  // back to what was last published
    bus_->set_gateway_state("starting");    // unchanged
    settle();
    EXPECT_TRUE(signals_.empty());
}

TEST_F(BusTest, VersionAndInitialStateAreReadable) {
    start_bus();
    EXPECT_EQ(get_string(kGatewayPath, kGatewayInterface, "Version").value, kVersion);
    EXPECT_EQ(get_string(kGatewayPath, kGatewayInterface, "State").value, "starting");
    EXPECT_EQ(get_string(kModemPath, kModemInterface, "State").value, "disabled");
    EXPECT_EQ(get_string(kModemPath, kModemInterface, "Nope").error,
              "org.freedesktop.DBus.Error.UnknownProperty");
}

TEST_F(BusTest, GatewayStateChangeIsSignalledOnTheGatewayObject) {
    start_bus();
    settle();
    signals_.clear();
    bus_->set_gateway_state("degraded");
    bus_->set_gateway_state("online");
    settle();
    ASSERT_EQ(signals_.size(), 1u);
    EXPECT_EQ(signals_[0].path, kGatewayPath);
    EXPECT_EQ(signals_[0].interface, kGatewayInterface);
    EXPECT_EQ(signals_[0].changed, (std::set<std::string>{"State"}));
}

TEST_F(BusTest, ResetIsForwardedForRoot) {
    int resets = 0;
    start_bus([&] { ++resets; });
    // The client is root, like the test: both access checks pass.
    auto r = reset();
    EXPECT_TRUE(r.done);
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(resets, 1);
}

TEST_F(BusTest, ResetWithoutAModemFailsWithNoModem) {
    start_bus();
    auto r = reset();
    EXPECT_TRUE(r.done);
    EXPECT_EQ(r.error, kErrorNoModem);
}

TEST_F(BusTest, ASecondOwnerIsRefused) {
    start_bus();
    Bus::Handlers h;
    std::string failure;
    bool acquired = false;
    h.failed = [&](const std::string& why) { failure = why; };
    h.name_acquired = [&] { acquired = true; };
    Bus second(loop_, std::move(h));
    ASSERT_TRUE(run_until([&] { return acquired || !failure.empty(); }));
    EXPECT_FALSE(acquired);
    EXPECT_NE(failure.find("already owned"), std::string::npos) << failure;
}

}  // namespace
}  // namespace cellgate
