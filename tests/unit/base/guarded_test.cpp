#include "base/guarded.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <stdexcept>

namespace cellgate {
namespace {

TEST(Guarded, PassesResultsThrough) {
    EXPECT_EQ(guarded("int", [] { return 7; }), 7);
    bool ran = false;
    EXPECT_EQ(guarded("void", [&] { ran = true; }), 0);
    EXPECT_TRUE(ran);
}

TEST(Guarded, TurnsAnyExceptionIntoEio) {
    EXPECT_EQ(guarded("std", []() -> int { throw std::runtime_error("boom"); }), -EIO);
    EXPECT_EQ(guarded("other", []() -> void { throw 42; }), -EIO);
}

}  // namespace
}  // namespace cellgate
