// A fixture for testing the D-Bus adapter against a real, private dbus-daemon: one daemon per test
// suite, whose address goes into DBUS_SYSTEM_BUS_ADDRESS so Bus connects to it, and a client
// connection on the test's own sd-event loop that records every PropertiesChanged signal.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <systemd/sd-bus.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "daemon/bus.hpp"
#include "daemon/sd_loop.hpp"

namespace cellgate::testing {

struct PropertiesChanged {
    std::string path, interface;
    std::set<std::string> changed;
};

class PrivateBusTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        // A session-type bus allows everything, which is what these tests want: access control is
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
        bus_pid_ = 0;
    }

    void SetUp() override {
        ASSERT_GT(bus_pid_, 0);
        ASSERT_GE(sd_bus_new(&client_), 0);
        ASSERT_GE(sd_bus_set_address(client_, address_.c_str()), 0);
        ASSERT_GE(sd_bus_set_bus_client(client_, 1), 0);
        ASSERT_GE(sd_bus_start(client_), 0);
        ASSERT_GE(sd_bus_attach_event(client_, loop_.raw(), 0), 0);
        ASSERT_GE(sd_bus_match_signal(client_, &match_, nullptr, nullptr, "org.freedesktop.DBus.Properties",
                                      "PropertiesChanged", &PrivateBusTest::on_signal, this),
                  0);
    }

    void TearDown() override {
        bus_.reset();
        sd_bus_slot_unref(match_);
        sd_bus_flush_close_unref(client_);
    }

    // Starts the service side, the Bus under test, and waits for its name. `before_run` runs before
    // the loop first turns: sessions are added then, as the Gateway does.
    void start_service(Bus::Handlers h = {}, const std::function<void(Bus&)>& before_run = {}) {
        h.name_acquired = [this] { acquired_ = true; };
        h.failed = [this](const std::string& why) { failure_ = why; };
        bus_ = std::make_unique<Bus>(loop_, std::move(h));
        if (before_run) before_run(*bus_);
        ASSERT_TRUE(run_until([this] { return acquired_ || !failure_.empty(); })) << "no name reply";
        ASSERT_TRUE(acquired_) << failure_;
    }

    // Steps the loop (sd_event_exit would also close every attached bus, so tests never exit it).
    bool run_until(const std::function<bool()>& done, milliseconds timeout = std::chrono::seconds(5)) {
        const auto deadline = Clock::now() + timeout;
        while (!done()) {
            if (Clock::now() > deadline) return false;
            if (sd_event_run(loop_.raw(), 50'000) < 0) return false;
        }
        return true;
    }

    // Lets the loop run for `d` so queued signals are sent and received.
    void settle(milliseconds d = milliseconds(200)) {
        const auto end = Clock::now() + d;
        run_until([end] { return Clock::now() >= end; }, d + std::chrono::seconds(1));
    }

    struct Reply {
        bool done = false;
        std::string error;                  // D-Bus error name, "" on success
        sd_bus_message* message = nullptr;  // owned; the successful reply
        Reply() = default;
        Reply(const Reply&) = delete;
        Reply& operator=(const Reply&) = delete;
        ~Reply() { sd_bus_message_unref(message); }
    };

    // The service answers from this very loop, so the client must never block on it: the call is
    // asynchronous and the loop turns until the reply is in.
    template <class... Args>
    void call(Reply& r, const std::string& path, const char* iface, const char* method, const char* sig,
              Args... args) {
        ASSERT_GE(sd_bus_call_method_async(client_, nullptr, kBusName, path.c_str(), iface, method,
                                           &PrivateBusTest::on_reply, &r, sig, args...),
                  0);
        ASSERT_TRUE(run_until([&] { return r.done; })) << method << " got no reply";
    }

    // A string property's value; a test failure when Get() fails.
    std::string get_string(const std::string& path, const char* iface, const char* property) {
        Reply r;
        call(r, path, "org.freedesktop.DBus.Properties", "Get", "ss", iface, property);
        EXPECT_EQ(r.error, "") << property;
        const char* v = nullptr;
        if (!r.message || sd_bus_message_read(r.message, "v", "s", &v) < 0 || !v) return "<unreadable>";
        return v;
    }

    // The D-Bus error name Get() of a property fails with; "" when it succeeds.
    std::string get_error(const std::string& path, const char* iface, const char* property) {
        Reply r;
        call(r, path, "org.freedesktop.DBus.Properties", "Get", "ss", iface, property);
        return r.error;
    }

    inline static std::string address_;
    inline static pid_t bus_pid_ = 0;

    SdEventLoop loop_;
    sd_bus* client_ = nullptr;
    sd_bus_slot* match_ = nullptr;
    std::unique_ptr<Bus> bus_;
    bool acquired_ = false;
    std::string failure_;
    std::vector<PropertiesChanged> signals_;

private:
    static int on_signal(sd_bus_message* m, void* userdata, sd_bus_error*) {
        auto* self = static_cast<PrivateBusTest*>(userdata);
        PropertiesChanged s;
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

    static int on_reply(sd_bus_message* m, void* userdata, sd_bus_error*) {
        auto* r = static_cast<Reply*>(userdata);
        r->done = true;
        if (sd_bus_message_is_method_error(m, nullptr))
            r->error = sd_bus_message_get_error(m)->name;
        else
            r->message = sd_bus_message_ref(m);
        return 0;
    }
};

}  // namespace cellgate::testing
