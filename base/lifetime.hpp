// "Is the object that queued this callback still there?" Deferred work, timers of another owner
// and completions from a worker thread capture a Lifetime::Token and check it before touching
// `this`: destroying the owner (or calling renew()) makes every token it handed out expire.
#pragma once

#include <memory>

namespace cellgate {

class Lifetime {
public:
    class Token {
    public:
        Token() = default;
        bool expired() const { return life_.expired(); }
        explicit operator bool() const { return !expired(); }

    private:
        friend class Lifetime;
        explicit Token(std::weak_ptr<const char> life) : life_(std::move(life)) {}
        std::weak_ptr<const char> life_;
    };

    Lifetime() = default;
    Lifetime(const Lifetime&) = delete;
    Lifetime& operator=(const Lifetime&) = delete;

    Token token() const { return Token(life_); }
    // Expires every token handed out so far (a restart makes pending answers meaningless).
    void renew() { life_ = std::make_shared<const char>(0); }

private:
    std::shared_ptr<const char> life_ = std::make_shared<const char>(0);
};

}  // namespace cellgate
