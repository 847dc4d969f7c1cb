#include "base/guarded.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <stdexcept>
#include <string>

namespace cellgate {
namespace {

TEST(Guarded, PassesResultsThrough) {
    EXPECT_EQ(guarded("int", [] { return 7; }), 7);
    bool ran = false;
    EXPECT_EQ(guarded("void", [&] { ran = true; }), 0);
    EXPECT_TRUE(ran);
}

TEST(Guarded, NamesItsOwnerOnlyInTheLogLine) {
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(guarded("cloud lab", "on_published", []() -> void { throw std::runtime_error("boom"); }), -EIO);
    EXPECT_EQ(guarded("", "notify", []() -> void { throw std::runtime_error("bang"); }), -EIO);
    const std::string logged = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(logged.find("<3>cloud lab: on_published: boom\n"), std::string::npos) << logged;
    EXPECT_NE(logged.find("<3>notify: bang\n"), std::string::npos) << logged;
}

TEST(Guarded, TurnsAnyExceptionIntoEio) {
    EXPECT_EQ(guarded("std", []() -> int { throw std::runtime_error("boom"); }), -EIO);
    EXPECT_EQ(guarded("other", []() -> void { throw 42; }), -EIO);
}

}  // namespace
}  // namespace cellgate
