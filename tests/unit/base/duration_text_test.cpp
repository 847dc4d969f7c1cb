#include "base/duration_text.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <limits>

namespace cellgate {
namespace {

using namespace std::chrono_literals;

TEST(DurationText, WritesTheConfigSyntaxLargestUnitFirst) {
    EXPECT_EQ(duration_text(0ms), "0s");
    EXPECT_EQ(duration_text(500ms), "500ms");
    EXPECT_EQ(duration_text(2s), "2s");
    EXPECT_EQ(duration_text(1250ms), "1s250ms");
    EXPECT_EQ(duration_text(90s), "1m30s");
    EXPECT_EQ(duration_text(3h + 1ms), "3h1ms");
    EXPECT_EQ(duration_text(-2s), "-2s");
}

TEST(DurationText, SurvivesTheExtremes) {
    EXPECT_FALSE(duration_text(std::chrono::milliseconds::max()).empty());
    EXPECT_EQ(duration_text(std::chrono::milliseconds::min()).front(), '-');
}

}  // namespace
}  // namespace cellgate
