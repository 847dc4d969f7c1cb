#include "base/lifetime.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace cellgate {
namespace {

TEST(Lifetime, TokensExpireWithTheirOwner) {
    auto owner = std::make_unique<Lifetime>();
    const auto token = owner->token();
    EXPECT_FALSE(token.expired());
    EXPECT_TRUE(static_cast<bool>(token));
    owner.reset();
    EXPECT_TRUE(token.expired());
}

TEST(Lifetime, RenewExpiresOnlyTheTokensHandedOutBefore) {
    Lifetime life;
    const auto before = life.token();
    life.renew();
    const auto after = life.token();
    EXPECT_TRUE(before.expired());
    EXPECT_FALSE(after.expired());
}

TEST(Lifetime, ADefaultTokenIsExpired) {
    EXPECT_TRUE(Lifetime::Token{}.expired());
}

}  // namespace
}  // namespace cellgate
