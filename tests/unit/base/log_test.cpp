#include "base/log.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace cellgate::log {
namespace {

// Captures what log::write puts on stderr (the journal reads the "<N>" priority prefix).
class CapturedStderr {
public:
    CapturedStderr() {
        EXPECT_EQ(::pipe(pipe_), 0);
        saved_ = ::dup(STDERR_FILENO);
        ::dup2(pipe_[1], STDERR_FILENO);
    }
    ~CapturedStderr() { restore(); }
    std::string take() {
        restore();
        std::string out;
        char buf[256];
        ssize_t n;
        while ((n = ::read(pipe_[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
        ::close(pipe_[0]);
        return out;
    }

private:
    void restore() {
        if (saved_ < 0) return;
        ::dup2(saved_, STDERR_FILENO);
        ::close(saved_);
        ::close(pipe_[1]);
        saved_ = -1;
    }
    int pipe_[2] = {-1, -1};
    int saved_ = -1;
};

TEST(Log, LinesCarryTheSyslogPriorityAndStopAtTheMaxLevel) {
    set_max_level(Level::notice);
    CapturedStderr err;
    warning("disk ", 93, "% full");
    debug("not shown");
    const auto out = err.take();
    set_max_level(Level::info);
    EXPECT_EQ(out, "<4>disk 93% full\n");
}

TEST(Log, EnabledFollowsTheMaxLevel) {
    set_max_level(Level::warning);
    EXPECT_TRUE(enabled(Level::err));
    EXPECT_TRUE(enabled(Level::warning));
    EXPECT_FALSE(enabled(Level::info));
    set_max_level(Level::info);
}

size_t count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
    return n;
}

// Each test starts with fresh budgets and leaves the shipped limit behind.
class LogRateLimit : public ::testing::Test {
protected:
    void SetUp() override { set_rate_limit({3, std::chrono::milliseconds(200)}); }
    void TearDown() override {
        set_rate_limit({});
        set_max_level(Level::info);
    }
};

TEST_F(LogRateLimit, ASiteBeyondItsBudgetIsDroppedThenSummarised) {
    CapturedStderr err;
    for (int i = 0; i < 1000; ++i) warning("port says: ", i);
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    warning("port says: ", "after the window");
    const auto out = err.take();
    EXPECT_EQ(count(out, "port says: "), 5u) << out;  // 3 lines, the summary, the next window's line
    EXPECT_NE(out.find("<4>port says: 0\n<4>port says: 1\n<4>port says: 2\n"), std::string::npos) << out;
    EXPECT_NE(out.find("<4>log: 997 similar lines suppressed in "), std::string::npos) << out;
    EXPECT_NE(out.find("(like \"port says: …\")\n<4>port says: after the window\n"), std::string::npos) << out;
}

// Whatever the variable part says, one site is one budget; another site keeps its own.
TEST_F(LogRateLimit, SitesAreCountedApartWhateverTheirVariablePartsSay) {
    CapturedStderr err;
    for (int i = 0; i < 10; ++i) {
        info("urc: ", std::string(static_cast<size_t>(i + 1), 'x'));
        info("state: ", "idle -> busy ", i);
    }
    const auto out = err.take();
    EXPECT_EQ(count(out, "<6>urc: "), 3u) << out;
    EXPECT_EQ(count(out, "<6>state: idle -> busy "), 3u) << out;
}

TEST_F(LogRateLimit, EveryLevelIsLimitedAndLevelsAreCountedApart) {
    set_max_level(Level::debug);
    CapturedStderr err;
    for (int i = 0; i < 10; ++i) {
        error("same text");
        debug("same text");
    }
    const auto out = err.take();
    EXPECT_EQ(count(out, "<3>same text"), 3u) << out;
    EXPECT_EQ(count(out, "<7>same text"), 3u) << out;
}

// A flood that stops still gets its summary, at the next line any site writes.
TEST_F(LogRateLimit, AFloodThatStopsIsSummarisedByTheNextLineAnywhere) {
    CapturedStderr err;
    for (int i = 0; i < 50; ++i) notice("flood ", i);
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    notice("something else");
    const auto out = err.take();
    EXPECT_NE(out.find("<5>log: 47 similar lines suppressed in "), std::string::npos) << out;
    EXPECT_NE(out.find("<5>something else\n"), std::string::npos) << out;
}

TEST_F(LogRateLimit, AZeroWindowTurnsTheLimitOff) {
    set_rate_limit({3, std::chrono::milliseconds(0)});
    CapturedStderr err;
    for (int i = 0; i < 20; ++i) warning("unlimited ", i);
    EXPECT_EQ(count(err.take(), "unlimited "), 20u);
}

// The outbox writer and the connect workers log from their own threads.
TEST_F(LogRateLimit, ThreadsShareOneBudgetPerSite) {
    set_rate_limit({100, std::chrono::milliseconds(60'000)});
    CapturedStderr err;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([t] {
            for (int i = 0; i < 500; ++i) warning("worker ", t, " line ", i);
        });
    for (auto& th : threads) th.join();
    EXPECT_EQ(count(err.take(), "worker "), 100u);
}

}  // namespace
}  // namespace cellgate::log
