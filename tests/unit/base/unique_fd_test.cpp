#include "base/unique_fd.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <utility>

namespace cellgate {
namespace {

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

TEST(UniqueFd, ClosesExactlyOnceWhenTheLastOwnerGoes) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    ::close(fds[1]);
    const int raw = fds[0];
    {
        UniqueFd a(raw);
        UniqueFd b(std::move(a));
        EXPECT_FALSE(a.valid());
        EXPECT_EQ(b.get(), raw);
        EXPECT_TRUE(is_open(raw));
    }
    EXPECT_FALSE(is_open(raw));
}

TEST(UniqueFd, MoveAssignmentClosesWhatItHeld) {
    int p1[2], p2[2];
    ASSERT_EQ(::pipe(p1), 0);
    ASSERT_EQ(::pipe(p2), 0);
    ::close(p1[1]);
    ::close(p2[1]);
    UniqueFd a(p1[0]);
    UniqueFd b(p2[0]);
    a = std::move(b);
    EXPECT_FALSE(is_open(p1[0]));
    EXPECT_EQ(a.get(), p2[0]);
    EXPECT_TRUE(is_open(p2[0]));
}

TEST(UniqueFd, ReleaseHandsTheFdBack) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    ::close(fds[1]);
    int raw = -1;
    {
        UniqueFd a(fds[0]);
        raw = a.release();
    }
    EXPECT_TRUE(is_open(raw));
    ::close(raw);
}

}  // namespace
}  // namespace cellgate
