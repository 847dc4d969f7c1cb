// SdEventLoop on a real sd-event loop: ordering, cancellation, defer, fd watches, self-destruction
// inside callbacks (run under ASan), the exception boundary and SIGTERM.
#include "daemon/sd_loop.hpp"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <array>
#include <stdexcept>
#include <string>
#include <vector>

namespace cellgate {
namespace {

using namespace std::chrono_literals;

constexpr int kTimedOut = 99;

class SdLoopTest : public ::testing::Test {
protected:
    // Every test ends by loop.exit(0); a hang exits with kTimedOut instead of blocking ctest.
    void SetUp() override {
        guard_ = loop.make_timer([this] { loop.exit(kTimedOut); });
        guard_->arm(2000ms);
    }

    SdEventLoop loop;
    std::unique_ptr<Timer> guard_;
};

TEST_F(SdLoopTest, TimersFireInExpiryOrderNotArmingOrder) {
    std::vector<int> order;
    auto t30 = loop.make_timer([&] { order.push_back(30); loop.exit(0); });
    auto t10 = loop.make_timer([&] { order.push_back(10); });
    auto t20 = loop.make_timer([&] { order.push_back(20); });
    t30->arm(30ms);
    t10->arm(10ms);
    t20->arm(20ms);
    ASSERT_EQ(loop.run(), 0);
    EXPECT_EQ(order, (std::vector<int>{10, 20, 30}));
}

TEST_F(SdLoopTest, TimerWaitsAtLeastItsDelay) {
    auto start = Clock::now();
    Clock::time_point fired;
    auto t = loop.make_timer([&] { fired = loop.now(); loop.exit(0); });
    t->arm(50ms);
    ASSERT_EQ(loop.run(), 0);
    EXPECT_GE(fired - start, 50ms);
}

TEST_F(SdLoopTest, CancelledTimerNeverFires) {
    bool fired = false;
    auto t = loop.make_timer([&] { fired = true; });
    auto end = loop.make_timer([&] { loop.exit(0); });
    t->arm(10ms);
    EXPECT_TRUE(t->armed());
    t->cancel();
    EXPECT_FALSE(t->armed());
    end->arm(40ms);
    ASSERT_EQ(loop.run(), 0);
    EXPECT_FALSE(fired);
}

TEST_F(SdLoopTest, DestroyedTimerNeverFires) {
    bool fired = false;
    auto t = loop.make_timer([&] { fired = true; });
    auto end = loop.make_timer([&] { loop.exit(0); });
    t->arm(10ms);
    t.reset();
    end->arm(40ms);
    ASSERT_EQ(loop.run(), 0);
    EXPECT_FALSE(fired);
}

TEST_F(SdLoopTest, RearmingReplacesThePendingExpiry) {
    std::vector<int> order;
    auto t = loop.make_timer([&] { order.push_back(1); });
    auto mid = loop.make_timer([&] { order.push_back(2); });
    auto end = loop.make_timer([&] { loop.exit(0); });
    t->arm(10ms);
    t->arm(60ms);  // moves it after `mid`; it must fire once, not twice
    mid->arm(30ms);
    end->arm(100ms);
    ASSERT_EQ(loop.run(), 0);
    EXPECT_EQ(order, (std::vector<int>{2, 1}));
}

TEST_F(SdLoopTest, TimerIsDisarmedInsideItsCallbackAndCanRearmItself) {
    int fired = 0;
    std::vector<bool> armed_in_callback;
    std::unique_ptr<Timer> t;
    t = loop.make_timer([&] {
        armed_in_callback.push_back(t->armed());
        if (++fired < 3) t->arm(5ms);
        else loop.exit(0);
    });
    t->arm(5ms);
    ASSERT_EQ(loop.run(), 0);
    EXPECT_EQ(fired, 3);
    EXPECT_EQ(armed_in_callback, (std::vector<bool>{false, false, false}));
    EXPECT_FALSE(t->armed());
}

TEST_F(SdLoopTest, DestroyingATimerInItsOwnCallbackIsSafe) {
    std::string captured = "state owned by the callback";
    std::string seen;
    std::unique_ptr<Timer> t;
    t = loop.make_timer([&, captured] {
        t.reset();          // destroys the std::function we are running in
        seen = captured;    // ASan reports a use-after-free here if the loop did not copy it
        loop.exit(0);
    });
    t->arm(5ms);
    ASSERT_EQ(loop.run(), 0);
    EXPECT_EQ(t, nullptr);
    EXPECT_EQ(seen, captured);
}

TEST_F(SdLoopTest, DeferRunsEachCallOnceInOrderAfterTheCurrentCallback) {
    std::vector<int> order;
    auto t = loop.make_timer([&] {
        loop.defer([&] { order.push_back(2); });
        loop.defer([&] { order.push_back(3); });
        order.push_back(1);
    });
    auto end = loop.make_timer([&] { loop.exit(0); });
    t->arm(5ms);
    end->arm(40ms);
    ASSERT_EQ(loop.run(), 0);
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST_F(SdLoopTest, DeferFromADeferredCallRunsLater) {
    std::vector<int> order;
    loop.defer([&] {
        order.push_back(1);
        loop.defer([&] {
            order.push_back(2);
            loop.exit(0);
        });
    });
    ASSERT_EQ(loop.run(), 0);
    EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST(SdLoopLifetime, PendingDeferredWorkIsDroppedWithTheLoop) {
    bool ran = false;
    {
        SdEventLoop loop;
        loop.defer([&] { ran = true; });
    }
    EXPECT_FALSE(ran);
}

class Pipe {
public:
    Pipe() { EXPECT_EQ(::pipe2(fds_.data(), O_CLOEXEC | O_NONBLOCK), 0); }
    ~Pipe() {
        ::close(fds_[0]);
        ::close(fds_[1]);
    }
    int read_end() const { return fds_[0]; }
    int write_end() const { return fds_[1]; }

private:
    std::array<int, 2> fds_{-1, -1};
};

TEST_F(SdLoopTest, FdWatchReportsReadableDataOnAPipe) {
    Pipe p;
    std::string got;
    uint32_t events = 0;
    auto w = loop.watch_fd(p.read_end(), EPOLLIN, [&](uint32_t revents) {
        events = revents;
        char buf[16];
        ssize_t n = ::read(p.read_end(), buf, sizeof buf);
        if (n > 0) got.append(buf, static_cast<size_t>(n));
        if (got == "OK\r\n") loop.exit(0);
    });
    auto writer = loop.make_timer([&] { ASSERT_EQ(::write(p.write_end(), "OK\r\n", 4), 4); });
    writer->arm(5ms);
    ASSERT_EQ(loop.run(), 0);
    EXPECT_EQ(got, "OK\r\n");
    EXPECT_TRUE(events & EPOLLIN);
}

TEST_F(SdLoopTest, FdWatchWithNoEventsStaysQuietUntilReenabled) {
    Pipe p;
    int calls = 0;
    auto w = loop.watch_fd(p.read_end(), 0, [&](uint32_t) {
        ++calls;
        char buf[8];
        if (::read(p.read_end(), buf, sizeof buf) < 0) {}  // drained or not, the watch is what is tested
        loop.exit(0);
    });
    ASSERT_EQ(::write(p.write_end(), "x", 1), 1);
    auto enable = loop.make_timer([&] {
        EXPECT_EQ(calls, 0);  // data was pending all along, but nobody asked for EPOLLIN
        w->set_events(EPOLLIN);
    });
    enable->arm(30ms);
    ASSERT_EQ(loop.run(), 0);
    EXPECT_EQ(calls, 1);
}

TEST_F(SdLoopTest, DestroyingAWatchInItsOwnCallbackIsSafe) {
    Pipe p;
    std::unique_ptr<IoWatch> w;
    int calls = 0;
    std::string captured = "state owned by the callback";
    std::string seen;
    w = loop.watch_fd(p.read_end(), EPOLLIN, [&, captured](uint32_t) {
        ++calls;
        w.reset();  // the data stays unread: a live watch would fire again
        seen = captured;
    });
    auto end = loop.make_timer([&] { loop.exit(0); });
    ASSERT_EQ(::write(p.write_end(), "x", 1), 1);
    end->arm(40ms);
    ASSERT_EQ(loop.run(), 0);
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(seen, captured);
}

TEST_F(SdLoopTest, HangupOnThePipeIsReported) {
    std::array<int, 2> fds{};
    ASSERT_EQ(::pipe2(fds.data(), O_CLOEXEC | O_NONBLOCK), 0);
    uint32_t events = 0;
    auto w = loop.watch_fd(fds[0], EPOLLIN, [&](uint32_t revents) {
        events = revents;
        loop.exit(0);
    });
    ::close(fds[1]);
    ASSERT_EQ(loop.run(), 0);
    EXPECT_TRUE(events & EPOLLHUP);
    w.reset();
    ::close(fds[0]);
}

TEST_F(SdLoopTest, ExceptionInACallbackIsContainedAndTheLoopGoesOn) {
    auto bad = loop.make_timer([] { throw std::runtime_error("boom"); });
    bool deferred_threw = false;
    loop.defer([&] {
        deferred_threw = true;
        throw std::logic_error("deferred boom");
    });
    bool later = false;
    auto good = loop.make_timer([&] {
        later = true;
        loop.exit(0);
    });
    bad->arm(5ms);
    good->arm(30ms);
    ASSERT_EQ(loop.run(), 0);
    EXPECT_TRUE(deferred_threw);
    EXPECT_TRUE(later);
}

TEST(SdLoopGuarded, PassesResultsThroughAndMapsExceptionsToEio) {
    EXPECT_EQ(guarded("test", [] { return 7; }), 7);
    EXPECT_EQ(guarded("test", [] {}), 0);
    EXPECT_EQ(guarded("test", []() -> int { throw std::runtime_error("x"); }), -EIO);
    EXPECT_EQ(guarded("test", [] { throw 42; }), -EIO);
}

TEST_F(SdLoopTest, ExitCodeIsReturnedFromRun) {
    loop.defer([&] { loop.exit(3); });
    EXPECT_EQ(loop.run(), 3);
}

TEST_F(SdLoopTest, SigtermEndsTheLoopCleanly) {
    auto t = loop.make_timer([] { ::raise(SIGTERM); });
    t->arm(5ms);
    EXPECT_EQ(loop.run(), 0);
}

TEST_F(SdLoopTest, SigintEndsTheLoopCleanly) {
    auto t = loop.make_timer([] { ::raise(SIGINT); });
    t->arm(5ms);
    EXPECT_EQ(loop.run(), 0);
}

}  // namespace
}  // namespace cellgate
