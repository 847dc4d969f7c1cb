#include "base/log.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

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

}  // namespace
}  // namespace cellgate::log
